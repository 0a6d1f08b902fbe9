import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logFileLastWrite, loggedServices, openLogFile, parseLogFileText, readLogFile } from './local-log-file.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-log-file-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a service log file', () => {
  it('writes one timed line per output line, newlines in the text folded', async () => {
    const path = join(scratch(), 'logs', 'alpha.log');
    const file = openLogFile(path);
    file.write({ time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'listening' });
    file.write({ time: '2024-05-01T10:00:01.000Z', stream: 'stderr', text: 'two\nlines' });
    file.close();
    expect(readFileSync(path, 'utf8')).toBe('2024-05-01T10:00:00.000Z stdout listening\n2024-05-01T10:00:01.000Z stderr two lines\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await readLogFile(path)).toEqual([
      { time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'listening' },
      { time: '2024-05-01T10:00:01.000Z', stream: 'stderr', text: 'two lines' },
    ]);
  });

  it('stays under twice its cap: past it the file becomes .1 and a new one starts; reading gives both, oldest first', async () => {
    const path = join(scratch(), 'beta.log');
    const file = openLogFile(path, { maxBytes: 2048 });
    for (let index = 0; index < 200; index += 1) file.write({ time: new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(), stream: 'stdout', text: `line ${index}` });
    file.close();
    expect(statSync(path).size).toBeLessThanOrEqual(2048);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(2048);
    const lines = await readLogFile(path);
    expect(lines.at(-1)!.text).toBe('line 199');
    const numbers = lines.map((line) => Number(line.text.slice(5)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    // Older lines rotated away entirely: bounded on disk.
    expect(numbers[0]).toBeGreaterThan(0);
  });

  it('still appends a line that arrives after close, without keeping the file open', async () => {
    const path = join(scratch(), 'late.log');
    const file = openLogFile(path);
    file.write({ time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'before' });
    file.close();
    file.write({ time: '2024-05-01T10:00:01.000Z', stream: 'stdout', text: 'stopping' });
    expect((await readLogFile(path)).map((line) => line.text)).toEqual(['before', 'stopping']);
  });

  it('reads a missing file as empty and skips a line cut by a crash', async () => {
    expect(await readLogFile(join(scratch(), 'none.log'))).toEqual([]);
    expect(parseLogFileText('2024-05-01T10:00:00.000Z stdout whole\n2024-05-01T10:00:0')).toEqual([{ time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'whole' }]);
  });

  it('gives up on a file it cannot write, once, without throwing at the supervisor', () => {
    const dir = scratch();
    const errors: string[] = [];
    // A directory where the file should be: every open fails.
    const file = openLogFile(dir, { onError: (error) => errors.push(error.message) });
    file.write({ time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'a' });
    file.write({ time: '2024-05-01T10:00:01.000Z', stream: 'stdout', text: 'b' });
    expect(errors).toHaveLength(1);
  });

  const line = (index: number) => ({ time: new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(), stream: 'stdout' as const, text: `line ${index} ${'x'.repeat(40)}` });

  it('starts afresh when the file was deleted under it and a write crosses the cap: nothing thrown, later lines kept', async () => {
    const path = join(scratch(), 'deleted.log');
    const errors: Error[] = [];
    const file = openLogFile(path, { maxBytes: 1024, onError: (error) => errors.push(error) });
    for (let index = 0; index < 5; index += 1) file.write(line(index));
    rmSync(path);
    // Past the cap: the rotation finds no file to rename.
    for (let index = 5; index < 30; index += 1) expect(() => file.write(line(index))).not.toThrow();
    file.close();
    expect(errors).toEqual([]);
    const texts = (await readLogFile(path)).map((entry) => entry.text.split(' ')[1]);
    expect(texts.at(-1)).toBe('29');
    expect(statSync(path).size).toBeLessThanOrEqual(1024);
  });

  it('gives up, reported once and without throwing, when rotation cannot rename the file; later writes are dropped quietly', () => {
    const dir = scratch();
    const path = join(dir, 'stuck.log');
    // A non-empty directory where the rotated file goes: the rename fails (EISDIR), not with ENOENT.
    mkdirSync(`${path}.1`);
    writeFileSync(join(`${path}.1`, 'keep'), 'x');
    const errors: NodeJS.ErrnoException[] = [];
    const file = openLogFile(path, { maxBytes: 1024, onError: (error) => errors.push(error) });
    for (let index = 0; index < 40; index += 1) expect(() => file.write(line(index))).not.toThrow();
    expect(() => file.close()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.syscall).toBe('rename');
    // The lines before the cap stayed in the file; nothing after it was written anywhere.
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean).length).toBeLessThan(40);
  });

  it('does not throw at the supervisor even when its error reporter throws', () => {
    const dir = scratch();
    const file = openLogFile(dir, {
      onError: () => {
        throw new Error('the reporter itself failed');
      },
    });
    expect(() => file.write({ time: '2024-05-01T10:00:00.000Z', stream: 'stdout', text: 'a' })).not.toThrow();
  });
});

describe('the log files a stopped stack left', () => {
  it('names the services with a current or only a rotated file, and nothing else in the folder', async () => {
    const dir = scratch();
    expect(await loggedServices(join(dir, 'missing'))).toEqual([]);
    for (const name of ['beta.log', 'alpha.log', 'alpha.log.1', 'gamma.log.1', 'notes.txt', 'alpha.log.2', '.hidden.log', 'sick.log.123.tmp']) writeFileSync(join(dir, name), '');
    mkdirSync(join(dir, 'sub'));
    expect(await loggedServices(dir)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('tells which file was written last and when: the current one, the rotated one when it alone is left or newer', async () => {
    const dir = scratch();
    const path = join(dir, 'alpha.log');
    expect(await logFileLastWrite(path)).toBeUndefined();
    writeFileSync(`${path}.1`, 'old\n');
    utimesSync(`${path}.1`, new Date('2024-05-01T09:00:00Z'), new Date('2024-05-01T09:00:00Z'));
    expect(await logFileLastWrite(path)).toEqual({ file: `${path}.1`, time: new Date('2024-05-01T09:00:00Z') });
    writeFileSync(path, 'new\n');
    utimesSync(path, new Date('2024-05-01T10:00:00Z'), new Date('2024-05-01T10:00:00Z'));
    expect(await logFileLastWrite(path)).toEqual({ file: path, time: new Date('2024-05-01T10:00:00Z') });
  });
});
