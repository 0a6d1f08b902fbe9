/**
 * A logical dump of a live embedded database (PGlite), taken inside the thread that owns it, with
 * its tables' row counts from the very same state. PGlite has one session, which the loopback
 * socket lends to the service's one connection: the dump must neither run inside that client's
 * transaction nor leave anything of its own in the session (pg_dump opens a read-only transaction
 * it never ends, changes settings and deallocates every prepared statement).
 *
 * How: the dump holds PGlite's query lock from its first statement to its last, so no client
 * message runs in between (one consistent state, whatever the clients write), and it starts only
 * when the session is idle: the client's last message was answered with ReadyForQuery "idle", not
 * in a transaction and not half-way through an extended-query exchange (Parse ... Sync), which
 * the socket hands to PGlite one message at a time. Until then it lets the client go on and looks
 * again. Afterwards it ends pg_dump's transaction, puts back the settings pg_dump changed and
 * removes only the statements pg_dump prepared.
 */
import type { PGlite } from '@electric-sql/pglite';
import { protocol } from '@electric-sql/pglite';
import { pgDump } from '@electric-sql/pglite-tools/pg_dump';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface SessionDump {
  /** Plain SQL, as pg_dump --inserts writes it. */
  sql: string;
  /** `schema.table` -> exact row count, from the state the dump read. */
  rowCounts: Record<string, number>;
  /** Tool and server versions, for the manifest. */
  tools: Record<string, string>;
  /** How long the session was held (no client ran meanwhile). */
  heldMs: number;
}

/** ReadyForQuery, status "idle": type Z, length 5, status I. */
const READY_IDLE = [0x5a, 0, 0, 0, 5, 0x49];

/**
 * Watches what the socket's client is answered, to know when its session is idle. The socket
 * server gets `db` (a view of the same instance) and every message it runs passes here.
 */
export interface SessionWatch {
  db: PGlite;
  idle(): boolean;
}

/**
 * `clients()` says how many socket clients are connected: with none, a half-done exchange of one
 * that left is nobody's (its open transaction still counts until the socket rolls it back).
 */
export function watchSession(target: PGlite, clients: () => number = () => 1): SessionWatch {
  let idle = true;
  const observed = (message: Uint8Array, options: { onRawData: (data: Uint8Array) => void; syncToFs?: boolean }) => {
    idle = false;
    let tail: number[] = [];
    return target.execProtocolRawStream(message, {
      ...options,
      onRawData(data) {
        tail = [...tail, ...data.subarray(Math.max(0, data.length - READY_IDLE.length))].slice(-READY_IDLE.length);
        idle = tail.length === READY_IDLE.length && tail.every((byte, index) => byte === READY_IDLE[index]);
        options.onRawData(data);
      },
    });
  };
  // Methods run on the instance itself: PGlite keeps its state in private fields a proxy lacks.
  const db = new Proxy(target, {
    get(instance, property) {
      if (property === 'execProtocolRawStream') return observed;
      const value = Reflect.get(instance, property, instance) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(instance) : value;
    },
  });
  return { db, idle: () => (idle || clients() === 0) && !target.isInTransaction() };
}

type Row = Array<string | null>;

/** A query on the session while the caller holds the query lock (PGlite's own query() would wait for it). */
async function lockedQuery(db: PGlite, sql: string): Promise<{ columns: string[]; rows: Row[] }> {
  const messages = await db.execProtocolStream(protocol.serialize.query(sql));
  let columns: string[] = [];
  const rows: Row[] = [];
  for (const message of messages) {
    if (message instanceof protocol.messages.RowDescriptionMessage) columns = message.fields.map((field) => field.name);
    if (message instanceof protocol.messages.DataRowMessage) rows.push(message.fields as Row);
  }
  return { columns, rows };
}

const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
const quoteIdentifier = (value: string) => `"${value.replace(/"/g, '""')}"`;

/** Exact row counts of every table outside the system schemas, keyed `schema.table`. */
export async function countRows(query: (sql: string) => Promise<Row[]>): Promise<Record<string, number>> {
  const tables = await query(
    `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, 2`,
  );
  const counts: Record<string, number> = {};
  for (const [schema, name] of tables) {
    const [[rows]] = (await query(`SELECT count(*) FROM ${quoteIdentifier(schema!)}.${quoteIdentifier(name!)}`)) as [[string]];
    counts[`${schema}.${name}`] = Number(rows);
  }
  return counts;
}

export function packageVersion(specifier: string): string {
  // The packages export no package.json; it sits beside their dist/.
  const entry = createRequire(import.meta.url).resolve(specifier);
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export class SessionBusyError extends Error {
  constructor(waitedMs: number) {
    super(`a client of the embedded database stayed inside a transaction (or an unfinished query) for ${Math.round(waitedMs / 1000)} s; nothing was dumped: try again`);
    this.name = 'SessionBusyError';
  }
}

/** Takes the query lock with the session idle, or gives up after `waitMs`. */
async function whenIdle<T>(watch: SessionWatch, db: PGlite, waitMs: number, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  for (;;) {
    signal?.throwIfAborted();
    const outcome = await db.runExclusive(async () => (watch.idle() ? { done: true as const, value: await work() } : { done: false as const }));
    if (outcome.done) return outcome.value;
    if (performance.now() - started > waitMs) throw new SessionBusyError(performance.now() - started);
    // The client's next message runs meanwhile (it waits for the same lock).
    await delay(10);
  }
}

/** The sizes backup's check reports: the database on disk, and its tables' data (what a dump holds at most). */
export async function sessionSizes(db: PGlite, watch: SessionWatch, options: { waitMs?: number } = {}): Promise<{ databaseBytes: number; tableBytes: number }> {
  return whenIdle(watch, db, options.waitMs ?? 60_000, undefined, async () => {
    const [[databaseBytes, tableBytes]] = (await lockedQuery(db, `SELECT pg_database_size(current_database()),
              coalesce(sum(pg_table_size(c.oid)), 0)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)).rows as [[string, string]];
    return { databaseBytes: Number(databaseBytes), tableBytes: Number(tableBytes) };
  });
}

/** Every table's rows now (restore's plan and check), counted with the session idle. */
export async function sessionRowCounts(db: PGlite, watch: SessionWatch, options: { waitMs?: number } = {}): Promise<Record<string, number>> {
  return whenIdle(watch, db, options.waitMs ?? 60_000, undefined, () => countRows(async (sql) => (await lockedQuery(db, sql)).rows));
}

export async function dumpSession(db: PGlite, watch: SessionWatch, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<SessionDump> {
  return whenIdle(watch, db, options.waitMs ?? 60_000, options.signal, async () => {
    const started = performance.now();
    const query = async (sql: string) => (await lockedQuery(db, sql)).rows;
    const settingsBefore = new Map((await query(`SELECT name, setting FROM pg_settings WHERE context IN ('user', 'superuser')`)).map(([name, setting]) => [name!, setting]));
    const preparedBefore = new Set((await query('SELECT name FROM pg_prepared_statements')).map(([name]) => name!));
    try {
      const rowCounts = await countRows(query);
      const [[server]] = (await query('SHOW server_version')) as [[string]];
      // pg_dump reaches the session through these three methods only; they must not wait for the lock held here.
      const session = {
        async query(sql: string) {
          const { columns, rows } = await lockedQuery(db, sql);
          return { rows: rows.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index]]))) };
        },
        async exec(sql: string) {
          // pg_dump's own prepared statements go; the client's stay.
          if (/^DEALLOCATE ALL$/i.test(sql.trim())) {
            for (const [name] of await query('SELECT name FROM pg_prepared_statements')) {
              if (!preparedBefore.has(name!)) await query(`DEALLOCATE ${quoteIdentifier(name!)}`);
            }
            return [];
          }
          await lockedQuery(db, sql);
          return [];
        },
        execProtocolRawStream: db.execProtocolRawStream.bind(db),
      };
      const file = await pgDump({ pg: session as unknown as PGlite });
      const sql = await file.text();
      const dumpedBy = /^-- Dumped by pg_dump version (.+)$/m.exec(sql)?.[1] ?? 'unknown';
      return {
        sql,
        rowCounts,
        tools: {
          pg_dump: `pg_dump (PostgreSQL) ${dumpedBy}, wasm build of @electric-sql/pglite-tools ${packageVersion('@electric-sql/pglite-tools/pg_dump')}`,
          pglite: `PostgreSQL ${server}, @electric-sql/pglite ${packageVersion('@electric-sql/pglite')}`,
        },
        heldMs: Math.round(performance.now() - started),
      };
    } finally {
      // pg_dump's read-only transaction ends here, and with it its transaction-level settings.
      if (db.isInTransaction()) await query('ROLLBACK');
      for (const [name, setting] of await query(`SELECT name, setting FROM pg_settings WHERE context IN ('user', 'superuser')`)) {
        if (settingsBefore.has(name!) && settingsBefore.get(name!) !== setting) {
          await query(`SELECT set_config(${quoteLiteral(name!)}, ${quoteLiteral(settingsBefore.get(name!) ?? '')}, false)`);
        }
      }
    }
  });
}
