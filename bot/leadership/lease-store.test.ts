/**
 * Leases on the real PostgreSQL, two "replicas" as two pools: one holder at a time however they
 * race, the fencing token grows on every takeover, and a lease that ran out is taken over.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createLeaseStore, migrateLeaseStore, type LeaseStore } from './lease-store.js';

let db: TestDatabase;
let poolA: pg.Pool;
let poolB: pg.Pool;
let a: LeaseStore;
let b: LeaseStore;

beforeAll(async () => {
  db = await createTestDatabase('acgs_leases');
  poolA = createPool({ databaseUrl: db.url, max: 8, applicationName: 'acgs-leases-a' });
  poolB = createPool({ databaseUrl: db.url, max: 8, applicationName: 'acgs-leases-b' });
  expect(await migrateLeaseStore(poolA)).toEqual(['1767300000000_leadership-leases']);
  expect(await migrateLeaseStore(poolB)).toEqual([]);
  a = createLeaseStore(poolA);
  b = createLeaseStore(poolB);
});
afterAll(async () => {
  await poolA?.end();
  await poolB?.end();
  await db?.drop();
});
beforeEach(async () => {
  await poolA.query('TRUNCATE leadership_leases');
});

it('gives the lease to exactly one of many replicas asking at once', async () => {
  const tries = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).acquire('alert-monitor', `replica-${i}`, 10_000)));
  const winners = tries.filter((lease) => lease !== undefined);
  expect(winners).toHaveLength(1);
  expect(winners[0]!.fencingToken).toBe('1');
  expect(await a.current('alert-monitor')).toMatchObject({ holder: winners[0]!.holder, live: true, fencingToken: '1' });
});

it('renews for its holder only, keeping the token; another holder cannot renew or take it while it is live', async () => {
  const held = (await a.acquire('alert-monitor', 'replica-a', 10_000))!;
  expect(await b.acquire('alert-monitor', 'replica-b', 10_000)).toBeUndefined();
  expect(await b.renew({ ...held, holder: 'replica-b' }, 10_000)).toBeUndefined();
  const renewed = (await a.renew(held, 10_000))!;
  expect(renewed.fencingToken).toBe('1');
  expect(renewed.expiresAt.getTime()).toBeGreaterThanOrEqual(held.expiresAt.getTime());
  // Asking again as the holder is a renewal, not a new term.
  expect((await a.acquire('alert-monitor', 'replica-a', 10_000))!.fencingToken).toBe('1');
});

it('lets another replica take a lease that ran out, with a greater token; the old holder can no longer renew it', async () => {
  const held = (await a.acquire('alert-monitor', 'replica-a', 200))!;
  // The lease's own end, by the database's clock: wait for it rather than guess.
  await poolB.query("SELECT pg_sleep(GREATEST(0, EXTRACT(EPOCH FROM ($1::timestamptz - clock_timestamp())) + 0.02))", [held.expiresAt]);
  const taken = (await b.acquire('alert-monitor', 'replica-b', 10_000))!;
  expect(taken).toMatchObject({ holder: 'replica-b', fencingToken: '2' });
  expect(await a.renew(held, 10_000)).toBeUndefined();
  expect(await a.acquire('alert-monitor', 'replica-a', 10_000)).toBeUndefined();
});

it('hands a released lease over at once, and a release by a former holder changes nothing', async () => {
  const held = (await a.acquire('alert-monitor', 'replica-a', 10_000))!;
  await a.release(held);
  expect(await a.current('alert-monitor')).toMatchObject({ live: false });
  const taken = (await b.acquire('alert-monitor', 'replica-b', 10_000))!;
  expect(taken.fencingToken).toBe('2');
  await a.release(held);
  expect(await b.current('alert-monitor')).toMatchObject({ holder: 'replica-b', live: true });
  // Even its former holder starts a new term after the lease changed hands.
  await b.release(taken);
  expect((await a.acquire('alert-monitor', 'replica-a', 10_000))!.fencingToken).toBe('3');
});

it('keeps leases of different names apart', async () => {
  expect(await a.acquire('alert-monitor', 'replica-a', 10_000)).toBeDefined();
  expect(await b.acquire('report-schedule', 'replica-b', 10_000)).toMatchObject({ holder: 'replica-b', fencingToken: '1' });
});

it('refuses a bad name, holder or duration before asking the database', async () => {
  await expect(a.acquire('Alert Monitor', 'replica-a', 10_000)).rejects.toThrow(/lease name is lower-case words/);
  await expect(a.acquire('alert-monitor', ' ', 10_000)).rejects.toThrow(/replica id of 1 to 200 characters/);
  await expect(a.acquire('alert-monitor', 'replica-a', 5)).rejects.toThrow(/at least 100 ms/);
  expect(await a.current('alert-monitor')).toBeUndefined();
});
