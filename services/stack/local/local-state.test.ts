import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPid, localStatePaths, processArgv, readPidFile, removePidFile, writeFileAtomic, writePidFile } from './local-state.js';

const dir = mkdtempSync(join(tmpdir(), 'acgs-local-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('published state of the local stack', () => {
  it('names its files under the state directory', () => {
    const paths = localStatePaths('/s');
    expect([paths.supervisorFile, paths.pidFile('alpha'), paths.logFile('alpha')]).toEqual(['/s/run/supervisor.json', '/s/run/alpha.pid', '/s/logs/alpha.log']);
  });

  it('writes atomically: the file whole, no temporary left, the mode asked', () => {
    const path = join(dir, 'run', 'supervisor.json');
    writeFileAtomic(path, '{"a":1}\n');
    expect(readdirSync(join(dir, 'run'))).toEqual(['supervisor.json']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('removes a pid file only while it names the pid that exited', async () => {
    const path = join(dir, 'run', 'alpha.pid');
    writePidFile(path, { service: 'alpha', pid: 4242, argv: ['node', 'a.js'], startedAt: new Date().toISOString(), supervisorPid: process.pid });
    removePidFile(path, 1111);
    expect((await readPidFile(path))?.pid).toBe(4242);
    removePidFile(path, 4242);
    expect(existsSync(path)).toBe(false);
    expect(await readPidFile(path)).toBeUndefined();
  });

  it('trusts a pid only while /proc shows the same argv: gone and reused pids are reported, never used', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'acgs-state-test']);
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const argv = [process.execPath, '-e', 'setTimeout(() => {}, 60000)', 'acgs-state-test'];
      expect(await processArgv(child.pid!)).toEqual(argv);
      expect(await checkPid({ service: 'alpha', pid: child.pid!, argv })).toEqual({ ok: true, pid: child.pid });
      const reused = await checkPid({ service: 'alpha', pid: child.pid!, argv: [process.execPath, 'services/alpha/main.ts'] });
      expect(reused).toMatchObject({ ok: false, problem: 'not-ours' });
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(await checkPid({ service: 'alpha', pid: child.pid!, argv: [] })).toMatchObject({ ok: false, problem: 'gone' });
  });
});
