import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../../test/testing/postgres.js';
import { buildApp } from './app.js';
import { DEFAULT_DATABASE_URL, loadConfig } from './config.js';
import { MIGRATIONS_TABLE } from './plugins/database.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN } from '../../test/testing/tokens.js';

function urlFor(database: string, password?: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${database}`;
  if (password) url.password = password;
  return url.toString();
}

describe('configuration', () => {
  it('defaults to the local acgs_audit database on port 8003, loopback only', () => {
    expect(loadConfig({})).toMatchObject({ databaseUrl: DEFAULT_DATABASE_URL, port: 8003, host: '127.0.0.1', poolMax: 10 });
    expect(DEFAULT_DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/acgs_audit');
  });

  it('verifies the chain in the background every 10 minutes unless AUDIT_VERIFY_INTERVAL_MS says otherwise (0 = never)', () => {
    expect(loadConfig({}).verifyIntervalMs).toBe(600_000);
    expect(loadConfig({ AUDIT_VERIFY_INTERVAL_MS: '0' }).verifyIntervalMs).toBe(0);
    expect(loadConfig({ AUDIT_VERIFY_INTERVAL_MS: '60000' }).verifyIntervalMs).toBe(60_000);
  });

  it('reads each variable and treats empty ones as unset', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u@db:6543/audit', PORT: '9003', HOST: '0.0.0.0', DATABASE_POOL_MAX: '1', AUDIT_BODY_LIMIT_BYTES: '' });
    expect(config).toMatchObject({ databaseUrl: 'postgresql://u@db:6543/audit', port: 9003, host: '0.0.0.0', poolMax: 1, bodyLimitBytes: 4 * 1024 * 1024 });
  });

  it.each([
    [{ PORT: 'http' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://root@db/audit' }, 'DATABASE_URL'],
    [{ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX'],
    [{ AUDIT_BODY_LIMIT_BYTES: 'lots' }, 'AUDIT_BODY_LIMIT_BYTES'],
    [{ AUDIT_VERIFY_INTERVAL_MS: 'hourly' }, 'AUDIT_VERIFY_INTERVAL_MS'],
    [{ AUDIT_VERIFY_INTERVAL_MS: '-1' }, 'AUDIT_VERIFY_INTERVAL_MS'],
    [{ ACGS_SERVICE_TOKEN: 's' }, 'ACGS_SERVICE_TOKEN'],
    [{ ACGS_SERVICE_TOKEN: 'x'.repeat(31) }, 'ACGS_SERVICE_TOKEN'],
  ])('names the variable when %o is invalid', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid audit-engine configuration: ${name}: `));
  });

  it('refuses a service token shorter than 32 characters without repeating it, and takes one of 32', () => {
    const short = 'short-but-secret-token-31-chars';
    expect(() => loadConfig({ ACGS_SERVICE_TOKEN: short })).toThrow('ACGS_SERVICE_TOKEN: must be at least 32 characters; generate one with: openssl rand -hex 32 (value hidden)');
    expect(() => loadConfig({ ACGS_SERVICE_TOKEN: short })).not.toThrow(short);
    expect(loadConfig({ ACGS_SERVICE_TOKEN: `${short}!` }).serviceToken).toBe(`${short}!`);
  });

  it('never repeats a DATABASE_URL password in its errors', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/audit' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/audit' })).not.toThrow(/hunter2/);
  });
});

describe('start-up against PostgreSQL', () => {
  it('creates its database when the server has none by that name, and migrates it', async () => {
    const name = `acgs_audit_created_${randomBytes(4).toString('hex')}`;
    const app = buildApp(loadConfig({ DATABASE_URL: urlFor(name), ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN }));
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    try {
      await app.ready();
      const appended = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'first.event' }, headers: SERVICE_AUTH });
      expect(appended.statusCode).toBe(201);
      expect(appended.json().events[0].sequence).toBe(1);
    } finally {
      await app.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('says which database is missing and how to create it when it may not create one, hiding the password', async () => {
    const role = `acgs_audit_nocreate_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
    const url = new URL(urlFor('acgs_audit_missing_db', 'hunter2'));
    url.username = role;
    const app = buildApp(loadConfig({ DATABASE_URL: url.toString() }));
    try {
      const failure = await app.ready().then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.message).toMatch(/The database "acgs_audit_missing_db" .* does not exist .* could not be created/);
      expect(failure?.message).toContain('createdb');
      expect(failure?.message).not.toContain('hunter2');
    } finally {
      await app.close();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('says clearly when PostgreSQL is not reachable', async () => {
    const app = buildApp(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/acgs_audit' }));
    try {
      await expect(app.ready()).rejects.toThrow(/PostgreSQL is not reachable at 127\.0\.0\.1:1/);
    } finally {
      await app.close();
    }
  });
});

describe('instances sharing a database', () => {
  let ctx: AuditTestContext;
  beforeAll(async () => {
    ctx = await createAuditTestContext();
  });
  afterAll(() => ctx?.close());

  it('migrate once when three instances start at the same moment on a fresh database', async () => {
    await Promise.all([ctx.start(), ctx.start(), ctx.start()]);
    const migrations = await ctx.sql.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    expect(migrations.rows).toEqual([{ name: '1764300000000_audit-events' }, { name: '1766100000000_audit-chain-checkpoints' }]);
    const heads = await ctx.sql.query('SELECT sequence FROM audit_chain_head');
    expect(heads.rows).toEqual([{ sequence: '0' }]);
  });

  it('work with a single connection, as the embedded single-session PostgreSQL requires', async () => {
    const app = await ctx.start({ poolMax: 1 });
    const writes = Array.from({ length: 20 }, (_, i) =>
      app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'single.session', data: { i } }, headers: SERVICE_AUTH }),
    );
    const reads = [app.inject('/audit/events?limit=5'), app.inject('/health')];
    const responses = await Promise.all([...writes, ...reads]);
    expect(responses.map((response) => response.statusCode)).toEqual([...writes.map(() => 201), 200, 200]);
    expect((await app.inject('/audit/verify')).json()).toMatchObject({ valid: true, events_checked: 20 });
  });

  it('keep their one connection through an idempotent replay, since a single-session database cannot reconnect at will', async () => {
    const app = await ctx.start({ poolMax: 1 });
    const backend = async () => (await app.auditDb.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const post = () => app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'replayed', idempotency_key: 'same-connection' }, headers: SERVICE_AUTH });
    expect((await post()).statusCode).toBe(201);
    const before = await backend();
    const replay = await post();
    expect(replay.json()).toMatchObject({ appended: 0, replayed: 1 });
    expect(await backend()).toBe(before);
  });

  it('report unhealthy and refuse appends with 503 while the database refuses connections, then recover', async () => {
    const app = await ctx.start();
    const before = await ctx.countEvents();
    // A database cannot close itself to connections; the maintenance database can.
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${ctx.db.name} ALLOW_CONNECTIONS false`);
    try {
      await ctx.sql.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      const health = await app.inject('/health');
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'unhealthy', database: { reachable: false }, chain_head: null });
      expect(health.json().database.error).toMatch(/not reachable/);

      const append = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'while.down' }, headers: SERVICE_AUTH });
      expect(append.statusCode).toBe(503);
      expect(append.json().error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
      expect(append.json().error.message).toContain('PostgreSQL');
      expect((await app.inject('/audit/events')).statusCode).toBe(503);
    } finally {
      await admin.query(`ALTER DATABASE ${ctx.db.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect(await ctx.countEvents()).toBe(before);
    expect((await app.inject('/health')).statusCode).toBe(200);
    const append = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'after.recovery' }, headers: SERVICE_AUTH });
    expect(append.statusCode).toBe(201);
  });
});

// The pool must not keep the process alive or leak clients after close.
describe('shutdown', () => {
  it('closes its pool with the app', async () => {
    const ctx = await createAuditTestContext();
    try {
      const app = await ctx.start();
      await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'bye' }, headers: SERVICE_AUTH });
      await app.close();
      expect(app.auditDb.totalCount).toBe(0);
      // A backend leaves pg_stat_activity a moment after its client hung up, later on a busy machine.
      const openConnections = async () =>
        (
          await ctx.sql.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'acgs-audit-engine'",
          )
        ).rows[0]!.n;
      const deadline = Date.now() + 3000;
      while ((await openConnections()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await openConnections()).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  it('lets appends already accepted finish before the pool closes', async () => {
    const ctx = await createAuditTestContext();
    try {
      const app = await ctx.start();
      const pending = Array.from({ length: 30 }, (_, i) => app.auditStore.append([{ event_type: 'closing', data: { i } }]));
      await app.close();
      const results = await Promise.allSettled(pending);
      expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
      expect(await ctx.countEvents()).toBe(30);
    } finally {
      await ctx.close();
    }
  });
});

