import { setTimeout as sleep } from 'node:timers/promises';
import { PG_MIGRATE_LOCK_ID, runner } from 'node-pg-migrate';
import pg from 'pg';
import { register as registerTsx } from 'tsx/esm/api';
import { z } from 'zod';
import { WholeNumber } from './env.js';
import { ServiceError } from './errors.js';

/** `DATABASE_URL` as every service accepts it. */
export const DatabaseUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/./.test(value) && URL.canParse(value), 'must be a postgres:// URL such as postgres://user@127.0.0.1:5432/acgs');

/** `DATABASE_POOL_MAX`: connections per process; 1 for single-session databases such as the embedded PGlite. */
export const DatabasePoolMax = WholeNumber(1, 100);

/** The URL with its password masked, safe for logs and error messages. */
export function redactDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);
// 08xxx connection exceptions, 57Pxx shutdowns and terminated sessions, 53300 too many
// connections, 3D000 the database is gone (dropped, or not restored yet).
const UNAVAILABLE_SQLSTATE = /^(08...|57P..|53300|3D000)$/;
const UNAVAILABLE_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i;

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when PostgreSQL is not there right now, as opposed to a statement that failed. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = errorCode(error) ?? '';
  if (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
  // 55000 is a wide class; only its "not currently accepting connections" member means unavailable.
  if (code === '55000' && /accepting connections/i.test(error.message)) return true;
  return UNAVAILABLE_MESSAGE.test(error.message);
}

/** Runs a database step; an outage becomes 503 DEPENDENCY_UNAVAILABLE, other errors pass through. */
export async function withDatabase<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ServiceError || !isDatabaseUnavailable(error)) throw error;
    const reason = (error as Error).message || errorCode(error);
    throw new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'PostgreSQL', detail: `the database did not answer (${reason})` });
  }
}

interface Where {
  name: string;
  host: string;
  port: string;
  user: string;
}

function whereOf(databaseUrl: string): Where | undefined {
  try {
    const url = new URL(databaseUrl);
    return {
      name: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres',
      host: url.hostname || '127.0.0.1',
      port: url.port || '5432',
      user: url.username ? decodeURIComponent(url.username) : 'postgres',
    };
  } catch {
    return undefined;
  }
}

/** The database named in the URL is missing and this process may not create it. */
export class DatabaseMissingError extends Error {
  override readonly name = 'DatabaseMissingError';
}

/** A message an operator can act on, naming the database without its password. */
export function describeDatabaseError(error: unknown, databaseUrl: string): string {
  if (error instanceof DatabaseMissingError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  const where = whereOf(databaseUrl);
  const shown = redactDatabaseUrl(databaseUrl);
  const at = where ? `${where.host}:${where.port}` : '?';
  if (code === '3D000') {
    return `The database "${where?.name ?? '?'}" (DATABASE_URL ${shown}) does not exist on ${at}; create it first, e.g. createdb -h ${where?.host} -p ${where?.port} -U ${where?.user} ${where?.name}`;
  }
  if (code === '28P01' || code === '28000') {
    return `PostgreSQL at ${at} refused user "${where?.user ?? '?'}" (DATABASE_URL ${shown}): ${message}`;
  }
  if (isDatabaseUnavailable(error)) return `PostgreSQL is not reachable at ${at} (DATABASE_URL ${shown}): ${message || code}`;
  return `PostgreSQL error on ${at}/${where?.name ?? '?'} (DATABASE_URL ${shown}): ${message}`;
}

/** Whether a failed statement also broke its connection, so the connection must not be reused. */
function brokeConnection(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | undefined)?.severity;
  return severity === 'FATAL' || severity === 'PANIC' || isDatabaseUnavailable(error) || errorCode(error) === undefined;
}

/** A one-connection server (PGlite) still counting the connection we just closed drops the next one like this. */
function droppedWhileOpening(error: unknown): boolean {
  return error instanceof Error && (/Connection terminated unexpectedly/.test(error.message) || errorCode(error) === 'ECONNRESET');
}

const CONNECT_RETRY_DELAYS_MS = [20, 40, 80, 160, 320];

type Callback = (...args: unknown[]) => void;

/**
 * pg.Pool, changed in the two places where it fails single-session databases (the embedded
 * PGlite, which serves exactly one connection) and that are merely wasteful elsewhere:
 * - pg.Pool#query discards its connection after ANY error, even a unique violation, and opens a
 *   new one at once, while the old one is still closing; PGlite's socket server then refuses the
 *   new one ("Connection terminated unexpectedly"). Here a statement error keeps the connection;
 *   only an error that broke the connection discards it.
 * - connect retries briefly when a fresh connection is dropped as it opens, which is how the
 *   one-connection server answers while it still sees a connection that is closing.
 */
class ServicePool extends pg.Pool {
  // Typed loosely on purpose: pg.Pool#query has nine overloads; the callback and stream forms go to pg.
  override query(...args: any[]): any {
    const [config, values, callback] = args as [unknown, unknown, unknown];
    const submittable = typeof (config as { submit?: unknown } | null)?.submit === 'function';
    if (submittable || typeof values === 'function' || typeof callback === 'function') return (super.query as Callback)(...args);
    return this.queryKeepingConnection(config, values);
  }

  private async queryKeepingConnection(config: unknown, values: unknown): Promise<pg.QueryResult> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      return await (client.query as (config: unknown, values: unknown) => Promise<pg.QueryResult>)(config, values);
    } catch (error) {
      if (brokeConnection(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  override connect(...args: any[]): any {
    const [callback] = args as [Callback | undefined];
    const connected = this.connectWithRetry();
    if (typeof callback !== 'function') return connected;
    connected.then(
      (client) => callback(undefined, client, client.release),
      (error: unknown) => callback(error, undefined, () => undefined),
    );
    return undefined;
  }

  private async connectWithRetry(): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await super.connect();
      } catch (error) {
        const delay = CONNECT_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || this.ending || !droppedWhileOpening(error)) throw error;
        await sleep(delay);
      }
    }
  }
}

export interface PoolOptions {
  databaseUrl: string;
  /** DATABASE_POOL_MAX: connections in the pool; 1 for single-session databases such as PGlite. */
  max: number;
  /** Shows in pg_stat_activity, to tell the services' connections apart. */
  applicationName: string;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new ServicePool({
    connectionString: options.databaseUrl,
    max: options.max,
    // Fail a request within seconds when PostgreSQL is gone instead of queueing it forever.
    connectionTimeoutMillis: 5000,
    // One connection is kept for good (every reconnect to a single-session server is a risk);
    // a larger pool shrinks back when idle.
    idleTimeoutMillis: options.max === 1 ? 0 : 30_000,
    application_name: options.applicationName,
  });
  // A connection lost while idle, or while checked out between statements, must not crash the
  // process: the pool drops the client and the next statement reports the outage.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Runs `work` in one transaction on one connection. `beginWith` is a statement (no parameters)
 * sent together with BEGIN, in one round trip, typically the lock the work starts with; its
 * result is handed to `work`.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient, begun: pg.QueryResult | undefined) => Promise<T>,
  options: { beginWith?: string } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    let begun: pg.QueryResult | undefined;
    if (options.beginWith) begun = ((await client.query(`BEGIN; ${options.beginWith}`)) as unknown as pg.QueryResult[])[1];
    else await client.query('BEGIN');
    const result = await work(client, begun);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    // A connection that could not even roll back is discarded rather than reused.
    client.release(broken);
  }
}

/**
 * Creates the database named in the URL when the server has none by that name, through the
 * maintenance database `postgres`, so a fresh PostgreSQL needs no manual step. Returns whether it
 * created it. Only the name comes from the URL, and it is quoted as an identifier.
 */
export async function ensureDatabaseExists(databaseUrl: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (errorCode(error) !== '3D000') throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    // Another replica created it in the meantime (42P04, or 23505 when both raced in the catalog).
    if (errorCode(error) === '42P04' || errorCode(error) === '23505') return false;
    const where = whereOf(databaseUrl)!;
    throw new DatabaseMissingError(
      `The database "${name}" (DATABASE_URL ${redactDatabaseUrl(databaseUrl)}) does not exist on ${where.host}:${where.port} and could not be created (${(error as Error).message}); create it first, e.g. createdb -h ${where.host} -p ${where.port} -U ${where.user} ${name}`,
      { cause: error },
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export interface MigrateOptions {
  /** The service's migrations folder. */
  directory: string;
  /** The service's own bookkeeping table, so that several services can share one database. */
  table: string;
  log?(message: string): void;
}

let tsxRegistered = false;

/**
 * node-pg-migrate loads a .ts migration (the hash-chained tables', written by a shared function)
 * with Node's own import(). tsx runs the bot and the services already, but not vitest's workers
 * nor a plain `node`; its loader is registered once for the process, before the first migration.
 */
function loadTypeScriptMigrations(): void {
  if (tsxRegistered) return;
  registerTsx();
  tsxRegistered = true;
}

/**
 * Applies pending migrations with node-pg-migrate. Its own lock is a try-lock that fails the second
 * of two replicas starting together ("Another migration is already running"); this waits for the
 * same advisory lock instead, so the second replica simply finds nothing left to do. One connection
 * throughout, which single-session databases need. Returns the names of the applied migrations.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions): Promise<string[]> {
  loadTypeScriptMigrations();
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
    try {
      const applied = await runner({
        dbClient: client,
        dir: options.directory,
        migrationsTable: options.table,
        direction: 'up',
        noLock: true,
        singleTransaction: true,
        checkOrder: true,
        log: options.log ?? (() => undefined),
      });
      return applied.map((migration) => migration.name);
    } finally {
      // The lock dies with the session anyway; a failed unlock must not hide the real error.
      await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
