/**
 * A fresh migrated database on the real PostgreSQL for one test file, plus the table the scripted
 * runbooks (scripted-runbooks.ts) write their marks into.
 */
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { createPool } from '../../../services/kit/postgres.js';
import { createRunStore, migrateRunStore, type RunStore } from '../run-store.js';

export interface RunbookTestDatabase {
  db: TestDatabase;
  /** A pool on the database; closed by `close`. */
  pool: pg.Pool;
  store: RunStore;
  close(): Promise<void>;
}

export const MARKS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS runbook_test_marks (
  id          bigserial PRIMARY KEY,
  run_id      uuid NOT NULL,
  step_id     text NOT NULL,
  attempt     integer NOT NULL,
  action      text NOT NULL,
  pid         integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  outcome     text
)`;

export async function runbookTestDatabase(): Promise<RunbookTestDatabase> {
  const db = await createTestDatabase('acgs_runbooks');
  const pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-runbooks-test' });
  await migrateRunStore(pool);
  await pool.query(MARKS_TABLE_SQL);
  return {
    db,
    pool,
    store: createRunStore(pool),
    async close() {
      await pool.end().catch(() => undefined);
      await db.drop();
    },
  };
}
