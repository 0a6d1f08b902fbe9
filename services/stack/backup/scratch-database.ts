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
  // The creation time in the name is what a later sweep goes by: PostgreSQL keeps none for a database.
  const name = `${SCRATCH_PREFIX}${purpose.replace(/[^a-z0-9]+/g, '_').slice(0, 20)}_${stampOf(new Date())}_${randomBytes(4).toString('hex')}`;
  await onMaintenanceDatabase(databaseUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  try {
    return await work(withDatabase(databaseUrl, name));
  } finally {
    // FORCE ends sessions a failed restore may have left behind (PostgreSQL 13 and later).
    await onMaintenanceDatabase(databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
  }
}

const stampOf = (at: Date) => at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, '').replace('T', '').toLowerCase();
/** `..._20261206152000_a1b2c3d4`: the creation time a scratch database's name ends with. */
const STAMPED = /_(\d{14})_[0-9a-f]{8}$/;

function createdAt(name: string): Date | undefined {
  const stamp = STAMPED.exec(name)?.[1];
  if (!stamp) return undefined;
  const at = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Drops the scratch databases of `purpose` (`verify`) created before `olderThan`: those a process
 * killed mid-restore left behind (its `finally` never ran). A live run's own is younger than its
 * step's timeout, which the caller passes; a name without a creation time is left alone.
 */
export async function sweepScratchDatabases(databaseUrl: string, purpose: string, olderThan: Date): Promise<string[]> {
  const prefix = `${SCRATCH_PREFIX}${purpose.replace(/[^a-z0-9]+/g, '_').slice(0, 20)}_`;
  return onMaintenanceDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const created = createdAt(datname);
      if (!created || created >= olderThan) continue;
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
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
