import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { createPool, migrate } from '../../kit/postgres.js';
import { startEvolutionApp, type RunningEvolutionApp } from '../testing/evolution-app.js';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from './database.js';

// Nothing listens on the discard port; these tests never reach the Policy or Audit Engine.
const NOWHERE = 'http://127.0.0.1:9';

async function tables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((row) => row.table_name);
}

describe('two replicas starting at the same moment', () => {
  const name = `acgs_eo_fresh_${randomBytes(4).toString('hex')}`;
  const started: RunningEvolutionApp[] = [];
  let inspect: pg.Pool | undefined;

  afterAll(async () => {
    await Promise.allSettled(started.map((app) => app.close()));
    await inspect?.end();
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('both start on a database that does not exist yet: it is created once and migrated once', async () => {
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    const options = { databaseUrl: url.toString(), policyEngineUrl: NOWHERE, auditEngineUrl: NOWHERE };
    const results = await Promise.allSettled([startEvolutionApp(options), startEvolutionApp(options)]);
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    expect(results.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started'))).toEqual(['started', 'started']);
    inspect = new pg.Pool({ connectionString: url.toString(), max: 1 });
    const applied = await inspect.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    expect(applied.rows).toEqual([{ name: '1764300000000_evolutions' }]);
  });
});

describe('the evolution schema', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('acgs_eo_schema');
    pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-eo-schema-test' });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('is applied by two concurrent migrate() calls once: the second waits for the first instead of failing', async () => {
    const other = createPool({ databaseUrl: db.url, max: 1, applicationName: 'acgs-eo-schema-test' });
    try {
      const results = await Promise.all([
        migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE }),
        migrate(other, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE }),
      ]);
      expect(results.flat()).toEqual(['1764300000000_evolutions']);
    } finally {
      await other.end();
    }
    expect(await migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE })).toEqual([]);
    expect(await tables(pool)).toEqual(['evolution_migrations', 'evolution_transitions', 'evolutions']);
  });

  it('enforces the lifecycle vocabulary in the schema itself', async () => {
    await expect(
      pool.query(
        `INSERT INTO evolutions (id, agent_id, trust_level, change_description, new_version, requester_id, priority,
           privilege_escalation, external_dependencies, experimental_features, status, policy_decision)
         VALUES (gen_random_uuid(), 'a', 0.9, 'd', '1', 'u', 'low', false, false, false, 'merged', '{}')`,
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('can migrate down to an empty schema', async () => {
    const client = await pool.connect();
    try {
      await runner({ dbClient: client, dir: MIGRATIONS_DIR, migrationsTable: MIGRATIONS_TABLE, direction: 'down', log: () => undefined });
    } finally {
      client.release();
    }
    expect(await tables(pool)).toEqual(['evolution_migrations']);
  });
});
