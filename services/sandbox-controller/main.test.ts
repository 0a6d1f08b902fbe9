import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** No engine listens here: nothing in these tests may create a container. */
const NO_DOCKER = `unix://${join(tmpdir(), 'acgs-sandbox-main-no-docker.sock')}`;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Runs main.ts as the start command does; kills it if it is still running after the timeout. */
async function runMain(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  const nowhere = await unusedLoopbackUrl();
  const state = mkdtempSync(join(tmpdir(), 'acgs-sandbox-main-'));
  cleanups.push(() => rmSync(state, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/sandbox-controller/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ACGS_STATE_DIR: state, DOCKER_HOST: NO_DOCKER, POLICY_ENGINE_URL: nowhere, AUDIT_ENGINE_URL: nowhere, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts was still running after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function expectOneLine(stderr: string, message: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('starting the sandbox controller with a bad environment', () => {
  it.each([
    ['SANDBOX_MAX_CONCURRENT', { SANDBOX_MAX_CONCURRENT: '0' }, /^Invalid sandbox-controller configuration: SANDBOX_MAX_CONCURRENT: must be a whole number from 1 to 256 \(got "0"\)$/],
    ['SANDBOX_RUNTIME', { SANDBOX_RUNTIME: 'kata' }, /^Invalid sandbox-controller configuration: SANDBOX_RUNTIME: must be auto, runsc or runc/],
    ['DOCKER_HOST', { DOCKER_HOST: 'docker.sock' }, /^Invalid sandbox-controller configuration: DOCKER_HOST: must look like unix:/],
    ['PORT', { PORT: '99999' }, /^Invalid sandbox-controller configuration: PORT: must be a whole number from 0 to 65535 \(got "99999"\)$/],
  ])('names %s in one line on stderr and exits 1', async (_name, env, message) => {
    const result = await runMain(env);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, message);
  });

  it('says in one line that it could not start when its port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const result = await runMain({ PORT: String((taken.address() as AddressInfo).port) });
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, /^sandbox-controller could not start: .*EADDRINUSE/);
  });
});
