import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import { createAuditTestContext, type AuditTestContext } from '../audit-engine/testing/audit-test-context.js';
import { ServiceCallError } from '../clients/http.js';
import { createPolicyEngineClient, type PolicyEngineClient } from '../clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import {
  DENY_ALL_REGO,
  buildWasm,
  compliantInput,
  dangerousInput,
  eventually,
  policyWasmPath,
  tempDir,
  testConfig,
} from './testing/policy-fixtures.js';

/** Real servers on 127.0.0.1 (port 0), called through the typed client. */

const ADMIN = 'integration-admin-token-0123456789abcdef';
const cleanups: Array<() => unknown> = [];
let redisInfo: Awaited<ReturnType<typeof requireRedis>>;

beforeAll(async () => {
  redisInfo = await requireRedis();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await redisInfo?.cleanup();
});

function stateDir(): string {
  const dir = tempDir('acgs-pe-int');
  cleanups.push(() => dir.remove());
  return dir.path;
}

async function startEngine(env: Record<string, string>): Promise<{ app: Service; client: PolicyEngineClient; url: string }> {
  const app = await buildApp(testConfig({ ACGS_ADMIN_TOKEN: ADMIN, ...env }));
  cleanups.push(() => app.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, client: createPolicyEngineClient({ baseUrl: url, adminToken: ADMIN, actor: 'integration-test' }) };
}

describe('policy engine over HTTP', () => {
  it('answers decisions, allow, health and metrics through the typed client', async () => {
    const { client } = await startEngine({ ACGS_STATE_DIR: stateDir() });
    const decision = await client.decide(compliantInput());
    expect(decision).toMatchObject({ allow: true, constitutional_hash: CONSTITUTIONAL_HASH });
    expect(await client.allow(dangerousInput())).toBe(false);
    expect(await client.policyHealth()).toMatchObject({ status: 'healthy' });
    const health = await client.health();
    expect(health).toMatchObject({ status: 'healthy', service: 'policy-engine', redis: 'disabled' });
    const metrics = await client.metrics();
    expect(metrics.request_count).toBe(2);
    expect(metrics.safety_violations_total).toBe(1);
    expect(metrics.policy_version).toBe((health.policy as { version: string }).version);
    const warmed = await client.warmCache();
    expect(warmed.warmed).toBeGreaterThan(0);
  });

  it('surfaces HASH_MISMATCH and the expected hash as a client error', async () => {
    const { client } = await startEngine({ ACGS_STATE_DIR: stateDir() });
    const error = await client.decide({ ...compliantInput(), constitutional_hash: 'deadbeefdeadbeef' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect(error).toMatchObject({ status: 400, code: 'HASH_MISMATCH' });
    expect((error as Error).message).toContain(CONSTITUTIONAL_HASH);
  });

  it('rejects admin calls without the token and carries them out with it', async () => {
    const { client, url } = await startEngine({ ACGS_STATE_DIR: stateDir() });
    const anonymous = createPolicyEngineClient({ baseUrl: url });
    await expect(anonymous.setMode('emergency-lockdown')).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    await expect(anonymous.clearCache()).rejects.toMatchObject({ status: 401 });
    await expect(anonymous.reloadPolicy()).rejects.toMatchObject({ status: 401 });
    expect((await client.reloadPolicy()).status).toBe('unchanged');
    expect(await client.clearCache()).toEqual({ l1_cleared: 0, l2_cleared: 0 });
  });

  it('denies during an emergency lockdown and allows again once it is lifted', async () => {
    const { client } = await startEngine({ ACGS_STATE_DIR: stateDir() });
    const write = compliantInput({ action: 'data.write' });
    expect(await client.allow(write)).toBe(true);
    expect((await client.setMode('emergency-lockdown', 'integration drill')).modes.lockdown).toBe(true);
    const locked = await client.decide(write);
    expect(locked.allow).toBe(false);
    expect(locked.mode.lockdown).toBe(true);
    expect(await client.allow(compliantInput({ action: 'health.check' }))).toBe(true);
    expect((await client.setMode('lift-lockdown')).modes.lockdown).toBe(false);
    expect(await client.allow(write)).toBe(true);
  });

  it('keeps its modes across a restart from the same state directory', async () => {
    const dir = stateDir();
    const first = await startEngine({ ACGS_STATE_DIR: dir });
    await first.client.setMode('enable-strict-mode', 'before restart');
    await first.app.close();
    const second = await startEngine({ ACGS_STATE_DIR: dir });
    expect((await second.client.metrics()).mode).toEqual({ strict: true, lockdown: false });
    expect((await second.client.health()).modes).toEqual({ strict: true, lockdown: false });
    const decision = await second.client.decide(compliantInput({ action: 'custom.thing' }));
    expect(decision.allow).toBe(false);
    expect(decision.threshold).toBe(0.99);
  });
});

describe('server-side latency in /v1/metrics', () => {
  /** Sends the headers, waits, then the rest of the body: the server has the request all along. */
  function trickle(url: string, path: string, body: string, pauseMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        `${url}${path}`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      const half = Math.floor(body.length / 2);
      request.write(body.slice(0, half));
      setTimeout(() => request.end(body.slice(half)), pauseMs);
    });
  }

  it.each(['decision', 'allow'])(
    'times %s requests from their arrival, body parsing and validation included, not only the decision',
    async (endpoint) => {
      const { client, url } = await startEngine({ ACGS_STATE_DIR: stateDir() });
      const status = await trickle(url, `/v1/data/acgs/main/${endpoint}`, JSON.stringify({ input: compliantInput() }), 100);
      expect(status).toBe(200);
      const metrics = await client.metrics();
      expect(metrics.request_count).toBe(1);
      // The connection set-up overlaps the pause, so less than all of it reaches the server.
      expect(metrics.percentiles.p50).toBeGreaterThanOrEqual(50);
      expect(metrics.p99_latency_ms).toBe(metrics.percentiles.p99);
    },
  );

  it('leaves rejected requests out of the latency, while counting them', async () => {
    const { client, url } = await startEngine({ ACGS_STATE_DIR: stateDir() });
    const status = await trickle(url, '/v1/data/acgs/main/decision', JSON.stringify({ input: { ...compliantInput(), sudo: true } }), 80);
    expect(status).toBe(400);
    const metrics = await client.metrics();
    expect(metrics.rejected_count).toBe(1);
    expect(metrics.percentiles.p99).toBe(0);
  });
});

describe('policy file watching', () => {
  it('reloads the policy when the wasm file is replaced, without a restart', async () => {
    const dir = stateDir();
    const wasmPath = join(dir, 'policy.wasm');
    copyFileSync(policyWasmPath(), wasmPath);
    const { client } = await startEngine({
      ACGS_STATE_DIR: join(dir, 'state'),
      POLICY_WASM_PATH: wasmPath,
      POLICY_WATCH: 'true',
      POLICY_WATCH_DEBOUNCE_MS: '50',
    });
    const before = (await client.metrics()).policy_version;
    expect((await client.decide(compliantInput())).allow).toBe(true);
    // Replace the file the way a build does: write beside it, then rename over it.
    writeFileSync(`${wasmPath}.new`, buildWasm(DENY_ALL_REGO));
    renameSync(`${wasmPath}.new`, wasmPath);
    await eventually(async () => expect((await client.metrics()).policy_version).not.toBe(before));
    expect((await client.decide(compliantInput())).reasons).toEqual(['deny-all test policy']);
  });

  it('refuses to start without a loadable policy, naming the file', async () => {
    const dir = stateDir();
    const missing = join(dir, 'nowhere.wasm');
    await expect(
      buildApp(testConfig({ ACGS_STATE_DIR: dir, POLICY_WASM_PATH: missing, REDIS_URL: redisInfo.url })),
    ).rejects.toThrow(/nowhere\.wasm/);
  });
});

describe('replicas sharing the real Redis', () => {
  /** Two engines on one Redis; the first has decided `input` and Redis holds it. */
  async function decidedByAnotherReplica(name: string, secondEnv: Record<string, string> = {}) {
    const shared = { REDIS_URL: redisInfo.url, REDIS_KEY_PREFIX: `${redisInfo.prefix}${name}:` };
    const one = await startEngine({ ...shared, ACGS_STATE_DIR: stateDir() });
    const two = await startEngine({ ...shared, ...secondEnv, ACGS_STATE_DIR: stateDir() });
    const input = compliantInput({ action: 'model.infer', context: { agent: { id: `replica-${name}`, trust_level: 0.97 } } });
    const first = await one.client.decide(input);
    const redis = new Redis(redisInfo.url);
    cleanups.push(() => redis.disconnect());
    await eventually(async () => expect(await redis.keys(`${shared.REDIS_KEY_PREFIX}decision:*`)).toHaveLength(1));
    return { two, input, first };
  }

  it('answers an L1 miss by evaluating at once, without waiting for Redis, while the policy is cheap', async () => {
    const { two, input, first } = await decidedByAnotherReplica('cheap');
    expect(await two.client.decide(input)).toEqual(first);
    const { cache_stats: stats } = await two.client.metrics();
    expect(stats.l1).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.l2).toMatchObject({ hits: 0, misses: 0, bypassed: 1 });
  });

  it('asks Redis first once the policy evaluations take longer than POLICY_L2_LOOKUP_MIN_EVAL_MS', async () => {
    // 1 microsecond: any real evaluation is dearer, but the engine only knows after its first one.
    const { two, input, first } = await decidedByAnotherReplica('dear', { POLICY_L2_LOOKUP_MIN_EVAL_MS: '0.001' });
    await two.client.decide(compliantInput({ action: 'data.read' }));
    expect(await two.client.decide(input)).toEqual(first);
    const { cache_stats: stats } = await two.client.metrics();
    expect(stats.l2).toMatchObject({ hits: 1, bypassed: 1 });
  });

  it('serves a decision cached by one instance as an L2 hit of the second', async () => {
    const shared = { REDIS_URL: redisInfo.url, REDIS_KEY_PREFIX: `${redisInfo.prefix}l2:`, POLICY_L2_LOOKUP_MIN_EVAL_MS: '0' };
    const one = await startEngine({ ...shared, ACGS_STATE_DIR: stateDir() });
    const two = await startEngine({ ...shared, ACGS_STATE_DIR: stateDir() });
    const input = compliantInput({ action: 'model.infer', context: { agent: { id: 'replica-test', trust_level: 0.97 } } });
    const first = await one.client.decide(input);
    // The L2 write happens beside the answer; wait until Redis has it.
    const redis = new Redis(redisInfo.url);
    cleanups.push(() => redis.disconnect());
    await eventually(async () => expect(await redis.keys(`${shared.REDIS_KEY_PREFIX}decision:*`)).toHaveLength(1));
    expect(await two.client.decide(input)).toEqual(first);
    const metrics = await two.client.metrics();
    expect(metrics.cache_stats.l1.hits).toBe(0);
    expect(metrics.cache_stats.l2.hits).toBe(1);
    expect(metrics.cache_stats.l2.bypassed).toBe(0);
    expect(metrics.l2_hit_rate).toBeGreaterThan(0);
    expect((await two.client.health()).redis).toBe('ready');
  });

  it('brings a second instance into the lockdown declared on the first', async () => {
    const shared = { REDIS_URL: redisInfo.url, REDIS_KEY_PREFIX: `${redisInfo.prefix}modes:`, MODE_SYNC_INTERVAL_MS: '100' };
    const one = await startEngine({ ...shared, ACGS_STATE_DIR: stateDir() });
    const two = await startEngine({ ...shared, ACGS_STATE_DIR: stateDir() });
    await one.client.setMode('emergency-lockdown');
    await eventually(async () => expect((await two.client.metrics()).mode.lockdown).toBe(true), 5000);
    expect(await two.client.allow(compliantInput({ action: 'data.write' }))).toBe(false);
  });

  it('answers without Redis when Redis is unreachable, reporting itself degraded', async () => {
    const { client } = await startEngine({ REDIS_URL: 'redis://127.0.0.1:1', ACGS_STATE_DIR: stateDir() });
    expect((await client.decide(compliantInput())).allow).toBe(true);
    const health = await client.health();
    expect(health).toMatchObject({ status: 'degraded', redis: 'unreachable' });
    expect((await client.metrics()).cache_stats.l2.errors).toBeGreaterThan(0);
  });
});

describe('safety violations and the real Audit Engine', () => {
  let audit: AuditTestContext;

  beforeAll(async () => {
    audit = await createAuditTestContext();
  });
  afterAll(async () => {
    await audit?.close();
  });

  /** The Audit Engine on a fixed loopback port, so it can go down and come back at the same address. */
  async function startAuditEngine(port: number): Promise<Service> {
    const app = await audit.start();
    await app.listen({ port, host: '127.0.0.1' });
    return app;
  }

  async function countViolations(agentId: string): Promise<number> {
    const result = await audit.sql.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'safety_violation' AND agent_id = $1`,
      [agentId],
    );
    return result.rows[0].n as number;
  }

  it('delivers violations recorded while the Audit Engine was down, also across a restart of the engine', async () => {
    // Learn a free port, then take the Audit Engine down.
    const probe = await startAuditEngine(0);
    const port = (probe.server.address() as { port: number }).port;
    await probe.close();

    const dir = stateDir();
    const env = { ACGS_STATE_DIR: dir, AUDIT_ENGINE_URL: `http://127.0.0.1:${port}` };
    const engine = await startEngine(env);
    for (let i = 0; i < 3; i++) await engine.client.decide(dangerousInput('agent-outage'));
    expect((await engine.client.health()).audit_outbox).toMatchObject({ pending: 3 });
    expect(await countViolations('agent-outage')).toBe(0);

    // The engine restarts while the Audit Engine is still down; the spool survives.
    await engine.app.close();
    const restarted = await startEngine(env);
    await restarted.client.decide(dangerousInput('agent-outage'));

    const back = await startAuditEngine(port);
    cleanups.push(() => back.close());
    await eventually(async () => expect(await countViolations('agent-outage')).toBe(4), 20_000, 200);
    await eventually(async () => expect((await restarted.client.health()).audit_outbox).toMatchObject({ pending: 0 }));

    const response = await back.inject('/audit/events?event_type=safety_violation&agent_id=agent-outage&limit=10');
    const events = response.json().events as Array<{ source: string; data: Record<string, unknown> }>;
    expect(events).toHaveLength(4);
    expect(events[0]).toMatchObject({
      source: 'policy-engine',
      data: { action: 'system.execute_shell', agent_id: 'agent-outage', input_type: 'action_authorization' },
    });
    expect((events[0]!.data.violations as Array<{ code: string }>).map((v) => v.code)).toContain('dangerous_action');
  }, 60_000);
});
