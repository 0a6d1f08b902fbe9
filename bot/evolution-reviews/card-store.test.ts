/**
 * The card store's claim lease on the real PostgreSQL, with replicas whose clocks disagree: the
 * lease is measured by the database's clock, so a replica whose clock runs ahead never takes over
 * a live claim, and one whose clock lags never keeps an abandoned claim alive.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type pg from 'pg';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createReviewCardStore, migrateEvolutionReviewCards } from './card-store.js';

const TEN_MINUTES = 10 * 60_000;

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('acgs_review_card_store');
  pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-review-card-store-test' });
  await migrateEvolutionReviewCards(pool);
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** This process's clock, as a replica on another host might have it; timers stay real. */
function clockOff(ms: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + ms);
}

const row = async (id: string) =>
  (await pool.query<{ claimed_by: string; drift_ms: number }>('SELECT claimed_by, (extract(epoch FROM (now() - claimed_at)) * 1000)::float8 AS drift_ms FROM evolution_review_cards WHERE evolution_id = $1', [id])).rows[0];

describe('the claim lease follows the database\'s clock', () => {
  it('a replica whose clock runs ten minutes ahead does not take over a claim made a moment ago', async () => {
    const id = 'e0000000-0000-4000-8000-000000000001';
    const holder = createReviewCardStore({ pool, instance: 'bot-1' });
    expect(await holder.claim(id)).toBeDefined();
    clockOff(TEN_MINUTES);
    const ahead = createReviewCardStore({ pool, instance: 'bot-ahead' });
    expect(await ahead.claim(id)).toBeUndefined();
    expect(await ahead.dropAbandoned(id)).toBe(false);
    expect((await row(id))?.claimed_by).toBe('bot-1');
  });

  it('a replica whose clock lags ten minutes records its claim at the database\'s time, so the lease still ends on time', async () => {
    const id = 'e0000000-0000-4000-8000-000000000002';
    clockOff(-TEN_MINUTES);
    const behind = createReviewCardStore({ pool, instance: 'bot-behind', claimLeaseMs: 50 });
    expect(await behind.claim(id)).toBeDefined();
    expect(Math.abs((await row(id))!.drift_ms)).toBeLessThan(60_000);
    vi.useRealTimers();
    // Its lease (50 ms by the database's clock) is over: a replica with a good clock takes it over.
    await new Promise((resolve) => setTimeout(resolve, 80));
    const next = createReviewCardStore({ pool, instance: 'bot-2', claimLeaseMs: 50 });
    expect(await next.claim(id)).toBeDefined();
    expect((await row(id))?.claimed_by).toBe('bot-2');
  });

  it('records posting and closing at the database\'s time too', async () => {
    const id = 'e0000000-0000-4000-8000-000000000003';
    const store = createReviewCardStore({ pool, instance: 'bot-1' });
    const claim = (await store.claim(id))!;
    clockOff(-TEN_MINUTES);
    expect(await store.posted(claim, { channel: 'C0TEST', ts: '1.000001' })).toBe(true);
    expect(await store.close(id, 'approved')).toBe(true);
    const { rows } = await pool.query<{ posted: number; closed: number }>(
      'SELECT (extract(epoch FROM (now() - posted_at)) * 1000)::float8 AS posted, (extract(epoch FROM (now() - closed_at)) * 1000)::float8 AS closed FROM evolution_review_cards WHERE evolution_id = $1',
      [id],
    );
    expect(Math.abs(rows[0]!.posted)).toBeLessThan(60_000);
    expect(Math.abs(rows[0]!.closed)).toBeLessThan(60_000);
  });
});
