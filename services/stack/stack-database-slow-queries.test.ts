/**
 * `slowQueries` on real PostgreSQL servers: the shared one, which does not preload
 * pg_stat_statements (a plain sentence and how to enable it), and a private one started with it
 * preloaded, before and after CREATE EXTENSION, where the slowest statement comes first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../test/testing/private-postgres.js';
import { stackDatabaseOn } from './stack-database-on-pg.js';

let shared: TestDatabase;
let preloaded: PrivatePostgres;

beforeAll(async () => {
  shared = await createTestDatabase('acgs_slow_queries');
  preloaded = await startPrivatePostgres({ shared_preload_libraries: 'pg_stat_statements' });
}, 60_000);
afterAll(async () => {
  await shared?.drop();
  await preloaded?.close();
});

describe('slowQueries', () => {
  it('says the extension is not loaded, and how to enable it, on a server that does not preload it', async () => {
    const database = stackDatabaseOn(createPool({ databaseUrl: shared.url, max: 1, applicationName: 'acgs-slow-queries-test' }));
    try {
      const answer = await database.slowQueries(5);
      expect(answer).toMatchObject({ available: false, reason: 'pg_stat_statements is not loaded by this PostgreSQL server' });
      expect(answer.available === false && answer.howToEnable).toContain("shared_preload_libraries = 'pg_stat_statements'");
    } finally {
      await database.close();
    }
  });

  it('asks for CREATE EXTENSION when preloaded only, then lists the slowest statements first', async () => {
    const database = stackDatabaseOn(createPool({ databaseUrl: preloaded.url, max: 1, applicationName: 'acgs-slow-queries-test' }));
    try {
      expect(await database.slowQueries(5)).toEqual({ available: false, reason: 'pg_stat_statements is loaded but not created in this database', howToEnable: "run CREATE EXTENSION pg_stat_statements; in the stack's database" });
      const admin = createPool({ databaseUrl: preloaded.url, max: 1, applicationName: 'acgs-slow-queries-admin' });
      try {
        await admin.query('CREATE EXTENSION pg_stat_statements');
        await admin.query('SELECT pg_sleep(0.2)');
        await admin.query('SELECT 1');
      } finally {
        await admin.end();
      }
      const answer = await database.slowQueries(2);
      expect(answer.available).toBe(true);
      const queries = answer.available ? answer.queries : [];
      expect(queries).toHaveLength(2);
      expect(queries[0]!.query).toContain('pg_sleep');
      expect(Number(queries[0]!.mean_ms)).toBeGreaterThanOrEqual(200);
      expect(Number(queries[0]!.calls)).toBe(1);
    } finally {
      await database.close();
    }
  });
});
