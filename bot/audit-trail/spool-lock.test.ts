import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpoolDirectoryInUseError, claimSpoolDirectory, processStartTime } from './spool-lock.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function spoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-spool-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real other process that stays alive until the test ends. */
async function otherProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child as ChildProcess & { pid: number };
}

describe('spool lock', () => {
  it('records its pid and its start time from /proc in the lock file', () => {
    const dir = spoolDir();
    const release = claimSpoolDirectory(dir);
    cleanups.push(release);
    const started = processStartTime(process.pid);
    expect(started).toMatch(/^\d+$/);
    expect(readFileSync(join(dir, 'trail.lock'), 'utf8')).toBe(`${process.pid} ${started}`);
  });

  it('refuses a directory whose lock names a running process that started when the lock says', async () => {
    const dir = spoolDir();
    const owner = await otherProcess();
    writeFileSync(join(dir, 'trail.lock'), `${owner.pid} ${processStartTime(owner.pid)}`);
    expect(() => claimSpoolDirectory(dir)).toThrow(SpoolDirectoryInUseError);
    expect(() => claimSpoolDirectory(dir)).toThrow(`the audit spool directory ${dir} is in use by process ${owner.pid}`);
  });

  it('takes over a lock whose pid is alive but belongs to a process started at another time (a reused pid)', async () => {
    const dir = spoolDir();
    const other = await otherProcess();
    const otherStart = Number(processStartTime(other.pid));
    writeFileSync(join(dir, 'trail.lock'), `${other.pid} ${otherStart - 1}`);
    const release = claimSpoolDirectory(dir);
    expect(readFileSync(join(dir, 'trail.lock'), 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}`);
    release();
    expect(existsSync(join(dir, 'trail.lock'))).toBe(false);
  });

  it('still trusts a lock of an older bot that holds only a running pid', async () => {
    const dir = spoolDir();
    const owner = await otherProcess();
    writeFileSync(join(dir, 'trail.lock'), String(owner.pid));
    expect(() => claimSpoolDirectory(dir)).toThrow(SpoolDirectoryInUseError);
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = spoolDir();
    const gone = await otherProcess();
    const start = processStartTime(gone.pid);
    const exited = new Promise((resolve) => gone.once('exit', resolve));
    gone.kill('SIGKILL');
    await exited;
    writeFileSync(join(dir, 'trail.lock'), `${gone.pid} ${start}`);
    const release = claimSpoolDirectory(dir);
    cleanups.push(release);
    expect(readFileSync(join(dir, 'trail.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  });
});
