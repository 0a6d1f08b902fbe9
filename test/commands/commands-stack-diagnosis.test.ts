/**
 * The runbook's diagnosis steps as commands against the real services, PostgreSQL and Redis
 * (cache warm, db connections, redis memory), and the CLI's view of a local stack it does not own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { block, checkLine, commandRunner, fieldValue } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { type TestStack, downPostgresUrl, downRedisUrl, startStack } from '../testing/stack.js';
import { commandAccessForSuite } from '../testing/suite.js';

const USERS = { oncall: 'U0ONCALL', nobody: 'U0NOBODY' } as const;
const access = commandAccessForSuite({ roles: { oncall: [USERS.oncall] } });
const cwd = mkdtempSync(join(tmpdir(), 'acgs-cmds-diagnosis-'));
let stack: TestStack;
const run = commandRunner({ services: () => stack.services, access, user: USERS.oncall });

beforeAll(async () => {
  stack = await startStack({ containerRuntime: 'none' });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  rmSync(cwd, { recursive: true, force: true });
});

const cacheSize = async () => (await createPolicyEngineClient({ baseUrl: stack.endpoints['policy-engine'] }).metrics()).cache_stats.l1.size;

describe('cache warm', () => {
  it('refuses someone without the on-call role, and the cache stays as it was', async () => {
    const before = await cacheSize();
    const outcome = await run('cache warm', { user: USERS.nobody });
    expect(outcome.rejection).toBe('refused');
    expect(outcome.document.summary).toBe('"cache warm" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.');
    expect(await cacheSize()).toBe(before);
  });

  it("warms the Policy Engine's cache for on-call, then finds it warm the second time", async () => {
    const first = await run('cache warm');
    expect(first.outcome).toBe('ok');
    const warmed = Number(fieldValue(first.document, 'Newly cached'));
    const total = Number(fieldValue(first.document, 'Warm set'));
    expect(total).toBeGreaterThan(0);
    expect(warmed).toBeGreaterThan(0);
    expect(await cacheSize()).toBeGreaterThanOrEqual(warmed);
    const second = await run('cache warm');
    expect(fieldValue(second.document, 'Newly cached')).toBe('0');
    expect(fieldValue(second.document, 'Already cached')).toBe(String(total));
  });

  it('says where the Policy Engine is when it does not answer', async () => {
    const gone = await unusedLoopbackUrl();
    const outcome = await run('cache warm', { services: stack.servicesWith({ endpoints: { 'policy-engine': gone } }) });
    expect(outcome.rejection).toBe('unavailable');
    expect(outcome.document.summary).toBe(`The Policy Engine at ${gone} does not answer (nothing accepts connections there).`);
  });
});

describe('db connections', () => {
  it('groups the connections by state and application and finds a session idle in a transaction', async () => {
    const client = new pg.Client({ connectionString: stack.auditDatabase.url, application_name: 'acgs-idle-probe' });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      const { document, outcome } = await run('db connections');
      expect(outcome).toBe('ok');
      const rows = block(document, 'table').rows;
      expect(rows).toContainEqual(['idle in transaction', 'acgs-idle-probe', '1', expect.stringMatching(/^\d+ s$/)]);
      const idle = checkLine(document, 'Idle in transaction')!;
      expect(idle.tone).toBe('ok');
      expect(idle.text).toMatch(/^\d+ · oldest \d+ s \(pid \d+, .+ on /);
      const data = document.data as { idle_in_transaction: Array<{ application: string; pid: number }> };
      expect(data.idle_in_transaction.map((session) => session.application)).toContain('acgs-idle-probe');
    } finally {
      await client.end();
    }
  });

  it('says PostgreSQL is not configured, or not reachable', async () => {
    const none = await run('db connections', { services: stack.servicesWith({ postgresUrl: null }) });
    expect(none.document).toMatchObject({ tone: 'info', summary: 'No PostgreSQL is configured for the bot: DATABASE_URL is not set.' });
    const down = await run('db connections', { services: stack.servicesWith({ postgresUrl: await downPostgresUrl(), checkTimeoutMs: 1000 }) });
    expect(down.document.tone).toBe('fail');
    expect(down.document.summary).toMatch(/^PostgreSQL at 127\.0\.0\.1:\d+\/acgs_audit is not reachable\.$/);
  });
});

describe('redis memory', () => {
  it("reads INFO memory of the stack's Redis: used, peak, fragmentation and the eviction policy", async () => {
    const { document } = await run('redis memory');
    const items = block(document, 'checks').items;
    expect(items.map((item) => item.name)).toEqual(['Used', 'Peak', 'Fragmentation', 'Eviction policy']);
    expect(items[0]!.text).toMatch(/^[\d.]+ (KiB|MiB)/);
    const data = document.data as { used_memory: number; used_memory_peak: number; maxmemory_policy: string };
    expect(data.used_memory).toBeGreaterThan(0);
    expect(data.used_memory_peak).toBeGreaterThanOrEqual(data.used_memory / 2);
    expect(data.maxmemory_policy).toMatch(/^[a-z-]+$/);
  });

  it('says Redis is not configured, or not reachable', async () => {
    const none = await run('redis memory', { services: stack.servicesWith({ redisUrl: null }) });
    expect(none.document.summary).toBe('No Redis is configured for the bot: REDIS_URL is not set.');
    const down = await run('redis memory', { services: stack.servicesWith({ redisUrl: await downRedisUrl(), checkTimeoutMs: 1000 }) });
    expect(down.document.tone).toBe('fail');
    expect(down.document.summary).toMatch(/^Redis at 127\.0\.0\.1:\d+ is not reachable\.$/);
  });
});

describe('the CLI and local services that no supervisor of its state directory runs', () => {
  async function cli(args: string[]) {
    let stdout = '';
    let stderr = '';
    // On call through cli_users, so that a restart reaches the stack instead of a role refusal.
    const config = join(cwd, 'cli-operator.yml');
    writeFileSync(config, `roles:\n  oncall: [U0CLIOPS]\ncli_users:\n  ${JSON.stringify(userInfo().username)}: U0CLIOPS\n`);
    const code = await runCli(args, {
      env: { ...stack.cliEnv(), ACGS_STACK: 'local', ACGS_STATE_DIR: join(cwd, '.acgs'), ACGS_CONFIG: config },
      cwd,
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  // The services answer on their ports, but only the supervisor that owns them may restart them or
  // name their pids: without one the CLI says how to start it and does nothing.
  it.each([['status'], ['restart', 'policy-engine'], ['logs', 'policy-engine'], ['stats']])('%s says the local stack is not running and how to start it, exit 1', async (...args) => {
    const result = await cli(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('The local stack is not running');
    expect(result.stdout).toContain('npm start');
  });

  it('health still reads the services themselves', async () => {
    const result = await cli(['health', '--json']);
    const checks = (JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string }> }).checks;
    expect(checks.find((check) => check.name === 'policy-engine')?.status).toBe('healthy');
    expect(checks.find((check) => check.name === 'audit-engine')?.status).toBe('healthy');
  });
});
