/**
 * Two replicas of the real Policy Engine app sharing their modes through the real Redis (db 11):
 * what someone with write access to Redis, but not the admin token, can and cannot do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { PolicyMetrics } from './contract.js';
import { compliantInput, eventually, tempDir, testConfig } from './testing/policy-fixtures.js';

const ADMIN = 'shared-modes-test-admin-token-0123456789abcdef';

interface Replica {
  app: Service;
  state: ReturnType<typeof tempDir>;
}

let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
let redis: Redis;
let prefix: string;
const replicas: Replica[] = [];

async function startReplica(): Promise<Replica> {
  const state = tempDir('acgs-pe-shared-modes');
  const app = await buildApp(
    testConfig({
      ACGS_STATE_DIR: state.path,
      ACGS_ADMIN_TOKEN: ADMIN,
      REDIS_URL: redisInfo.url,
      REDIS_KEY_PREFIX: prefix,
      // Fast convergence, so that waiting for it takes milliseconds.
      MODE_SYNC_INTERVAL_MS: '50',
    }),
  );
  const replica = { app, state };
  replicas.push(replica);
  return replica;
}

beforeAll(async () => {
  redisInfo = await requireRedis({ db: 11 });
  prefix = `${redisInfo.prefix}pe:`;
  redis = new Redis(redisInfo.url);
});

afterAll(async () => {
  for (const replica of replicas) {
    await replica.app.close();
    replica.state.remove();
  }
  redis?.disconnect();
  await redisInfo?.cleanup();
});

/** Audit events waiting in a replica's outbox spool (the Audit Engine is unreachable here). */
function spooled(replica: Replica, eventType: string): Array<Record<string, any>> {
  const path = join(replica.state.path, 'audit-outbox', 'outbox.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((event) => event.event_type === eventType);
}

async function modes(replica: Replica) {
  return PolicyMetrics.parse((await replica.app.inject('/v1/metrics')).json()).mode;
}

async function allowsWrites(replica: Replica): Promise<boolean> {
  const response = await replica.app.inject({ method: 'POST', url: '/v1/data/acgs/main/decision', payload: { input: compliantInput({ action: 'data.write' }) } });
  return response.json().result.allow;
}

describe('modes shared between replicas through Redis', () => {
  let admin: Replica;
  let other: Replica;

  beforeAll(async () => {
    admin = await startReplica();
    other = await startReplica();
  });

  it('brings a lockdown declared on one replica to the other, which audits that it took it', async () => {
    const response = await admin.app.inject({
      method: 'POST',
      url: '/admin/emergency-lockdown',
      headers: { authorization: `Bearer ${ADMIN}`, 'x-actor': 'oncall@example.com' },
      payload: { reason: 'incident 14' },
    });
    expect(response.statusCode).toBe(200);
    await eventually(async () => expect((await modes(other)).lockdown).toBe(true));
    expect(await allowsWrites(other)).toBe(false);
    expect(spooled(other, 'policy_mode_adopted')).toEqual([
      expect.objectContaining({ severity: 'warning', data: expect.objectContaining({ mode: 'lockdown', enabled: true, origin: 'explicit' }) }),
    ]);
  });

  it('keeps the lockdown on every replica when someone with Redis access lifts it with an unsigned HSET, and audits the attempt', async () => {
    await redis.hset(`${prefix}modes`, { lockdown: '0', lockdown_origin: 'explicit' });
    const rejected = () => [...spooled(admin, 'policy_mode_change_rejected'), ...spooled(other, 'policy_mode_change_rejected')];
    await eventually(() => expect(rejected().length).toBeGreaterThan(0));
    expect(rejected()[0]).toMatchObject({ severity: 'critical', data: { mode: 'lockdown', kept: true, seen: { value: '0', origin: 'explicit' } } });
    // The replica that saw it first put the signed lockdown back.
    await eventually(async () => expect(await redis.hget(`${prefix}modes`, 'lockdown')).toBe('1'));
    // Several sync intervals later, neither replica has lifted anything.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const replica of [admin, other]) {
      expect(await modes(replica)).toEqual({ strict: false, lockdown: true });
      expect(await allowsWrites(replica)).toBe(false);
    }
    expect(spooled(other, 'policy_mode_adopted')).toHaveLength(1);
  });

  it('lifts the lockdown on every replica through the admin endpoint', async () => {
    const response = await other.app.inject({ method: 'POST', url: '/admin/lift-lockdown', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.statusCode).toBe(200);
    await eventually(async () => expect((await modes(admin)).lockdown).toBe(false));
    expect(await allowsWrites(admin)).toBe(true);
    expect(spooled(admin, 'policy_mode_adopted').at(-1)).toMatchObject({ data: { mode: 'lockdown', enabled: false, origin: 'explicit' } });
  });
});
