import pg from 'pg';
import { type TestDatabase, createTestDatabase } from '../../../test/testing/postgres.js';
import { TEST_SERVICE_TOKEN } from '../../../test/testing/tokens.js';
import type { Service } from '../../kit/service.js';
import { buildApp } from '../app.js';
import { type AuditEngineConfig, loadConfig } from '../config.js';

/** A fresh database on the real PostgreSQL and a direct connection to inspect it, for test files. */
export interface AuditTestContext {
  db: TestDatabase;
  /** A connection of its own, outside the app, to count and tamper with rows. */
  sql: pg.Client;
  /** Builds an app on the test database, requiring TEST_SERVICE_TOKEN (send SERVICE_AUTH); it is closed by `close()`. */
  start(overrides?: Partial<AuditEngineConfig>): Promise<Service>;
  countEvents(): Promise<number>;
  close(): Promise<void>;
}

export async function createAuditTestContext(): Promise<AuditTestContext> {
  const db = await createTestDatabase('acgs_audit_test');
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  const apps: Service[] = [];
  return {
    db,
    sql,
    async start(overrides = {}) {
      const app = buildApp({ ...loadConfig({ DATABASE_URL: db.url, DATABASE_POOL_MAX: '4' }), serviceToken: TEST_SERVICE_TOKEN, ...overrides });
      apps.push(app);
      await app.ready();
      return app;
    },
    async countEvents() {
      const result = await sql.query<{ count: string }>('SELECT count(*) FROM audit_events');
      return Number(result.rows[0]!.count);
    },
    async close() {
      // Everything is released even when one step fails, so no database is left behind.
      const results = await Promise.allSettled(apps.map((app) => app.close()));
      await sql.end().catch(() => undefined);
      await db.drop();
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}
