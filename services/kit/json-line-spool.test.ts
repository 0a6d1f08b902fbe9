import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mountTinyTmpfs } from '../../test/testing/tiny-tmpfs.js';
import { SpoolWriteError, appendWholeLine, openJsonLineSpool } from './json-line-spool.js';

const Item = z.object({ n: z.number(), pad: z.string().optional() }).strict();
type Item = z.infer<typeof Item>;

const dirs: string[] = [];
const mounts: Array<() => void> = [];
const spools: Array<{ close(): void }> = [];
afterEach(() => {
  while (spools.length) spools.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
  while (mounts.length) mounts.pop()!();
});

/** A 8 KiB disk of which `filler` takes the first page: the spool gets one 4 KiB page. */
function nearlyFullDisk(): { dir: string; filler: string } {
  const disk = mountTinyTmpfs(8192);
  mounts.push(() => disk.unmount());
  const filler = join(disk.dir, 'filler');
  writeFileSync(filler, Buffer.alloc(4096, 0x78));
  return { dir: join(disk.dir, 'spool'), filler };
}

/** Appends ~300-byte items until the disk refuses one; returns the items whose append returned, and the error. */
function fillUp(spool: ReturnType<typeof open>): { stored: Item[]; error: unknown } {
  const stored: Item[] = [];
  for (let n = 1; n <= 100; n++) {
    const item = { n, pad: 'p'.repeat(290) };
    try {
      spool.append(item);
    } catch (error) {
      return { stored, error };
    }
    stored.push(item);
  }
  throw new Error('the disk never filled up');
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-spool-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, unreadable: string[] = []) {
  const spool = openJsonLineSpool<Item>({
    dir,
    name: 'items',
    parse: (value) => Item.parse(value),
    onUnreadable: (line) => unreadable.push(line.toString('utf8').trim()),
    syncEveryAppend: true,
  });
  spools.push(spool);
  return spool;
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

  it('reads back every item when an offset file was left behind without its items file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'items.offset'), '8'); // as long as the first line below
    const first = open(dir);
    first.append({ n: 1 });
    first.append({ n: 2 });
    first.close();
    expect(open(dir).peek(10)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  describe('on a full disk', () => {
    it('refuses an append that does not fit whole, leaves the file as it was, and loses none of the items it took', () => {
      const { dir } = nearlyFullDisk();
      const spool = open(dir);
      const { stored, error } = fillUp(spool);
      expect(stored.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(SpoolWriteError);
      expect((error as SpoolWriteError).code).toBe('ENOSPC');
      expect((error as Error).message).toMatch(/could not write to the spool .*items\.jsonl \(ENOSPC: no space left on device\); the file is as it was before/);
      // Only whole lines of the items whose append returned: nothing torn at the end.
      expect(readFileSync(spool.path, 'utf8')).toBe(stored.map((item) => `${JSON.stringify(item)}\n`).join(''));
      expect(spool.size()).toBe(stored.length);
      spool.close();
      const unreadable: string[] = [];
      expect(open(dir, unreadable).peek(100)).toEqual(stored);
      expect(unreadable).toEqual([]);
    });

    it('appends whole lines again once there is room, none glued onto a refused one', () => {
      const { dir, filler } = nearlyFullDisk();
      const spool = open(dir);
      const { stored } = fillUp(spool);
      expect(() => spool.append({ n: 1000, pad: 'p'.repeat(4000) })).toThrow(SpoolWriteError);
      rmSync(filler);
      spool.append({ n: 1001 });
      spool.close();
      const unreadable: string[] = [];
      expect(open(dir, unreadable).peek(100)).toEqual([...stored, { n: 1001 }]);
      expect(unreadable).toEqual([]);
    });

    it('leaves a file of set-aside lines as it was when a line does not fit whole', () => {
      const { dir, filler } = nearlyFullDisk();
      const path = join(dir, '..', 'rejected.jsonl');
      const written: string[] = [];
      let refusal: unknown;
      for (let n = 0; n < 100 && !refusal; n++) {
        const line = `${JSON.stringify({ n, pad: 'p'.repeat(290) })}\n`;
        try {
          appendWholeLine(path, line);
          written.push(line);
        } catch (error) {
          refusal = error;
        }
      }
      expect(refusal).toBeInstanceOf(SpoolWriteError);
      expect((refusal as Error).message).toMatch(/rejected\.jsonl \(ENOSPC: no space left on device\); the file is as it was before$/);
      expect(readFileSync(path, 'utf8')).toBe(written.join(''));
      rmSync(filler);
      appendWholeLine(path, '{"n":"after"}\n');
      expect(readFileSync(path, 'utf8')).toBe(`${written.join('')}{"n":"after"}\n`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    });
  });
});
