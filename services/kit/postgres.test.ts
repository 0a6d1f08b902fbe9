import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../stack/local/embedded-postgres.js';
import { ServiceError } from './errors.js';
import {
  createPool,
  describeDatabaseError,
  ensureDatabaseExists,
  isDatabaseUnavailable,
  migrate,
  redactDatabaseUrl,
  withDatabase,
  withTransaction,
} from './postgres.js';

const scratch = mkdtempSync(join(tmpdir(), 'acgs-kit-postgres-'));
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  // Everything is released even when one step fails, so nothing is left behind.
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

async function testDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  cleanups.push(() => db.drop());
  return db;
}

function pool(databaseUrl: string, max: number, applicationName = 'acgs-kit-test'): pg.Pool {
  const created = createPool({ databaseUrl, max, applicationName });
  cleanups.push(() => created.end());
  return created;
}

function urlFor(database: string, user?: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${database}`;
  if (user) url.username = user;
  return url.toString();
}

/** A migrations folder of its own, with SQL files as the services use them. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), `-- Up Migration\n${sql}\n-- Down Migration\n`);
  return dir;
}

const backendPid = async (target: pg.Pool) => (await target.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('database errors', () => {
  it('hides the password of a database URL', () => {
    expect(redactDatabaseUrl('postgres://app:hunter2@db:5432/acgs')).toBe('postgres://app:***@db:5432/acgs');
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1/acgs')).toBe('postgres://postgres@127.0.0.1/acgs');
    expect(redactDatabaseUrl('not a url with hunter2')).not.toContain('hunter2');
  });

  it('treats connection failures and a missing database as unavailability, and failed statements as not', () => {
    const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
    expect(isDatabaseUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('database "x" does not exist', '3D000'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('database "x" is not currently accepting connections', '55000'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('currval of sequence "s" is not yet defined in this session', '55000'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('syntax error', '42601'))).toBe(false);
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });

  it('turns an outage inside a request into 503 naming PostgreSQL, and lets other errors through', async () => {
    const outage = await withDatabase(() => Promise.reject(new Error('Connection terminated unexpectedly'))).catch((error: unknown) => error);
    expect(outage).toBeInstanceOf(ServiceError);
    expect(outage).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503, message: expect.stringMatching(/^PostgreSQL is unavailable/) });
    const bug = Object.assign(new Error('syntax error'), { code: '42601' });
    await expect(withDatabase(() => Promise.reject(bug))).rejects.toBe(bug);
  });

  it('describes a missing database with the command that creates it, without the password', () => {
    const missing = Object.assign(new Error('database "acgs_x" does not exist'), { code: '3D000' });
    const message = describeDatabaseError(missing, 'postgres://app:hunter2@db:6543/acgs_x');
    expect(message).toContain('The database "acgs_x"');
    expect(message).toContain('createdb -h db -p 6543 -U app acgs_x');
    expect(message).not.toContain('hunter2');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(describeDatabaseError(refused, 'postgres://app:hunter2@db/acgs')).toMatch(/^PostgreSQL is not reachable at db:5432 \(DATABASE_URL postgres:\/\/app:\*\*\*@db\/acgs\)/);
  });
});

describe('createPool on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('acgs_kit_pool');
  });

  it('opens at most DATABASE_POOL_MAX connections, named for the service', async () => {
    const limited = pool(db.url, 3, 'acgs-kit-pool-max');
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, limited.totalCount)), 5);
    await Promise.all(Array.from({ length: 8 }, () => limited.query('SELECT pg_sleep(0.05)')));
    clearInterval(sample);
    expect(peak).toBe(3);
    const named = await limited.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'acgs-kit-pool-max'",
    );
    expect(named.rows[0]!.n).toBe(3);
  });

  it('keeps its connection when a statement fails (pg.Pool would discard it)', async () => {
    const single = pool(db.url, 1);
    await single.query('CREATE TABLE kept (id int PRIMARY KEY)');
    await single.query('INSERT INTO kept VALUES (1)');
    const before = await backendPid(single);
    await expect(single.query('INSERT INTO kept VALUES (1)')).rejects.toMatchObject({ code: '23505' });
    await expect(single.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    expect(await backendPid(single)).toBe(before);
  });

  it('drops a connection the server terminated and answers the next statement on a new one', async () => {
    const single = pool(db.url, 1);
    const before = await backendPid(single);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    await admin.query('SELECT pg_terminate_backend($1)', [before]);
    // The terminated connection fails at most the statement that finds it dead, never a later one.
    await single.query('SELECT 1').catch(() => undefined);
    const after = await backendPid(single);
    expect(after).not.toBe(before);
  });

  it('commits a transaction, rolls one back on error, and keeps the connection either way', async () => {
    const single = pool(db.url, 1);
    await single.query('CREATE TABLE ledger (entry text PRIMARY KEY)');
    const before = await backendPid(single);
    await withTransaction(single, (client) => client.query("INSERT INTO ledger VALUES ('kept')"));
    const failing = withTransaction(single, async (client) => {
      await client.query("INSERT INTO ledger VALUES ('rolled back')");
      await client.query("INSERT INTO ledger VALUES ('kept')");
    });
    await expect(failing).rejects.toMatchObject({ code: '23505' });
    expect((await single.query('SELECT entry FROM ledger')).rows).toEqual([{ entry: 'kept' }]);
    expect(await backendPid(single)).toBe(before);
  });

  it('sends beginWith with BEGIN and hands its result to the work, inside the transaction', async () => {
    const single = pool(db.url, 1);
    await single.query('CREATE TABLE counter (id int PRIMARY KEY, value int NOT NULL)');
    await single.query('INSERT INTO counter VALUES (1, 41)');
    const begin = { beginWith: 'SELECT value FROM counter WHERE id = 1 FOR UPDATE' };
    const read = await withTransaction(single, async (client, locked) => {
      await client.query('UPDATE counter SET value = $1 WHERE id = 1', [locked!.rows[0].value + 1]);
      return locked!.rows[0].value as number;
    }, begin);
    expect(read).toBe(41);
    const failing = withTransaction(single, async (client) => {
      await client.query('UPDATE counter SET value = 0 WHERE id = 1');
      throw new Error('work failed');
    }, begin);
    await expect(failing).rejects.toThrow('work failed');
    expect((await single.query('SELECT value FROM counter')).rows).toEqual([{ value: 42 }]);
  });
});

describe('ensureDatabaseExists', () => {
  const name = `acgs_kit_ensure_${randomBytes(4).toString('hex')}`;
  const role = `acgs_kit_nocreate_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });
  });

  it('creates a missing database once, also when two replicas ask at the same moment', async () => {
    const results = await Promise.all([ensureDatabaseExists(urlFor(name)), ensureDatabaseExists(urlFor(name))]);
    expect(results.sort()).toEqual([false, true]);
    expect(await ensureDatabaseExists(urlFor(name))).toBe(false);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(found.rowCount).toBe(1);
  });

  it('says which database is missing and how to create it when it may not create one', async () => {
    await admin.query(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
    const missing = `acgs_kit_never_${randomBytes(4).toString('hex')}`;
    const failure = await ensureDatabaseExists(urlFor(missing, role)).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(new RegExp(`The database "${missing}" .* does not exist .* could not be created \\(permission denied`));
    expect((failure as Error).message).toContain(`createdb -h 127.0.0.1 -p 5432 -U ${role} ${missing}`);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [missing]);
    expect(found.rowCount).toBe(0);
  });

  it('passes other connection failures on unchanged', async () => {
    await expect(ensureDatabaseExists('postgres://postgres@127.0.0.1:1/acgs_x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

// Slow enough that the second replica arrives while the first still holds the lock.
const slow = migrationsDir({
  '1700000000000_slow.sql': 'SELECT pg_sleep(0.5); CREATE TABLE slow_things (id int PRIMARY KEY);',
});
const other = migrationsDir({ '1700000000000_other.sql': 'CREATE TABLE other_things (id int PRIMARY KEY);' });

describe('migrate', () => {

  it('lets two replicas start together on a fresh database: the second waits and finds nothing to do', async () => {
    const db = await testDatabase('acgs_kit_migrate');
    const [first, second] = [pool(db.url, 2), pool(db.url, 2)];
    const results = await Promise.all([
      migrate(first, { directory: slow, table: 'kit_migrations' }),
      migrate(second, { directory: slow, table: 'kit_migrations' }),
    ]);
    expect(results.sort((a, b) => a.length - b.length)).toEqual([[], ['1700000000000_slow']]);
    expect((await first.query('SELECT name FROM kit_migrations')).rows).toEqual([{ name: '1700000000000_slow' }]);
  });

  it('keeps each service’s bookkeeping in its own table, so services can share one database', async () => {
    const db = await testDatabase('acgs_kit_shared');
    const shared = pool(db.url, 2);
    await Promise.all([
      migrate(shared, { directory: slow, table: 'first_service_migrations' }),
      migrate(pool(db.url, 2), { directory: other, table: 'second_service_migrations' }),
    ]);
    expect((await shared.query('SELECT name FROM first_service_migrations')).rows).toEqual([{ name: '1700000000000_slow' }]);
    expect((await shared.query('SELECT name FROM second_service_migrations')).rows).toEqual([{ name: '1700000000000_other' }]);
    expect(await migrate(shared, { directory: other, table: 'second_service_migrations' })).toEqual([]);
  });
});

describe('createPool on the embedded PGlite (one connection)', () => {
  let embedded: EmbeddedPostgres;
  let single: pg.Pool;

  beforeAll(async () => {
    embedded = await startEmbeddedPostgres(join(scratch, 'pglite'));
    cleanups.push(() => embedded.stop());
    single = pool(embedded.url, 1);
    await migrate(single, { directory: other, table: 'kit_migrations' });
  }, 60_000);

  it('answers the next statement after a unique violation', async () => {
    await single.query('INSERT INTO other_things VALUES (1)');
    await expect(single.query('INSERT INTO other_things VALUES (1)')).rejects.toMatchObject({ code: '23505' });
    expect((await single.query('SELECT count(*)::int AS n FROM other_things')).rows).toEqual([{ n: 1 }]);
  });

  it('answers after a failed transaction', async () => {
    const failing = withTransaction(single, (client) => client.query('INSERT INTO other_things VALUES (1)'));
    await expect(failing).rejects.toMatchObject({ code: '23505' });
    expect((await single.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('reconnects when its connection was discarded, although the server still counts the old one', async () => {
    const client = await single.connect();
    client.release(new Error('treat this connection as broken'));
    expect((await single.query('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
  });

  it('queues concurrent statements on its one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => single.query<{ i: number }>('SELECT $1::int AS i', [i])));
    expect(answers.map((answer) => answer.rows[0]!.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(single.totalCount).toBe(1);
  });
});
