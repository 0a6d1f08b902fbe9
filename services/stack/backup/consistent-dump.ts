/**
 * A dump and its tables' row counts taken from one snapshot: the counts are what `backup verify`
 * compares a restored copy with, so they must describe exactly the dumped rows even while the
 * services keep writing. One session exports its snapshot, counts in it, and pg_dump reads it.
 */
import pg from 'pg';
import { dumpDatabase, type DumpWritten } from './postgres-dump.js';
import { countTableRows } from './scratch-database.js';

const APPLICATION = 'acgs-backup';

function connect(databaseUrl: string): pg.Client {
  return new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, application_name: APPLICATION });
}

export interface ConsistentDump extends DumpWritten {
  rowCounts: Record<string, number>;
}

/** Dumps `databaseUrl` into `file` (which must not exist) with the row counts of the same snapshot. */
export async function dumpWithRowCounts(options: { databaseUrl: string; file: string; signal?: AbortSignal }): Promise<ConsistentDump> {
  const client = connect(options.databaseUrl);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
    const rowCounts = await countTableRows(client);
    // The snapshot lives as long as this transaction: it stays open until pg_dump has finished.
    const dump = await dumpDatabase({ ...options, snapshot: rows[0]!.snapshot });
    await client.query('COMMIT');
    return { ...dump, rowCounts };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface DatabaseSize {
  /** pg_database_size: everything the database takes on the server (catalogs, indexes, free space). */
  databaseBytes: number;
  /** The tables' own data (with TOAST, without indexes): what a dump holds at most, before compression. */
  tableBytes: number;
}

/** The sizes of one database; also the proof that it answers. */
export async function databaseSize(databaseUrl: string): Promise<DatabaseSize> {
  const client = connect(databaseUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ database_bytes: string; table_bytes: string }>(
      `SELECT pg_database_size(current_database()) AS database_bytes,
              coalesce(sum(pg_table_size(c.oid)), 0) AS table_bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    return { databaseBytes: Number(rows[0]!.database_bytes), tableBytes: Number(rows[0]!.table_bytes) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
