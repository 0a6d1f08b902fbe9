import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.js';
import type { HealthCheckData } from '../../commands/health.js';
import type { ResultDocument } from '../../commands/result.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { block, checkLine, commandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { EVERY_HEALTH_CHECK, downPostgresUrl, downRedisUrl } from '../testing/stack.js';
import { realStackForSuite } from '../testing/suite.js';

const checks = (document: ResultDocument) => block(document, 'checks').items;
const data = (document: ResultDocument) => document.data as { verdict: string; checks: HealthCheckData[]; timeout_ms: number };

describe('health against the real stack', () => {
  const suite = realStackForSuite();
  const run = commandRunner({ services: () => suite.stack.services });

  it('passes every check when every part is up, one line per part with status, latency and version', async () => {
    const outcome = await run('health');
    expect(outcome.outcome).toBe('ok');
    const document = outcome.document;
    expect(document.summary).toBe('All 7 checks pass.');
    expect(checks(document).map((item) => [item.name, item.tone])).toEqual(EVERY_HEALTH_CHECK.map((name) => [name, 'ok']));
    for (const service of ['policy-engine', 'audit-engine', 'evolution-oversight', 'sandbox-controller']) {
      expect(checkLine(document, service)?.text).toMatch(/^healthy · [\d.]+ m?s · v\d+\.\d+\.\d+$/);
    }
    expect(checkLine(document, 'postgres')?.text).toMatch(/^reachable · [\d.]+ m?s · PostgreSQL \d+/);
    expect(checkLine(document, 'redis')?.text).toMatch(/^reachable · [\d.]+ m?s · Redis \d+\.\d+/);
    expect(document.footer).toContain(CONSTITUTIONAL_HASH);
    expect(document.actions).toBeUndefined();
  });

  it('gives machine-readable data for --json', async () => {
    const { document } = await run('health');
    const body = data(document);
    expect(body.verdict).toBe('ok');
    expect(body.timeout_ms).toBe(2000);
    const policy = body.checks.find((check) => check.name === 'policy-engine');
    expect(policy).toMatchObject({ target: 'policy-engine', tone: 'ok', status: 'healthy', detail: null });
    expect(policy?.latency_ms).toBeGreaterThan(0);
    expect(policy?.version).toMatch(/^v\d/);
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });

  it('checks one part of the stack when asked, and only that part', async () => {
    const before = suite.hung.connections;
    const only = await run('health policy-engine', { services: suite.stack.servicesWith({ endpoints: { 'audit-engine': suite.hung.url } }) });
    expect(checks(only.document).map((item) => item.name)).toEqual(['policy-engine', 'policy-engine policy']);
    expect(only.document.title).toBe('Health of policy-engine');
    expect(suite.hung.connections).toBe(before);
    const redis = await run('health REDIS');
    expect(checks(redis.document).map((item) => item.name)).toEqual(['redis']);
  });

  it('marks a hung service failed after the per-check timeout and still answers in time', async () => {
    const services = suite.stack.servicesWith({ endpoints: { 'evolution-oversight': suite.hung.url } });
    const started = performance.now();
    const outcome = await run('health', { services });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(2000 + 1000);
    expect(outcome.outcome).toBe('fail');
    expect(checkLine(outcome.document, 'evolution-oversight')).toEqual({
      name: 'evolution-oversight',
      tone: 'fail',
      text: expect.stringMatching(/^unreachable · 2\.?\d* s · no answer within 2000 ms$/),
    });
    expect(checkLine(outcome.document, 'policy-engine')?.tone).toBe('ok');
    expect(outcome.document.summary).toBe('1 of 7 checks fail: evolution-oversight.');
    expect(outcome.document.actions).toEqual([{ label: 'Check again', command: 'health' }]);
    expect(outcome.document.footer).toMatch(/docker-compose restart <service>/);
    expect(suite.hung.connections).toBeGreaterThan(0);
  });

  it('checks in parallel: two hung services cost one timeout, not two', async () => {
    const services = suite.stack.servicesWith({ endpoints: { 'policy-engine': suite.hung.url, 'sandbox-controller': suite.hung.url }, checkTimeoutMs: 1000 });
    const started = performance.now();
    const outcome = await run('health', { services });
    // One after the other they would take at least 3 x 1000 ms (two policy checks and the sandbox).
    expect(performance.now() - started).toBeLessThan(1000 + 900);
    const failed = checks(outcome.document).filter((item) => item.tone === 'fail').map((item) => item.name);
    expect(failed).toEqual(['policy-engine', 'policy-engine policy', 'sandbox-controller']);
    expect(checkLine(outcome.document, 'sandbox-controller')?.text).toContain('no answer within 1000 ms');
  });

  it('says connection refused for a service that is not running', async () => {
    const services = suite.stack.servicesWith({ endpoints: { 'audit-engine': await unusedLoopbackUrl() } });
    const outcome = await run('health', { services });
    expect(checkLine(outcome.document, 'audit-engine')).toMatchObject({ tone: 'fail', text: expect.stringContaining('unreachable') });
    expect(checkLine(outcome.document, 'audit-engine')?.text).toContain('connection refused');
    expect(outcome.document.tone).toBe('fail');
  });

  it('fails the postgres line, naming where, when PostgreSQL is down', async () => {
    const url = await downPostgresUrl();
    const outcome = await run('health', { services: suite.stack.servicesWith({ postgresUrl: url }) });
    const port = new URL(url).port;
    expect(checkLine(outcome.document, 'postgres')).toMatchObject({ tone: 'fail' });
    expect(checkLine(outcome.document, 'postgres')?.text).toContain(`unreachable`);
    expect(checkLine(outcome.document, 'postgres')?.text).toContain(`127.0.0.1:${port}/acgs_audit: connection refused`);
    expect(outcome.document.summary).toBe('1 of 7 checks fail: postgres.');
  });

  it('fails the redis line when Redis is down, and says so again on the next run without waiting', async () => {
    const services = suite.stack.servicesWith({ redisUrl: await downRedisUrl() });
    const first = await run('health', { services });
    expect(checkLine(first.document, 'redis')).toMatchObject({ tone: 'fail', text: expect.stringContaining('connection refused') });
    const started = performance.now();
    const second = await run('health redis', { services });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(second.document.tone).toBe('fail');
  });

  it('shows PostgreSQL and Redis as not configured, not as failures, in the embedded default', async () => {
    const outcome = await run('health', { services: suite.stack.servicesWith({ postgresUrl: null, redisUrl: null }) });
    expect(checkLine(outcome.document, 'postgres')).toMatchObject({ tone: 'info', text: expect.stringContaining('not configured · DATABASE_URL is not set') });
    expect(checkLine(outcome.document, 'redis')).toMatchObject({ tone: 'info', text: expect.stringContaining('not configured · REDIS_URL is not set') });
    expect(outcome.document.tone).toBe('ok');
    expect(outcome.document.summary).toBe('All 5 checks pass.');
  });

  it("shows strict mode on the policy engine's line without changing its verdict", async () => {
    const response = await fetch(`${suite.stack.endpoints['policy-engine']}/admin/enable-strict-mode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.stack.adminToken}` },
    });
    expect(response.status).toBe(200);
    try {
      const outcome = await run('health policy-engine');
      expect(checkLine(outcome.document, 'policy-engine')?.text).toContain('strict mode is on');
      expect(checkLine(outcome.document, 'policy-engine')?.tone).toBe('ok');
    } finally {
      await fetch(`${suite.stack.endpoints['policy-engine']}/admin/disable-strict-mode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${suite.stack.adminToken}` },
      });
    }
  });

  it('stops waiting when the caller gives up', async () => {
    const services = suite.stack.servicesWith({ endpoints: { 'audit-engine': suite.hung.url } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const outcome = await run('health audit-engine', { services, origin: 'cli', signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(checkLine(outcome.document, 'audit-engine')).toMatchObject({ tone: 'fail', text: expect.stringContaining('cancelled before an answer') });
  });
});

describe('health of a stack without a container runtime', () => {
  const suite = realStackForSuite({ containerRuntime: 'none' });
  const run = commandRunner({ services: () => suite.stack.services });

  it('shows the sandbox controller as degraded with its own reason, and the stack as degraded', async () => {
    const outcome = await run('health');
    const sandbox = checkLine(outcome.document, 'sandbox-controller');
    expect(sandbox?.tone).toBe('warn');
    expect(sandbox?.text).toMatch(/^degraded · .* · The Docker Engine at tcp:\/\/127\.0\.0\.1:\d+ does not answer/);
    expect(outcome.document.tone).toBe('warn');
    expect(outcome.document.summary).toBe('Degraded: sandbox-controller; everything else passes.');
    expect(outcome.document.actions).toEqual([{ label: 'Check again', command: 'health' }]);
  });

  // A fresh machine without Docker: the README's CLI contract is "0 ok, 1 warning or failure, 2 a
  // mistyped command line", and `npx acgs health` exits 1 "when something needs attention".
  it('makes `npx acgs health` exit 1 (a warning), saying which service and why, text and --json alike', async () => {
    // No state directory: no `npm start` here whose local stack the CLI would look for.
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-health-cli-'));
    const acgs = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(args, { env: { ...suite.stack.cliEnv(), ACGS_STATE_DIR: stateDir }, cwd: process.cwd(), stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
      return { code, stdout, stderr };
    };
    const text = await acgs(['health']);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain('Degraded: sandbox-controller; everything else passes.');
    expect(text.stdout).toMatch(/does not answer/);
    const json = await acgs(['health', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'warn' });
    // Against the same contract: a mistyped line is 2.
    expect((await acgs(['health', 'no-such-service'])).code).toBe(2);
    rmSync(stateDir, { recursive: true, force: true });
  });
});
