/**
 * A throwaway database beside the stack's own, for restoring a backup to check it: created under
 * a name that says what it is, always dropped afterwards (connections and all), whatever happened.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const SCRATCH_PREFIX = 'acgs_scratch_';

function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function onMaintenanceDatabase<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres'), connectionTimeoutMillis: 10_000, application_name: 'acgs-backup' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs `work` with the URL of a new empty database on the server of `databaseUrl` (whose role must
 * be allowed to create databases), then drops it, even when `work` throws.
 */
export async function withScratchDatabase<T>(databaseUrl: string, purpose: string, work: (scratchUrl: string) => Promise<T>): Promise<T> {
  const name = `${SCRATCH_PREFIX}${purpose.replace(/[^a-z0-9]+/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  await onMaintenanceDatabase(databaseUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  try {
    return await work(withDatabase(databaseUrl, name));
  } finally {
    // FORCE ends sessions a failed restore may have left behind (PostgreSQL 13 and later).
    await onMaintenanceDatabase(databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
  }
}

/** Exact row counts of every table outside the system schemas, keyed `schema.table`. */
export async function tableRowCounts(databaseUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, application_name: 'acgs-backup' });
  await client.connect();
  try {
    return await countTableRows(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The same counts on a connected client, inside whatever transaction (and snapshot) it is in:
 * one statement for every table (each count runs server-side through query_to_xml), so a
 * database of many tables costs one round trip, not one per table.
 */
export async function countTableRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const result = await client.query<{ schema: string; name: string; rows: string }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            (xpath('/row/rows/text()', query_to_xml(format('SELECT count(*) AS rows FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text AS rows
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, 2`,
  );
  const counts: Record<string, number> = {};
  for (const table of result.rows) counts[`${table.schema}.${table.name}`] = Number(table.rows);
  return counts;
}
