import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_AUDIT_ENGINE, tempDir } from './testing/policy-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Runs main.ts as the start command does; kills it if it is still running after the timeout. */
function runMain(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const state = tempDir('acgs-pe-main');
  cleanups.push(() => state.remove());
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/policy-engine/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        POLICY_WATCH: 'false',
        ACGS_STATE_DIR: state.path,
        AUDIT_ENGINE_URL: NO_AUDIT_ENGINE,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts was still running after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('starting the engine with a bad environment', () => {
  it.each([
    ['REDIS_URL', { REDIS_URL: 'notaurl' }, /^Invalid policy-engine configuration: REDIS_URL: must be a URL/],
    ['POLICY_L1_CACHE_SIZE', { POLICY_L1_CACHE_SIZE: 'lots' }, /POLICY_L1_CACHE_SIZE: must be a whole number from 1 to 10000000 \(got "lots"\)/],
    ['PORT', { PORT: '99999' }, /^Invalid policy-engine configuration: PORT: must be a whole number from 0 to 65535 \(got "99999"\)/],
  ])('names %s in one line on stderr and exits 1', async (_name, env, message) => {
    const result = await runMain(env);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('says in one line why it could not start when the mode state file is corrupt', async () => {
    const state = tempDir('acgs-pe-main-corrupt');
    cleanups.push(() => state.remove());
    writeFileSync(join(state.path, 'modes.json'), '{"lockdown": tr');
    const result = await runMain({ ACGS_STATE_DIR: state.path });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^policy-engine could not start: The mode state file .*modes\.json is corrupt/);
  });

  it('says in one line that its port is taken', async () => {
    const occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => occupier.close(resolve)));
    const { port } = occupier.address() as AddressInfo;
    const result = await runMain({ PORT: String(port) });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^policy-engine could not start: listen EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
  });
});
