import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../../../test/kit/postgres.js';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE, createPool, ensureDatabase, isDatabaseUnavailable, migrate, redactDatabaseUrl } from './database.js';

const name = `acgs_eo_ensure_${randomBytes(4).toString('hex')}`;
const url = new URL(TEST_POSTGRES_URL);
url.pathname = `/${name}`;
const databaseUrl = url.toString();
let pool: pg.Pool | undefined;

afterAll(async () => {
  await pool?.end();
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

async function tables(): Promise<string[]> {
  const { rows } = await pool!.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((row) => row.table_name);
}

describe('database set-up', () => {
  it('creates a missing database once and leaves an existing one alone', async () => {
    expect(await ensureDatabase(databaseUrl)).toBe(true);
    expect(await ensureDatabase(databaseUrl)).toBe(false);
  });

  it('applies the migrations once, with node-pg-migrate keeping track', async () => {
    pool = createPool(databaseUrl, 2);
    expect(await migrate(pool)).toEqual(['1764300000000_evolutions']);
    expect(await migrate(pool)).toEqual([]);
    expect(await tables()).toEqual(['evolution_migrations', 'evolution_transitions', 'evolutions']);
  });

  it('enforces the lifecycle vocabulary in the schema itself', async () => {
    await expect(
      pool!.query(
        `INSERT INTO evolutions (id, agent_id, trust_level, change_description, new_version, requester_id, priority,
           privilege_escalation, external_dependencies, experimental_features, status, policy_decision)
         VALUES (gen_random_uuid(), 'a', 0.9, 'd', '1', 'u', 'low', false, false, false, 'merged', '{}')`,
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('can migrate down to an empty schema', async () => {
    const client = await pool!.connect();
    try {
      await runner({ dbClient: client, dir: MIGRATIONS_DIR, migrationsTable: MIGRATIONS_TABLE, direction: 'down', log: () => undefined });
    } finally {
      client.release();
    }
    expect(await tables()).toEqual(['evolution_migrations']);
  });
});

describe('database error classification', () => {
  it('treats connection failures and a missing database as unavailability, and query bugs as not', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('database "x" does not exist'), { code: '3D000' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });

  it('hides the password of a database URL', () => {
    expect(redactDatabaseUrl('postgres://app:hunter2@db:5432/acgs')).toBe('postgres://app:***@db:5432/acgs');
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1/acgs')).toBe('postgres://postgres@127.0.0.1/acgs');
  });
});
