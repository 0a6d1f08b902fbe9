import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { requireRedis } from '../../test/testing/redis.js';
import {
  ApprovalStoreUnavailableError,
  createApprovalStore,
  localApprovalSignals,
  redisApprovalSignals,
  startExpiryScheduler,
  type ApprovalRequest,
  type ApprovalSignals,
  type ExpiryScheduler,
} from './index.js';
import { approvalTestDatabase, approver, scaleRequest, type ApprovalTestDatabase } from './testing/fixtures.js';

let database: ApprovalTestDatabase;
let redis: Awaited<ReturnType<typeof requireRedis>>;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  database = await approvalTestDatabase();
  redis = await requireRedis();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  await redis?.cleanup();
  await database?.close();
});

function scheduler(options: Parameters<typeof startExpiryScheduler>[0]): ExpiryScheduler {
  const started = startExpiryScheduler(options);
  cleanups.push(() => started.stop());
  return started;
}

function redisSignals(onError?: (error: unknown) => void): { signals: ApprovalSignals; client: Redis } {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const signals = redisApprovalSignals(client, { channel: `${redis.prefix}approvals`, ...(onError ? { onError } : {}) });
  cleanups.push(() => client.disconnect());
  cleanups.push(() => signals.close());
  return { signals, client };
}

/** Collects what a scheduler reports, with the wall-clock time of each report. */
function expiries() {
  const seen: Array<{ request: ApprovalRequest; at: number }> = [];
  return {
    seen,
    onExpired: (requests: ApprovalRequest[]) => {
      for (const request of requests) seen.push({ request, at: Date.now() });
    },
    async waitFor(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (seen.length < count && Date.now() < deadline) await sleep(10);
      return seen;
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('the expiry scheduler', () => {
  it('expires a request at its expiry, not before, reports it once and stops timing it', async () => {
    const signals = localApprovalSignals();
    const store = createApprovalStore({ pool: database.pool(), signals });
    const reported = expiries();
    const timer = scheduler({ store, signals, onExpired: reported.onExpired });
    await timer.ready;

    const request = (await store.create(scaleRequest({ expiresInMs: 400 }))).request!;
    expect(timer.tracked().map((entry) => entry.id)).toContain(request.id);
    const [first] = await reported.waitFor(1);
    expect(first!.request).toMatchObject({ id: request.id, state: 'expired' });
    expect(first!.at).toBeGreaterThanOrEqual(request.expiresAt.getTime());
    expect((await store.get(request.id))?.state).toBe('expired');
    expect(timer.tracked()).toEqual([]);
    await sleep(100);
    expect(reported.seen).toHaveLength(1);
  });

  it('resumes the expiry of a request made before a restart, from PostgreSQL alone', async () => {
    const before = database.pool();
    const request = (await createApprovalStore({ pool: before }).create(scaleRequest({ expiresInMs: 700 }))).request!;
    await before.end();

    // The restarted bot: a new pool, a new store, a new scheduler, no signals.
    const store = createApprovalStore({ pool: database.pool() });
    const reported = expiries();
    const timer = scheduler({ store, onExpired: reported.onExpired });
    await timer.ready;
    expect(timer.tracked().map((entry) => entry.id)).toContain(request.id);
    const seen = await reported.waitFor(1);
    expect(seen.map((entry) => entry.request.id)).toEqual([request.id]);
    expect(seen[0]!.at).toBeGreaterThanOrEqual(request.expiresAt.getTime());
  });

  it('expires at once, on start, a request whose expiry passed while the bot was down', async () => {
    const store = createApprovalStore({ pool: database.pool() });
    const request = (await store.create(scaleRequest({ expiresInMs: 50 }))).request!;
    await sleep(150);
    const reported = expiries();
    const startedAt = Date.now();
    scheduler({ store, onExpired: reported.onExpired });
    const seen = await reported.waitFor(1);
    expect(seen.map((entry) => entry.request.id)).toEqual([request.id]);
    expect(seen[0]!.at - startedAt).toBeLessThan(2_000);
  });

  it('lets exactly one of two replicas report an expiry both were timing', async () => {
    const creator = createApprovalStore({ pool: database.pool() });
    const request = (await creator.create(scaleRequest({ expiresInMs: 500 }))).request!;
    const reported = expiries();
    const replicas = [0, 1].map(() => scheduler({ store: createApprovalStore({ pool: database.pool() }), onExpired: reported.onExpired }));
    await Promise.all(replicas.map((replica) => replica.ready));
    for (const replica of replicas) expect(replica.tracked().map((entry) => entry.id)).toContain(request.id);
    await reported.waitFor(1);
    await sleep(300);
    expect(reported.seen.filter((entry) => entry.request.id === request.id)).toHaveLength(1);
  });

  it('never reports a request that was decided before its expiry', async () => {
    const signals = localApprovalSignals();
    const store = createApprovalStore({ pool: database.pool(), signals });
    const reported = expiries();
    const timer = scheduler({ store, signals, onExpired: reported.onExpired });
    await timer.ready;
    const request = (await store.create(scaleRequest({ expiresInMs: 300 }))).request!;
    await store.vote(request.id, approver(1), ['approvers'], 'approve');
    expect(timer.tracked().map((entry) => entry.id)).not.toContain(request.id);
    await sleep(500);
    expect(reported.seen.map((entry) => entry.request.id)).not.toContain(request.id);
    expect((await store.get(request.id))?.state).toBe('approved');
  });

  it('times a request it is told about without any signals', async () => {
    const store = createApprovalStore({ pool: database.pool() });
    const reported = expiries();
    const timer = scheduler({ store, onExpired: reported.onExpired, resyncIntervalMs: 3_600_000 });
    await timer.ready;
    const request = (await store.create(scaleRequest({ expiresInMs: 200 }))).request!;
    timer.track(request);
    const seen = await reported.waitFor(1);
    expect(seen.map((entry) => entry.request.id)).toEqual([request.id]);
  });

  it('reports a failure of PostgreSQL at expiry time and expires the request once the database answers again', async () => {
    const store = createApprovalStore({ pool: database.pool() });
    const dead = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/acgs', max: 1, applicationName: 'acgs-approvals-test' });
    cleanups.push(() => dead.end());
    const offline = createApprovalStore({ pool: dead });
    let outage = true;
    // The scheduler's store: the real one, except that it reaches PostgreSQL through a pool to a
    // closed port while the outage lasts.
    const flaky = {
      pending: () => store.pending(),
      expireDue: (now?: Date) => (outage ? offline.expireDue(now) : store.expireDue(now)),
    };
    const errors: unknown[] = [];
    const reported = expiries();
    const request = (await store.create(scaleRequest({ expiresInMs: 200 }))).request!;
    const timer = scheduler({ store: flaky, onExpired: reported.onExpired, onError: (error) => errors.push(error), retryDelayMs: 200 });
    await timer.ready;
    await until(() => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(ApprovalStoreUnavailableError);
    expect(reported.seen).toEqual([]);
    expect(timer.tracked().map((entry) => entry.id)).toContain(request.id);
    outage = false;
    const seen = await reported.waitFor(1);
    expect(seen.map((entry) => entry.request.id)).toEqual([request.id]);
  });
});

describe('replicas woken through Redis', () => {
  it('expires on time, on another replica, a request whose creating replica has no scheduler', async () => {
    const a = redisSignals();
    const b = redisSignals();
    await Promise.all([a.signals.ready(), b.signals.ready()]);
    const creator = createApprovalStore({ pool: database.pool(), signals: a.signals });
    const reported = expiries();
    // Replica B would only find the request at its next resync, an hour away, without the signal.
    const timer = scheduler({ store: createApprovalStore({ pool: database.pool() }), signals: b.signals, onExpired: reported.onExpired, resyncIntervalMs: 3_600_000 });
    await timer.ready;

    const request = (await creator.create(scaleRequest({ expiresInMs: 600 }))).request!;
    await until(() => timer.tracked().some((entry) => entry.id === request.id));
    const seen = await reported.waitFor(1);
    expect(seen.map((entry) => entry.request.id)).toEqual([request.id]);
    expect(seen[0]!.at).toBeGreaterThanOrEqual(request.expiresAt.getTime());
    expect(seen[0]!.at - request.expiresAt.getTime()).toBeLessThan(1_000);
  });

  it('drops the timer on every replica when a request is decided elsewhere', async () => {
    const a = redisSignals();
    const b = redisSignals();
    await Promise.all([a.signals.ready(), b.signals.ready()]);
    const creator = createApprovalStore({ pool: database.pool(), signals: a.signals });
    const timer = scheduler({ store: createApprovalStore({ pool: database.pool() }), signals: b.signals, onExpired: () => undefined, resyncIntervalMs: 3_600_000 });
    await timer.ready;
    const request = (await creator.create(scaleRequest())).request!;
    await until(() => timer.tracked().some((entry) => entry.id === request.id));
    await creator.cancel(request.id, request.requester);
    await until(() => !timer.tracked().some((entry) => entry.id === request.id));
  });

  it('ignores and reports a malformed message on the channel, and keeps working', async () => {
    const errors: unknown[] = [];
    const listener = redisSignals((error) => errors.push(error));
    const publisher = redisSignals();
    await Promise.all([listener.signals.ready(), publisher.signals.ready()]);
    const heard: unknown[] = [];
    listener.signals.subscribe((signal) => heard.push(signal));

    await publisher.client.publish(`${redis.prefix}approvals`, 'not json');
    await publisher.client.publish(`${redis.prefix}approvals`, JSON.stringify({ type: 'created', id: 'x', expiresAt: 'tomorrow' }));
    await until(() => errors.length === 2);
    expect(String(errors[1])).toMatch(/ignored a malformed approval signal/);
    await publisher.signals.publish({ type: 'settled', id: 'after-the-noise' });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ type: 'settled', id: 'after-the-noise' }]);
  });

  it('still creates and decides requests when Redis is down: signals are hints, PostgreSQL decides', async () => {
    const errors: unknown[] = [];
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    // The owner of a Redis client listens for its errors (the bot's main does); the signals report theirs.
    down.on('error', () => undefined);
    cleanups.push(() => down.disconnect());
    const signals = redisApprovalSignals(down, { onError: (error) => errors.push(error) });
    cleanups.push(() => signals.close());
    const store = createApprovalStore({ pool: database.pool() as pg.Pool, signals });
    const request = (await store.create(scaleRequest())).request!;
    expect((await store.vote(request.id, approver(1), ['approvers'], 'approve')).code).toBe('approved');
    expect((await store.claimExecution(request.id)).code).toBe('claimed');
    expect(errors.length).toBeGreaterThan(0);
  });
});
