import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH, SERVICE_PORTS } from '../services/kit/constitution.js';

/**
 * `npm start` on a machine with nothing configured: no DATABASE_URL, no REDIS_URL, no token.
 * The four services must come up on their firm ports with embedded PostgreSQL.
 */
let child: ChildProcess;
let stateDir: string;
let output = '';

async function waitForHealth(port: number, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return response;
      lastError = `status ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`port ${port} not healthy after ${timeoutMs} ms (${lastError})\n${output.slice(-4000)}`);
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ACGS_STATE_DIR: stateDir, LOG_LEVEL: 'warn' };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'ACGS_ADMIN_TOKEN', 'PORT', 'VITEST', 'NODE_ENV']) delete env[key];
  child = spawn(process.execPath, ['--import', 'tsx', 'services/start-local.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
}, 10_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  rmSync(stateDir, { recursive: true, force: true });
}, 30_000);

describe('npm start with nothing configured', () => {
  it('brings the four services up on their firm ports', async () => {
    for (const [service, port] of Object.entries(SERVICE_PORTS)) {
      const response = await waitForHealth(port, 90_000);
      const body = (await response.json()) as { service: string; constitutional_hash: string };
      expect(body.service).toBe(service);
      expect(body.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
    }
  }, 120_000);

  it('serves decisions, stores audit events in the embedded database and generates an admin token', async () => {
    const decision = await fetch('http://127.0.0.1:8004/v1/data/acgs/main/decision', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        input: {
          type: 'action_authorization',
          constitutional_hash: CONSTITUTIONAL_HASH,
          action: 'system.execute_shell',
          context: { agent: { id: 'start-test', trust_level: 0.9 } },
        },
      }),
    });
    expect(decision.status).toBe(200);
    expect(((await decision.json()) as { result: { allow: boolean } }).result.allow).toBe(false);

    const stored = await fetch('http://127.0.0.1:8003/audit/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'start_test', agent_id: 'start-test' }),
    });
    expect(stored.status).toBe(201);
    const verify = await fetch('http://127.0.0.1:8003/audit/verify');
    expect(((await verify.json()) as { valid: boolean }).valid).toBe(true);

    const token = readFileSync(join(stateDir, 'admin-token'), 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    const denied = await fetch('http://127.0.0.1:8004/admin/clear-cache', { method: 'POST' });
    expect(denied.status).toBe(401);
    const cleared = await fetch('http://127.0.0.1:8004/admin/clear-cache', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cleared.status).toBe(200);
  }, 60_000);

  it('stops every service on SIGTERM', async () => {
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    for (const port of Object.values(SERVICE_PORTS)) {
      await expect(fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    }
  }, 30_000);
});
