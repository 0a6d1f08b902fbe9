import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { CacheWarmResponse, Decision, PolicyEngineHealth, PolicyHealthResponse, PolicyMetrics } from './contract.js';
import { deriveL2SigningKey, openL2Entry } from './l2-entry-signature.js';
import { WARM_SET } from './warm-set.js';
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

const ADMIN = 'test-admin-token-0123456789abcdef0123';
const DECISION_URL = '/v1/data/acgs/main/decision';
const auth = { authorization: `Bearer ${ADMIN}` };

let app: Service;
let state: ReturnType<typeof tempDir>;
let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
let redis: Redis;
let prefix: string;

beforeAll(async () => {
  redisInfo = await requireRedis();
  prefix = `${redisInfo.prefix}pe:`;
  redis = new Redis(redisInfo.url);
  state = tempDir('acgs-pe-app');
  app = await buildApp(
    testConfig({ ACGS_STATE_DIR: state.path, ACGS_ADMIN_TOKEN: ADMIN, REDIS_URL: redisInfo.url, REDIS_KEY_PREFIX: prefix }),
  );
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await redisInfo?.cleanup();
  state?.remove();
});

function decide(input: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: DECISION_URL, payload: { input }, headers });
}

async function metrics() {
  return PolicyMetrics.parse((await app.inject('/v1/metrics')).json());
}

/** Audit events waiting in the outbox spool (the Audit Engine is unreachable in this file). */
function spooledEvents(): Array<Record<string, any>> {
  const path = join(state.path, 'audit-outbox', 'outbox.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function storedState() {
  // L2 writes leave after the answer (setImmediate): let those of earlier requests go first.
  await new Promise((resolve) => setImmediate(resolve));
  const m = await metrics();
  return {
    l1: m.cache_stats.l1.size,
    l2Keys: (await redis.keys(`${prefix}decision:*`)).length,
    spooled: spooledEvents().length,
    decisions: m.cache_stats.l1.hits + m.cache_stats.l1.misses,
    violations: m.safety_violations_total,
  };
}

async function setMode(action: string, headers: Record<string, string> = {}, payload?: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: `/admin/${action}`,
    headers: { ...auth, ...headers },
    ...(payload === undefined ? {} : { payload }),
  });
}

describe('decisions through the OPA Data API envelope', () => {
  it('allows a compliant action and answers the contract with the constitutional hash', async () => {
    const response = await decide(compliantInput());
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-constitutional-hash']).toBe(CONSTITUTIONAL_HASH);
    const decision = Decision.parse(response.json().result);
    expect(decision).toMatchObject({ allow: true, safety_violation: false, constitutional_hash: CONSTITUTIONAL_HASH });
    expect(decision.violations).toEqual([]);
  });

  it('denies a dangerous action as a safety violation, counts it and spools an audit event', async () => {
    const before = await metrics();
    const spooledBefore = spooledEvents().length;
    const response = await decide(dangerousInput('agent-dangerous'));
    const decision = Decision.parse(response.json().result);
    expect(decision.allow).toBe(false);
    expect(decision.safety_violation).toBe(true);
    expect(decision.violations.some((v) => v.principle === 'safety')).toBe(true);
    const after = await metrics();
    expect(after.safety_violations_total).toBe(before.safety_violations_total + 1);
    expect(after.safety_violations_per_minute).toBe(before.safety_violations_per_minute + 1);
    const events = spooledEvents().slice(spooledBefore);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_type: 'safety_violation',
      source: 'policy-engine',
      agent_id: 'agent-dangerous',
      data: { action: 'system.execute_shell', agent_id: 'agent-dangerous', input_type: 'action_authorization' },
    });
    expect(events[0]!.data.violations).toEqual(decision.violations);
    expect(events[0]!.data.reasons).toEqual(decision.reasons);
  });

  it('counts a safety violation served from the cache again, and audits it again', async () => {
    const input = dangerousInput('agent-repeat');
    await decide(input);
    const before = await metrics();
    const spooledBefore = spooledEvents().length;
    await decide(input);
    const after = await metrics();
    expect(after.cache_stats.l1.hits).toBe(before.cache_stats.l1.hits + 1);
    expect(after.safety_violations_total).toBe(before.safety_violations_total + 1);
    expect(spooledEvents().slice(spooledBefore).map((e) => e.data.agent_id)).toEqual(['agent-repeat']);
  });

  it('answers allow with the boolean of the same decision', async () => {
    const allowed = await app.inject({ method: 'POST', url: '/v1/data/acgs/main/allow', payload: { input: compliantInput() } });
    expect(allowed.json()).toEqual({ result: true });
    const denied = await app.inject({ method: 'POST', url: '/v1/data/acgs/main/allow', payload: { input: dangerousInput() } });
    expect(denied.json()).toEqual({ result: false });
  });

  it('serves a repeated input from L1 whatever the order of its keys', async () => {
    const input = compliantInput({ action: 'model.infer' });
    await decide(input);
    const before = await metrics();
    const reordered = JSON.parse(JSON.stringify({ context: input.context, action: input.action, constitutional_hash: input.constitutional_hash, type: input.type }));
    const response = await decide(reordered);
    expect(response.statusCode).toBe(200);
    const after = await metrics();
    expect(after.cache_stats.l1.hits).toBe(before.cache_stats.l1.hits + 1);
    expect(after.cache_stats.l1.misses).toBe(before.cache_stats.l1.misses);
  });

  it('stores evaluated decisions in L2 under this engine prefix', async () => {
    await decide(compliantInput({ action: 'code.analyze' }));
    // The L2 write follows the answer.
    let keys: string[] = [];
    await eventually(async () => {
      keys = await redis.keys(`${prefix}decision:*`);
      expect(keys.length).toBeGreaterThan(0);
    });
    // `<prefix>decision:<signing key id>:<cache key>`, the decision signed with the admin token's L2 key.
    const name = keys[0]!;
    const opened = openL2Entry(deriveL2SigningKey(ADMIN), name.slice(name.lastIndexOf(':') + 1), (await redis.get(name))!);
    expect(opened.ok).toBe(true);
    const stored = Decision.parse(JSON.parse(opened.ok ? opened.json : 'null'));
    expect(stored.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
  });

  it('answers the policy health document at the Data API path', async () => {
    const response = await app.inject('/v1/data/acgs/main/health');
    expect(response.statusCode).toBe(200);
    expect(PolicyHealthResponse.parse(response.json()).result).toMatchObject({ status: 'healthy', constitutional_hash: CONSTITUTIONAL_HASH });
  });

  it('reports policy version, modes, cache, Redis and the outbox backlog in /health', async () => {
    const body = (await app.inject('/health')).json();
    const m = await metrics();
    expect(body).toMatchObject({
      status: 'healthy',
      service: 'policy-engine',
      policy: { version: m.policy_version, last_reload_error: null },
      modes: { strict: false, lockdown: false },
      redis: 'ready',
      audit_outbox: { pending: spooledEvents().length },
    });
    expect(body.policy.version).toMatch(/^[0-9a-f]{12}$/);
    expect(body.cache.l1.max).toBe(10_000);
    // What the bot's `health` reads of it (problems, modes) is the contract's PolicyEngineHealth.
    expect(PolicyEngineHealth.safeParse(body).success).toBe(true);
  });
});

describe('constitutional hash', () => {
  it.each([
    ['a wrong hash', { constitutional_hash: '0000000000000000' }, '"0000000000000000"'],
    ['a missing hash', { constitutional_hash: undefined }, 'none'],
    ['a hash of the wrong type', { constitutional_hash: 12345 }, '12345'],
    ['a wrong hash beside an unknown field', { constitutional_hash: 'bad', surprise: true }, '"bad"'],
  ])('rejects %s with HASH_MISMATCH naming the expected hash, before evaluating', async (_name, patch, shown) => {
    const before = await storedState();
    const response = await decide({ ...compliantInput({ action: 'data.write' }), ...patch });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toContain(CONSTITUTIONAL_HASH);
    expect(error.message).toContain(shown);
    expect(await storedState()).toEqual(before);
  });
});

describe('bad input', () => {
  const json = { 'content-type': 'application/json' };
  const cases: Array<[string, () => Promise<{ statusCode: number; json(): any }>, number, string, RegExp]> = [
    ['malformed JSON', () => app.inject({ method: 'POST', url: DECISION_URL, headers: json, payload: '{"input": {"action": ' }), 400, 'INVALID_JSON', /not valid JSON/],
    ['an empty JSON body', () => app.inject({ method: 'POST', url: DECISION_URL, headers: json, payload: '' }), 400, 'INVALID_JSON', /JSON/],
    ['a body that is not JSON', () => app.inject({ method: 'POST', url: DECISION_URL, headers: { 'content-type': 'text/plain' }, payload: 'action=data.read' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/],
    ['a missing input envelope', () => app.inject({ method: 'POST', url: DECISION_URL, payload: compliantInput() }), 400, 'INVALID_REQUEST', /input/],
    ['an input that is an array', () => app.inject({ method: 'POST', url: DECISION_URL, payload: { input: [compliantInput()] } }), 400, 'INVALID_REQUEST', /input/],
    ['an unknown envelope field', () => app.inject({ method: 'POST', url: DECISION_URL, payload: { input: compliantInput(), explain: 'full' } }), 400, 'INVALID_REQUEST', /explain/],
    ['an unknown input field', () => decide({ ...compliantInput(), sudo: true }), 400, 'INVALID_REQUEST', /sudo/],
    ['an unknown nested field', () => decide(compliantInput({ context: { agent: { id: 'a', trust_level: 0.9, role: 'root' } as never } })), 400, 'INVALID_REQUEST', /role/],
    ['a wrong type', () => decide(compliantInput({ context: { agent: { id: 'a', trust_level: 'high' as never } } })), 400, 'INVALID_REQUEST', /context\.agent\.trust_level/],
    ['an out-of-range trust level', () => decide(compliantInput({ context: { agent: { id: 'a', trust_level: 1.5 } } })), 400, 'INVALID_REQUEST', /trust_level/],
    ['an unknown type', () => decide(compliantInput({ type: 'root_override' as never })), 400, 'INVALID_REQUEST', /type/],
    ['an SQL-injection action name', () => decide(compliantInput({ action: "data.read' OR 1=1 --" })), 400, 'INVALID_REQUEST', /action: must be a dotted lower-case action name/],
    ['a script action name', () => decide(compliantInput({ action: '<script>alert(1)</script>' })), 400, 'INVALID_REQUEST', /action/],
    ['a shell-injection action name', () => decide(compliantInput({ action: 'data.read; rm -rf /' })), 400, 'INVALID_REQUEST', /action/],
    ['a path-traversal action name', () => decide(compliantInput({ action: '../../etc/passwd' })), 400, 'INVALID_REQUEST', /action/],
    ['an agent id with a NUL character', () => decide(compliantInput({ context: { agent: { id: 'agent\u0000-1', trust_level: 0.9 } } })), 400, 'INVALID_REQUEST', /context\.agent\.id: must start with a letter or digit/],
    ['an agent id with a space', () => decide(compliantInput({ context: { agent: { id: 'agent 1', trust_level: 0.9 } } })), 400, 'INVALID_REQUEST', /context\.agent\.id/],
    ['a script agent id', () => decide(compliantInput({ context: { agent: { id: '<script>alert(1)</script>', trust_level: 0.9 } } })), 400, 'INVALID_REQUEST', /context\.agent\.id/],
    ['an SQL-injection agent id', () => decide(compliantInput({ context: { agent: { id: "a' OR 1=1 --", trust_level: 0.9 } } })), 400, 'INVALID_REQUEST', /context\.agent\.id/],
    ['a script evolution agent id', () => decide(compliantInput({ type: 'evolution_approval', evolution_request: { agent_id: '<script>alert(1)</script>' } })), 400, 'INVALID_REQUEST', /evolution_request\.agent_id/],
    ['an injection in the query string', () => app.inject({ method: 'POST', url: `${DECISION_URL}?action=${encodeURIComponent("' OR 1=1 --")}`, payload: { input: compliantInput() } }), 400, 'INVALID_REQUEST', /querystring: Unrecognized key: "action"/],
    ['a script in the query string', () => app.inject({ method: 'POST', url: `${DECISION_URL}?q=${encodeURIComponent('<script>alert(1)</script>')}`, payload: { input: compliantInput() } }), 400, 'INVALID_REQUEST', /querystring/],
    ['an oversized body', () => decide(compliantInput({ context: { explanation: 'x'.repeat(70 * 1024) } })), 413, 'PAYLOAD_TOO_LARGE', /65536 bytes/],
    ['a GET on the decision endpoint', () => app.inject({ method: 'GET', url: DECISION_URL }), 404, 'ROUTE_NOT_FOUND', /No route GET/],
  ];

  it.each(cases)('rejects %s with a clear message and stores, counts and audits nothing', async (_name, send, status, code, message) => {
    const before = await storedState();
    const response = await send();
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.message).toMatch(message);
    expect(await storedState()).toEqual(before);
  });

  it('rejects unknown query parameters on the read endpoints too', async () => {
    for (const url of ['/v1/metrics?x=1', "/v1/data/acgs/main/health?q=' OR 1=1 --", '/v1/cache/warm?size=9999']) {
      const response = await app.inject(url);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.message).toMatch(/Unrecognized key/);
    }
  });

  it('counts rejected evaluation requests as rejected, not as server errors', async () => {
    const before = await metrics();
    await decide({ ...compliantInput(), sudo: true });
    const after = await metrics();
    expect(after.request_count).toBe(before.request_count + 1);
    expect(after.rejected_count).toBe(before.rejected_count + 1);
    expect(after.error_count).toBe(before.error_count);
  });
});

describe('metrics', () => {
  it('answers the runbook fields with server-side percentiles and rates that add up', async () => {
    for (let i = 0; i < 5; i++) await decide(compliantInput({ action: 'metrics.read' }));
    const m = await metrics();
    expect(m.percentiles.p50).toBeGreaterThan(0);
    expect(m.percentiles.p99).toBeGreaterThanOrEqual(m.percentiles.p95);
    expect(m.percentiles.p95).toBeGreaterThanOrEqual(m.percentiles.p50);
    expect(m.p99_latency_ms).toBe(m.percentiles.p99);
    const lookups = m.cache_stats.l1.hits + m.cache_stats.l1.misses;
    expect(m.l1_hit_rate).toBeCloseTo(m.cache_stats.l1.hits / lookups, 10);
    expect(m.cache_hit_rate).toBeCloseTo((m.cache_stats.l1.hits + m.cache_stats.l2.hits) / lookups, 10);
    expect(m.request_count).toBeGreaterThanOrEqual(lookups);
    expect(m.targets_met.all).toBe(m.targets_met.p99_under_1ms && m.targets_met.cache_hit_rate_over_95 && m.targets_met.error_rate_under_0_1);
    expect(m.targets_met.cache_hit_rate_over_95).toBe(m.cache_hit_rate > 0.95);
    expect(m.mode).toEqual({ strict: false, lockdown: false });
    expect(m.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
    expect(m.uptime_seconds).toBeGreaterThanOrEqual(0);
  });

  it('feeds Prometheus with decisions by result, cache hits by level, violations and the policy version', async () => {
    const m = await metrics();
    const text = (await app.inject('/metrics')).body;
    expect(text).toMatch(/policy_decisions_total\{result="allow",service="policy-engine"\} [1-9]/);
    expect(text).toMatch(/policy_decisions_total\{result="deny",service="policy-engine"\} [1-9]/);
    expect(text).toMatch(/policy_cache_hits_total\{level="l1",service="policy-engine"\} [1-9]/);
    expect(text).toContain(`policy_safety_violations_total{service="policy-engine"} ${m.safety_violations_total}`);
    expect(text).toContain(`policy_info{policy_version="${m.policy_version}",service="policy-engine"} 1`);
  });

  it('feeds Prometheus the requests by outcome and their durations, the series of the p99 and error-rate rules', async () => {
    const m = await metrics();
    const text = (await app.inject('/metrics')).body;
    const value = (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm'))?.[1]);
    const ok = value('policy_requests_total{outcome="ok",service="policy-engine"}');
    const errors = value('policy_requests_total{outcome="error",service="policy-engine"}');
    const rejected = value('policy_requests_total{outcome="rejected",service="policy-engine"}');
    expect(ok + errors + rejected).toBe(m.request_count);
    expect(errors).toBe(m.error_count);
    expect(rejected).toBe(m.rejected_count);
    // The histogram times what the p99 window times: every request but the rejected ones.
    expect(value('policy_decision_duration_seconds_count{service="policy-engine"}')).toBe(ok + errors);
    expect(text).toContain('policy_decision_duration_seconds_bucket{le="0.005",service="policy-engine"}');
  });
});

describe('cache warm-up and clearing', () => {
  it('warms the documented warm set once, without counting it as traffic or violations', async () => {
    const before = await metrics();
    const first = CacheWarmResponse.parse((await app.inject('/v1/cache/warm')).json());
    expect(first.total).toBe(WARM_SET.length);
    expect(first.warmed + first.already_cached).toBe(WARM_SET.length);
    const second = CacheWarmResponse.parse((await app.inject({ method: 'POST', url: '/v1/cache/warm' })).json());
    expect(second).toMatchObject({ warmed: 0, already_cached: WARM_SET.length });
    const after = await metrics();
    expect(after.request_count).toBe(before.request_count);
    expect(after.safety_violations_total).toBe(before.safety_violations_total);
    // Warmed entries answer real requests from L1.
    await app.inject({ method: 'POST', url: DECISION_URL, payload: { input: WARM_SET[0] } });
    expect((await metrics()).cache_stats.l1.hits).toBe(after.cache_stats.l1.hits + 1);
  });

  it('rejects a warm-up request with a body it does not know', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/cache/warm', payload: { inputs: [] } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/inputs/);
  });

  it('clears L1 and only this engine L2 keys, with the admin token', async () => {
    await decide(compliantInput({ action: 'data.export' }));
    const foreign = `${redisInfo.prefix}someone-else:decision:x`;
    await redis.set(foreign, 'keep me');
    expect((await app.inject({ method: 'POST', url: '/admin/clear-cache' })).statusCode).toBe(401);
    expect((await redis.keys(`${prefix}decision:*`)).length).toBeGreaterThan(0);
    const response = await app.inject({ method: 'POST', url: '/admin/clear-cache', headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.json().l1_cleared).toBeGreaterThan(0);
    expect(response.json().l2_cleared).toBeGreaterThan(0);
    expect((await metrics()).cache_stats.l1.size).toBe(0);
    expect(await redis.keys(`${prefix}decision:*`)).toEqual([]);
    expect(await redis.get(foreign)).toBe('keep me');
  });
});

describe('modes', () => {
  const endpoints = ['enable-strict-mode', 'disable-strict-mode', 'emergency-lockdown', 'lift-lockdown', 'reload-policy'];

  it.each(endpoints)('refuses /admin/%s without the admin token and changes nothing', async (endpoint) => {
    const before = (await metrics()).mode;
    const spooledBefore = spooledEvents().length;
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { 'x-admin-token': 'wrong' }]) {
      const response = await app.inject({ method: 'POST', url: `/admin/${endpoint}`, headers, payload: { reason: 'try' } });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
    }
    expect((await metrics()).mode).toEqual(before);
    expect(spooledEvents().length).toBe(spooledBefore);
  });

  it('denies actions outside the catalogue in strict mode only, with a separate cache entry', async () => {
    const input = compliantInput({ action: 'custom.thing' });
    expect((await decide(input)).json().result.allow).toBe(true);
    const enabled = await setMode('enable-strict-mode', { 'x-actor': 'U024BE7LH' }, { reason: 'violation spike' });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json()).toMatchObject({ modes: { strict: true, lockdown: false }, changed: true });
    const strict = (await decide(input)).json().result;
    expect(strict.allow).toBe(false);
    expect(strict.mode.strict).toBe(true);
    expect(strict.violations.map((v: { code: string }) => v.code)).toContain('unknown_action');
    expect((await metrics()).mode.strict).toBe(true);
    expect((await app.inject('/health')).json().modes.strict).toBe(true);
    const disabled = await setMode('disable-strict-mode');
    expect(disabled.json().modes.strict).toBe(false);
    expect((await decide(input)).json().result.allow).toBe(true);
  });

  it('denies everything but read-only actions in lockdown, and allows again once lifted', async () => {
    const write = compliantInput({ action: 'data.write' });
    expect((await decide(write)).json().result.allow).toBe(true);
    await setMode('emergency-lockdown');
    const locked = (await decide(write)).json().result;
    expect(locked.allow).toBe(false);
    expect(locked.violations.map((v: { code: string }) => v.code)).toContain('emergency_lockdown');
    expect((await decide(compliantInput({ action: 'health.check' }))).json().result.allow).toBe(true);
    await setMode('lift-lockdown');
    expect((await decide(write)).json().result.allow).toBe(true);
  });

  it('records each mode change as an audit event with the actor and reason', async () => {
    const spooledBefore = spooledEvents().length;
    await setMode('emergency-lockdown', { 'x-actor': 'oncall@example.com' }, { reason: 'incident 42' });
    await setMode('emergency-lockdown');
    await setMode('lift-lockdown');
    const events = spooledEvents().slice(spooledBefore);
    expect(events.map((e) => [e.event_type, e.data.mode, e.data.enabled, e.data.changed, e.data.actor])).toEqual([
      ['policy_mode_changed', 'lockdown', true, true, 'oncall@example.com'],
      ['policy_mode_changed', 'lockdown', true, false, 'admin-token'],
      ['policy_mode_changed', 'lockdown', false, true, 'admin-token'],
    ]);
    expect(events[0]!.data.reason).toBe('incident 42');
  });

  it.each([
    ['an unknown body field', {}, { reason: 'x', force: true }, /force/],
    ['an empty reason', {}, { reason: '' }, /reason/],
    ['a reason that is too long', {}, { reason: 'r'.repeat(501) }, /reason/],
    ['a script in X-Actor', { 'x-actor': '<script>alert(1)</script>' }, undefined, /x-actor/],
  ])('rejects a mode change with %s and changes nothing', async (_name, headers, payload, message) => {
    const before = (await metrics()).mode;
    const spooledBefore = spooledEvents().length;
    const response = await setMode('emergency-lockdown', headers as Record<string, string>, payload as Record<string, unknown> | undefined);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(message);
    expect((await metrics()).mode).toEqual(before);
    expect(spooledEvents().length).toBe(spooledBefore);
  });

  it('persists the modes in the state file', async () => {
    await setMode('enable-strict-mode', { 'x-actor': 'U1' });
    const file = JSON.parse(readFileSync(join(state.path, 'modes.json'), 'utf8'));
    expect(file).toMatchObject({ strict: true, lockdown: false, updated_by: 'U1' });
    expect(await redis.hgetall(`${prefix}modes`)).toMatchObject({ strict: '1', lockdown: '0' });
    await setMode('disable-strict-mode');
  });
});

describe('policy reload', () => {
  let reloadApp: Service;
  let dir: ReturnType<typeof tempDir>;
  let wasmPath: string;

  beforeAll(async () => {
    dir = tempDir('acgs-pe-reload');
    wasmPath = join(dir.path, 'policy.wasm');
    copyFileSync(policyWasmPath(), wasmPath);
    reloadApp = await buildApp(
      testConfig({ ACGS_STATE_DIR: join(dir.path, 'state'), ACGS_ADMIN_TOKEN: ADMIN, POLICY_WASM_PATH: wasmPath }),
    );
  });
  afterAll(async () => {
    await reloadApp?.close();
    dir?.remove();
  });

  const reload = () => reloadApp.inject({ method: 'POST', url: '/admin/reload-policy', headers: auth });
  const version = async () => (await reloadApp.inject('/v1/metrics')).json().policy_version as string;

  it('reports an unchanged policy', async () => {
    const response = await reload();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'unchanged', policy_version: await version(), previous_version: await version() });
  });

  it('keeps serving the old policy when the new wasm is broken, and says so', async () => {
    const before = await version();
    writeFileSync(wasmPath, 'corrupted by a half-finished copy');
    const response = await reload();
    expect(response.statusCode).toBe(500);
    expect(response.json().error.code).toBe('POLICY_RELOAD_FAILED');
    expect(response.json().error.message).toContain(`still serving policy version ${before}`);
    expect(await version()).toBe(before);
    const decision = await reloadApp.inject({ method: 'POST', url: DECISION_URL, payload: { input: compliantInput() } });
    expect(decision.json().result.allow).toBe(true);
    const health = (await reloadApp.inject('/health')).json();
    expect(health.status).toBe('degraded');
    expect(health.policy.last_reload_error.message).toMatch(/not a loadable OPA wasm module/);
  });

  it('switches to a new policy without a restart, clearing L1 and auditing the reload', async () => {
    const before = await version();
    await reloadApp.inject({ method: 'POST', url: DECISION_URL, payload: { input: compliantInput() } });
    writeFileSync(wasmPath, buildWasm(DENY_ALL_REGO));
    const response = await reload();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'reloaded', previous_version: before });
    expect(await version()).toBe(response.json().policy_version);
    expect((await reloadApp.inject('/v1/metrics')).json().cache_stats.l1.size).toBe(0);
    const decision = await reloadApp.inject({ method: 'POST', url: DECISION_URL, payload: { input: compliantInput() } });
    expect(decision.json().result).toMatchObject({ allow: false, reasons: ['deny-all test policy'] });
    expect((await reloadApp.inject('/health')).json().status).toBe('healthy');
    const spool = readFileSync(join(dir.path, 'state', 'audit-outbox', 'outbox.jsonl'), 'utf8');
    expect(spool).toContain('"event_type":"policy_reloaded"');
  });
});
