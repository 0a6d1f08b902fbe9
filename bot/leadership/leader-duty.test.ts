/**
 * Leader duties on the real PostgreSQL, two "replicas" as two pools with short leases: one runs
 * the duty, a holder that stops renewing loses it by its own clock before another replica takes
 * over (within one lease period, with a greater fencing token), and a stop hands it over at once.
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createLeaderDuty, type LeaderDuty, type LeaderDutyEvent } from './leader-duty.js';
import { createLeaseStore, migrateLeaseStore, type LeaseStore } from './lease-store.js';

const LEASE_MS = 1500;
const RENEW_EVERY_MS = 300;

let db: TestDatabase;
let poolA: pg.Pool;
let poolB: pg.Pool;
const duties: LeaderDuty[] = [];

beforeAll(async () => {
  db = await createTestDatabase('acgs_leader_duty');
  poolA = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-duty-a' });
  poolB = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-duty-b' });
  await migrateLeaseStore(poolA);
});
afterAll(async () => {
  await poolA?.end();
  await poolB?.end();
  await db?.drop();
});
beforeEach(async () => {
  await poolA.query('TRUNCATE leadership_leases');
});
afterEach(async () => {
  await Promise.all(duties.splice(0).map((duty) => duty.stop()));
});

interface Replica {
  name: string;
  duty: LeaderDuty;
  events: Array<LeaderDutyEvent & { at: number }>;
  /** Started and stopped duty runs: [start, stop] times. */
  runs: Array<{ startedAt: number; stoppedAt?: number; aborted?: boolean }>;
  errors: string[];
  next(kind: LeaderDutyEvent['kind']): Promise<LeaderDutyEvent & { at: number }>;
}

function replica(name: string, leases: LeaseStore, start?: () => void): Replica {
  const waiting: Array<{ kind: string; resolve: (event: LeaderDutyEvent & { at: number }) => void }> = [];
  const self: Omit<Replica, 'duty'> & { duty?: LeaderDuty } = {
    name,
    events: [],
    runs: [],
    errors: [],
    next: (kind) => new Promise((resolve) => waiting.push({ kind, resolve })),
  };
  self.duty = createLeaderDuty({
    leases,
    name: 'alert-monitor',
    holder: name,
    leaseMs: LEASE_MS,
    renewEveryMs: RENEW_EVERY_MS,
    start: ({ signal }) => {
      start?.();
      const run: Replica['runs'][number] = { startedAt: performance.now() };
      self.runs.push(run);
      signal.addEventListener('abort', () => (run.aborted = true));
      return { stop: async () => void (run.stoppedAt = performance.now()) };
    },
    onEvent: (event) => {
      const stamped = { ...event, at: performance.now() };
      self.events.push(stamped);
      for (const waiter of waiting.filter((entry) => entry.kind === event.kind)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(stamped);
      }
    },
    onError: (error, what) => self.errors.push(`${what}: ${(error as Error).message}`),
  });
  duties.push(self.duty);
  return self as Replica;
}

/** A lease store whose renewals fail from the moment it is cut off: PostgreSQL unreachable for that replica. */
function cuttable(store: LeaseStore): LeaseStore & { cut(): void } {
  let cut = false;
  return {
    ...store,
    acquire: (...args) => (cut ? Promise.reject(new Error('connection refused')) : store.acquire(...args)),
    renew: (...args) => (cut ? Promise.reject(new Error('connection refused')) : store.renew(...args)),
    cut: () => void (cut = true),
  };
}

it('runs the duty on exactly one of two replicas', async () => {
  const a = replica('replica-a', createLeaseStore(poolA));
  const b = replica('replica-b', createLeaseStore(poolB));
  const first = await Promise.race([a.next('leading').then(() => a), b.next('leading').then(() => b)]);
  const other = first === a ? b : a;
  // Several renewals later the other still has not led, and the leader still holds the same term.
  const token = first.duty.leading()!.fencingToken;
  for (let renewals = 0; renewals < 4; renewals++) await poolA.query('SELECT pg_sleep($1)', [RENEW_EVERY_MS / 1000]);
  expect(other.runs).toEqual([]);
  expect(other.duty.leading()).toBeUndefined();
  expect(first.runs).toHaveLength(1);
  expect(first.duty.leading()!.fencingToken).toBe(token);
  expect([...a.errors, ...b.errors]).toEqual([]);
});

it('a holder that stops renewing stops its duty by its own clock; the other takes over within one lease period, with a greater token', async () => {
  const storeA = cuttable(createLeaseStore(poolA));
  const a = replica('replica-a', storeA);
  const leading = await a.next('leading');
  const b = replica('replica-b', createLeaseStore(poolB));
  const cutAt = performance.now();
  storeA.cut();
  const lost = await a.next('lost');
  const taken = await b.next('leading');
  expect(lost).toMatchObject({ kind: 'lost', reason: 'the lease ran out before it could be renewed' });
  expect(a.runs[0]).toMatchObject({ aborted: true });
  // Never two at once: A's duty had stopped before B's started.
  expect(a.runs[0]!.stoppedAt!).toBeLessThanOrEqual(b.runs[0]!.startedAt);
  // The lease ends at most LEASE_MS after the cut (the last renewal was before it), and B tries every RENEW_EVERY_MS;
  // the rest is the queries' own time on a busy machine.
  expect(taken.at - cutAt).toBeLessThanOrEqual(LEASE_MS + RENEW_EVERY_MS + 500);
  expect(BigInt(b.duty.leading()!.fencingToken)).toBeGreaterThan(BigInt(leading.kind === 'leading' ? leading.lease.fencingToken : 0));
  expect(a.errors.some((line) => line.startsWith('renewing the lease alert-monitor: connection refused'))).toBe(true);
});

it('a holder whose lease another replica took (a long pause) finds out at its next renewal and stops', async () => {
  const a = replica('replica-a', createLeaseStore(poolA));
  await a.next('leading');
  // What a replica paused past its lease would find: the row already belongs to another term.
  await poolB.query("UPDATE leadership_leases SET holder = 'replica-z', fencing_token = fencing_token + 1");
  const lost = await a.next('lost');
  expect(lost).toMatchObject({ reason: 'the lease ran out or another replica holds it now' });
  expect(a.runs[0]).toMatchObject({ aborted: true });
  expect(a.duty.leading()).toBeUndefined();
});

it('a stopped holder lets the lease go, and the other replica takes over at its next try', async () => {
  const a = replica('replica-a', createLeaseStore(poolA));
  await a.next('leading');
  const b = replica('replica-b', createLeaseStore(poolB));
  const stoppedAt = performance.now();
  await a.duty.stop();
  expect(a.events.map((event) => event.kind)).toEqual(['leading', 'released']);
  expect(a.runs[0]).toMatchObject({ aborted: true });
  const taken = await b.next('leading');
  expect(taken.at - stoppedAt).toBeLessThanOrEqual(RENEW_EVERY_MS + 500);
  expect(taken.kind === 'leading' && taken.lease.fencingToken).toBe('2');
});

it('a duty that cannot start gives the lease back and is tried again', async () => {
  let attempts = 0;
  const errors: string[] = [];
  const leases = createLeaseStore(poolA);
  let released!: () => void;
  const givenBack = new Promise<void>((resolve) => (released = resolve));
  let secondTry!: () => void;
  const triedAgain = new Promise<void>((resolve) => (secondTry = resolve));
  duties.push(
    createLeaderDuty({
      leases,
      name: 'alert-monitor',
      holder: 'replica-a',
      leaseMs: LEASE_MS,
      renewEveryMs: RENEW_EVERY_MS,
      start: () => {
        attempts += 1;
        if (attempts === 2) secondTry();
        throw new Error('the stack is not reachable');
      },
      onEvent: (event) => {
        if (event.kind === 'released' && attempts === 1) released();
      },
      onError: (error, what) => errors.push(`${what}: ${(error as Error).message}`),
    }),
  );
  await givenBack;
  expect(errors).toEqual(['starting alert-monitor: the stack is not reachable']);
  expect(await leases.current('alert-monitor')).toMatchObject({ live: false, fencingToken: '1' });
  await triedAgain;
});

it('refuses a renewal too rare for its lease', () => {
  expect(() => createLeaderDuty({ leases: createLeaseStore(poolA), name: 'alert-monitor', holder: 'a', leaseMs: 1000, renewEveryMs: 500, start: () => undefined, onError: () => undefined })).toThrow(
    /renew at least twice per lease/,
  );
});
