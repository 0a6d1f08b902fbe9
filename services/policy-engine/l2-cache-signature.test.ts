/**
 * Replicas of the real Policy Engine app sharing the L2 decision cache through the real Redis
 * (db 12): someone who can write to Redis, but has no admin token, plants an "allow" for an
 * input the constitution denies. No replica may serve it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import type { PolicyInputInit } from '../clients/policy-engine.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { PolicyInput, PolicyMetrics } from './contract.js';
import { decisionCacheKey } from './decision-cache.js';
import { deriveL2SigningKey, openL2Entry, sealL2Entry } from './l2-entry-signature.js';
import { compliantInput, dangerousInput, eventually, tempDir, testConfig } from './testing/policy-fixtures.js';

const ADMIN = 'l2-signature-test-admin-token-0123456789abcdef';
const OTHER_ADMIN = 'another-replica-set-admin-token-0123456789ab';

interface Engine {
  app: Service;
  logs: string[];
  state: ReturnType<typeof tempDir>;
}

let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
let redis: Redis;
const engines: Engine[] = [];

beforeAll(async () => {
  redisInfo = await requireRedis({ db: 12 });
  redis = new Redis(redisInfo.url);
});

afterAll(async () => {
  for (const engine of engines) {
    await engine.app.close();
    engine.state.remove();
  }
  redis?.disconnect();
  await redisInfo?.cleanup();
});

/** A replica with an empty L1 that always asks L2 on a miss (as a dearer policy would). */
async function startEngine(namespace: string, adminToken: string | null = ADMIN): Promise<Engine> {
  const logs: string[] = [];
  const state = tempDir('acgs-pe-l2-signature');
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = await buildApp(
    testConfig({
      ACGS_STATE_DIR: state.path,
      REDIS_URL: redisInfo.url,
      REDIS_KEY_PREFIX: `${redisInfo.prefix}${namespace}:`,
      POLICY_L2_LOOKUP_MIN_EVAL_MS: '0',
      ...(adminToken ? { ACGS_ADMIN_TOKEN: adminToken } : {}),
    }),
    { logger: { level: 'info', stream } },
  );
  const engine = { app, logs, state };
  engines.push(engine);
  return engine;
}

async function decide(engine: Engine, input: PolicyInputInit): Promise<{ allow: boolean }> {
  const response = await engine.app.inject({ method: 'POST', url: '/v1/data/acgs/main/decision', payload: { input } });
  expect(response.statusCode).toBe(200);
  return response.json().result;
}

async function metrics(engine: Engine): Promise<PolicyMetrics> {
  return PolicyMetrics.parse((await engine.app.inject('/v1/metrics')).json());
}

/** The Redis name of the L2 entry of `input`, once the engine's background write has arrived. */
async function entryName(engine: Engine, namespace: string, input: PolicyInputInit): Promise<string> {
  const key = decisionCacheKey(PolicyInput.parse(input), engine.app.policy.version, engine.app.policy.appliedModes);
  let name: string | undefined;
  await eventually(async () => {
    name = (await redis.keys(`${redisInfo.prefix}${namespace}:decision:*`)).find((candidate) => candidate.endsWith(`:${key}`));
    expect(name).toBeDefined();
  });
  return name!;
}

function cacheKeyOf(name: string): string {
  return name.slice(name.lastIndexOf(':') + 1);
}

/** Audit events waiting in an engine's outbox spool (no Audit Engine listens in these tests). */
function spooled(engine: Engine, eventType: string): Array<Record<string, any>> {
  const path = join(engine.state.path, 'audit-outbox', 'outbox.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((event) => event.event_type === eventType);
}

describe('the L2 decision cache against a Redis writer without the admin token', () => {
  const forgeries: Array<[string, string, string, (allowJson: string, deniedName: string, allowedName: string) => Promise<string>]> = [
    ['without a MAC', 'no-mac', 'unsigned', async (allowJson) => allowJson],
    [
      'with a MAC made with another key',
      'other-key',
      'wrong MAC',
      async (allowJson, deniedName) => sealL2Entry(deriveL2SigningKey(OTHER_ADMIN), cacheKeyOf(deniedName), allowJson),
    ],
    ['copied from the valid entry of another input', 'copied', 'wrong MAC', async (_allowJson, _deniedName, allowedName) => (await redis.get(allowedName))!],
  ];

  it.each(forgeries)('a planted "allow" %s is never served: a fresh replica denies, counts, logs and audits it', async (_label, namespace, problem, forge) => {
    const first = await startEngine(namespace);
    expect((await decide(first, dangerousInput())).allow).toBe(false);
    const allowed = await decide(first, compliantInput());
    expect(allowed.allow).toBe(true);
    const deniedName = await entryName(first, namespace, dangerousInput());
    const allowedName = await entryName(first, namespace, compliantInput());

    await redis.set(deniedName, await forge(JSON.stringify(allowed), deniedName, allowedName), 'EX', 3600);

    const fresh = await startEngine(namespace);
    expect((await decide(fresh, dangerousInput())).allow).toBe(false);
    const stats = (await metrics(fresh)).cache_stats.l2;
    expect(stats).toMatchObject({ enabled: true, hits: 0, rejected: 1 });
    expect((await fresh.app.inject('/metrics')).body).toMatch(/^policy_cache_l2_rejected_total{service="policy-engine"} 1$/m);
    const warnings = fresh.logs.filter((line) => line.includes('refused an L2 decision cache entry'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, problem, cache_key: cacheKeyOf(deniedName) });
    expect(spooled(fresh, 'policy_cache_entry_rejected')).toEqual([
      expect.objectContaining({
        severity: 'critical',
        data: expect.objectContaining({ cache_key: cacheKeyOf(deniedName), problem, refused_since_last_event: 1 }),
      }),
    ]);

    // Asked again, the replica answers from L1 (its own evaluation) and reports nothing more.
    expect((await decide(fresh, dangerousInput())).allow).toBe(false);
    expect((await metrics(fresh)).cache_stats.l2.rejected).toBe(1);
    // The real decision, signed, replaces the forgery in Redis.
    await eventually(async () => {
      const opened = openL2Entry(deriveL2SigningKey(ADMIN), cacheKeyOf(deniedName), (await redis.get(deniedName))!);
      expect(opened.ok && JSON.parse(opened.json).allow).toBe(false);
    });
  });

  it('a replica with the same admin token serves a signed entry as an L2 hit; one with another token evaluates instead', async () => {
    const namespace = 'shared';
    const first = await startEngine(namespace);
    expect((await decide(first, compliantInput())).allow).toBe(true);
    await entryName(first, namespace, compliantInput());

    const sameToken = await startEngine(namespace);
    expect((await decide(sameToken, compliantInput())).allow).toBe(true);
    expect((await metrics(sameToken)).cache_stats.l2).toMatchObject({ hits: 1, misses: 0 });

    // Its entries live under another key id: a plain miss, not reported as forged.
    const otherToken = await startEngine(namespace, OTHER_ADMIN);
    expect((await decide(otherToken, compliantInput())).allow).toBe(true);
    expect((await metrics(otherToken)).cache_stats.l2).toMatchObject({ hits: 0, misses: 1, rejected: 0 });
  });

  it('a replica without the admin token neither reads nor writes L2, and says so at start', async () => {
    const namespace = 'tokenless';
    const first = await startEngine(namespace);
    expect((await decide(first, dangerousInput())).allow).toBe(false);
    const deniedName = await entryName(first, namespace, dangerousInput());
    const planted = JSON.stringify({ ...(await decide(first, compliantInput())), reasons: ['planted'] });
    await redis.set(deniedName, planted, 'EX', 3600);
    const keysBefore = (await redis.keys(`${redisInfo.prefix}${namespace}:*`)).sort();

    const tokenless = await startEngine(namespace, null);
    expect(tokenless.logs.join('')).toContain('no ACGS_ADMIN_TOKEN: the L2 decision cache is off');
    expect((await decide(tokenless, dangerousInput())).allow).toBe(false);
    expect((await decide(tokenless, compliantInput({ action: 'model.infer' }))).allow).toBe(true);
    expect((await metrics(tokenless)).cache_stats.l2).toEqual({ enabled: false, hits: 0, misses: 0, errors: 0, bypassed: 0, rejected: 0 });
    // Give a background write the chance it would have had.
    await new Promise((resolve) => setImmediate(resolve));
    await tokenless.app.inject('/health');
    expect((await redis.keys(`${redisInfo.prefix}${namespace}:*`)).sort()).toEqual(keysBefore);
    expect(await redis.get(deniedName)).toBe(planted);
  });
});
