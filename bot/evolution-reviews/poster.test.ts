/**
 * The poster's settings and its failure path, on the real PostgreSQL with Evolution Oversight
 * away (a loopback port where nothing listens): a round that cannot list rejects and posts
 * nothing, the timer reports it and carries on. Posting itself is tested end to end in
 * test/evolution-reviews/evolution-review-cards.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createEvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import { createPool } from '../../services/kit/postgres.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createReviewCardStore, migrateEvolutionReviewCards, type ReviewCardStore } from './card-store.js';
import { DEFAULT_REVIEW_POLL_MS, postReviewCards, reviewIntervalFromEnv, startEvolutionReviewPoster, type ReviewCardPublisher } from './poster.js';

describe('ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS', () => {
  it('defaults to 15 s, takes whole seconds, and 0 turns the cards off', () => {
    expect(reviewIntervalFromEnv(undefined)).toBe(DEFAULT_REVIEW_POLL_MS);
    expect(reviewIntervalFromEnv('')).toBe(15_000);
    expect(reviewIntervalFromEnv('5')).toBe(5000);
    expect(reviewIntervalFromEnv('0')).toBe(0);
    expect(reviewIntervalFromEnv('3600')).toBe(3_600_000);
  });

  it.each(['-1', '1.5', 'ten', '3601', '1e3', '99999'])('refuses %s with a message naming the variable and the range', (value) => {
    expect(() => reviewIntervalFromEnv(value)).toThrow(`ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS must be a whole number of seconds from 0 (no review cards) to 3600 (got "${value}")`);
  });
});

describe('with Evolution Oversight away', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: ReviewCardStore;
  const published: string[] = [];
  const publisher: ReviewCardPublisher = {
    async post(_channel, evolution) {
      published.push(evolution.id);
      return { channel: 'C0TEST', ts: '1.000001' };
    },
    async update(_ref, id) {
      published.push(`update ${id}`);
    },
  };

  beforeAll(async () => {
    db = await createTestDatabase('acgs_review_poster');
    pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-review-poster-test' });
    await migrateEvolutionReviewCards(pool);
    store = createReviewCardStore({ pool, instance: 'test' });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('rejects the round, posts nothing, and the timer reports it and tries again', async () => {
    const client = createEvolutionOversightClient(await unusedLoopbackUrl(), 500);
    await expect(postReviewCards({ client, store, publisher, channel: 'C0TEST' })).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const errors: string[] = [];
    const poster = startEvolutionReviewPoster({ client, store, publisher, channel: 'C0TEST', intervalMs: 20, onError: (_error, what) => errors.push(what) });
    try {
      await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await poster.stop();
    }
    expect(new Set(errors)).toEqual(new Set(['listing the proposals waiting for review']));
    expect(published).toEqual([]);
    expect(await store.open()).toEqual([]);
  });

  it('refuses to claim something that is not an evolution id', async () => {
    await expect(store.claim("x'; DROP TABLE evolution_review_cards; --")).rejects.toThrow('not an evolution id');
    expect(await store.get('not-a-uuid')).toBeUndefined();
  });
});
