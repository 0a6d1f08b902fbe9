import { fileURLToPath } from 'node:url';
import { PG_MIGRATE_LOCK_ID, runner } from 'node-pg-migrate';
import pg from 'pg';
import { ServiceError } from '../kit/errors.js';
import { redactDatabaseUrl } from './config.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'audit_engine_migrations';

export function createPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    // Fail a request within seconds when PostgreSQL is gone instead of queueing it forever.
    connectionTimeoutMillis: 5000,
    application_name: 'acgs-audit-engine',
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** A PostgreSQL failure that means the database is unavailable, as opposed to a bad statement. */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? '';
  return (
    CONNECTION_ERROR_CODES.has(code) ||
    code.startsWith('08') || // connection exception
    code.startsWith('57P') || // operator intervention: shutdown, terminated connection
    code === '3D000' || // database does not exist
    code === '55000' || // e.g. database not accepting connections
    code === '53300' || // too many connections
    /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(error.message)
  );
}

/** A message an operator can act on, naming the database without its password. */
export function describeDatabaseError(error: unknown, databaseUrl: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  let where: URL | undefined;
  try {
    where = new URL(databaseUrl);
  } catch {
    where = undefined;
  }
  const name = where ? decodeURIComponent(where.pathname.replace(/^\//, '')) || 'postgres' : '?';
  const host = where ? `${where.hostname}:${where.port || '5432'}` : '?';
  const user = where?.username ? decodeURIComponent(where.username) : 'postgres';
  if (code === '3D000') {
    return `The database "${name}" (DATABASE_URL ${redactDatabaseUrl(databaseUrl)}) does not exist on ${host}; create it first, e.g. createdb -h ${where?.hostname ?? '127.0.0.1'} -p ${where?.port || '5432'} -U ${user} ${name}`;
  }
  if (code === '28P01' || code === '28000') {
    return `PostgreSQL at ${host} refused user "${user}" (DATABASE_URL ${redactDatabaseUrl(databaseUrl)}): ${message}`;
  }
  if (isUnavailableError(error)) {
    return `PostgreSQL is not reachable at ${host} (DATABASE_URL ${redactDatabaseUrl(databaseUrl)}): ${message || code}`;
  }
  return `PostgreSQL error on ${host}/${name}: ${message}`;
}

/** Turns a database failure inside a request into the kit's 503 when the database is down. */
export function toServiceError(error: unknown): unknown {
  if (error instanceof ServiceError || !isUnavailableError(error)) return error;
  return new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'PostgreSQL', detail: (error as Error).message });
}

/**
 * Runs pending migrations. node-pg-migrate's own lock is a try-lock that makes the second of two
 * instances starting together fail; we wait for the same lock instead, so the second instance
 * simply finds nothing left to do. One connection throughout, which single-session databases need.
 */
export async function migrate(pool: pg.Pool, log: (message: string) => void = () => undefined): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
    try {
      const applied = await runner({
        dbClient: client,
        dir: MIGRATIONS_DIR,
        migrationsTable: MIGRATIONS_TABLE,
        direction: 'up',
        noLock: true,
        singleTransaction: true,
        checkOrder: true,
        log,
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
