import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openJsonLineSpool } from './json-line-spool.js';

const Item = z.object({ n: z.number() }).strict();
type Item = z.infer<typeof Item>;

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-spool-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, unreadable: string[] = []) {
  return openJsonLineSpool<Item>({
    dir,
    name: 'items',
    parse: (value) => Item.parse(value),
    onUnreadable: (line) => unreadable.push(line.toString('utf8').trim()),
    syncEveryAppend: true,
  });
}

describe('json line spool', () => {
  it('reads back what was appended and not acknowledged, in order, after a reopen', () => {
    const dir = tempDir();
    const first = open(dir);
    for (let n = 1; n <= 4; n++) first.append({ n });
    first.acknowledge(1);
    first.close();
    const second = open(dir);
    expect(second.peek(10)).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    expect(statSync(second.path).mode & 0o777).toBe(0o600);
    second.close();
  });

  it('drops a line torn by a crash mid-write and keeps the lines before it', () => {
    const dir = tempDir();
    const first = open(dir);
    first.append({ n: 1 });
    first.close();
    appendFileSync(join(dir, 'items.jsonl'), '{"n":');
    const second = open(dir);
    expect(second.peek(10)).toEqual([{ n: 1 }]);
    second.append({ n: 2 });
    second.close();
    expect(open(dir).peek(10)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('keeps the saved offset on a line boundary when an unreadable line sits between readable ones', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'items.jsonl'), '{"n":1}\n{"n":2}\n{"bad":true}\n{"n":3}\n');
    const unreadable: string[] = [];
    const first = open(dir, unreadable);
    expect(unreadable).toEqual(['{"bad":true}']);
    expect(first.peek(10)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    first.acknowledge(1);
    first.close(); // a crash here: the next run must start exactly at {"n":2}
    const second = open(dir);
    expect(second.peek(10)).toEqual([{ n: 2 }, { n: 3 }]);
    second.acknowledge(1);
    second.close();
    expect(open(dir).peek(10)).toEqual([{ n: 3 }]);
  });

  it('starts the file over once everything is acknowledged', () => {
    const dir = tempDir();
    const spool = open(dir);
    spool.append({ n: 1 });
    spool.append({ n: 2 });
    spool.acknowledge(2);
    expect(readFileSync(spool.path, 'utf8')).toBe('');
    spool.append({ n: 3 });
    spool.close();
    expect(open(dir).peek(10)).toEqual([{ n: 3 }]);
  });

  it('reads everything when the saved offset points past the end (a crash while starting over)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'items.jsonl'), '{"n":7}\n');
    writeFileSync(join(dir, 'items.offset'), '999');
    expect(open(dir).peek(10)).toEqual([{ n: 7 }]);
  });
});
