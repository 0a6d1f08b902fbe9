/**
 * The stack's own PostgreSQL as commands see it (DESIGN.md: commands hold no SQL): the readings
 * `db status` and `db connections` show and the one action `db kill-idle` takes, as plain data.
 * The implementation on pg is stack-database-on-pg.ts; the composition roots open it from
 * DATABASE_URL. Counts and durations that PostgreSQL computes as bigint or numeric arrive as its
 * exact decimal text, as pg hands them over; the documents turn them into numbers.
 */

/** Client connections of the whole server, seen from the configured database. */
export interface ClientConnections {
  database: string;
  active: string;
  total: string;
  max_connections: string;
  /** pg_database_size of the configured database, in bytes (the capacity report's database size). */
  size_bytes: string;
}

/** pg_stat_user_tables: one table's row activity since the statistics were last reset. */
export interface TableActivity {
  schemaname: string;
  relname: string;
  inserts: string;
  updates: string;
  deletes: string;
  live_rows: string;
}

export interface DatabaseStatistics {
  connections: ClientConnections;
  /** Ordered by schema, then table. */
  tables: TableActivity[];
}

/** Client connections of one state and application, and how long the oldest has been in that state. */
export interface ConnectionGroup {
  state: string;
  application: string;
  connections: string;
  oldest_seconds: string | null;
}

/** A session idle in a transaction (holding a connection and its locks). */
export interface IdleInTransaction {
  pid: number;
  database: string | null;
  application: string;
  user_name: string | null;
  idle_seconds: string;
}

export interface ConnectionActivity {
  /** Largest groups first. */
  groups: ConnectionGroup[];
  /** Longest idle first. */
  idle: IdleInTransaction[];
  maxConnections: number;
}

/** A session `db kill-idle` may end: idle in a transaction past the threshold, and not the bot's own. */
export interface IdleSession {
  pid: number;
  user: string | null;
  application: string;
  database: string | null;
  /** When the session went idle in its transaction (ISO). */
  since: string;
  idle_seconds: number;
}

export interface Termination {
  terminated: IdleSession[];
  /** Pids that were no longer idle in a transaction past the threshold (ended, committed or busy again). */
  gone: number[];
}

/** One statement from pg_stat_statements, with its timings in milliseconds since the statistics were last reset. */
export interface SlowQuery {
  /** The normalised text ($1 for constants), as PostgreSQL keeps it. */
  query: string;
  calls: string;
  mean_ms: string;
  total_ms: string;
  max_ms: string;
  rows: string;
}

/**
 * The slowest statements, or why the server cannot tell: pg_stat_statements is an extension that
 * must be both preloaded (shared_preload_libraries, a restart) and created in the database.
 */
export type SlowQueries = { available: true; queries: SlowQuery[] } | { available: false; reason: string; howToEnable: string };

export interface StackDatabase {
  /** `host:port/database`, for messages; never the password. */
  readonly location: string;
  /** The server's version; the one round trip a reachability probe makes. */
  serverVersion(): Promise<string>;
  /** Connections (client backends only) and per-table activity: `db status`. */
  statistics(): Promise<DatabaseStatistics>;
  /** Connections by state and application and the sessions idle in a transaction: `db connections`. */
  connectionActivity(): Promise<ConnectionActivity>;
  /** The sessions idle in a transaction for longer than `minIdleSeconds`, oldest first, never the bot's own. */
  staleIdleSessions(minIdleSeconds: number): Promise<IdleSession[]>;
  /** Terminates those of `pids` that are still stale idle sessions, in one statement. */
  terminateStaleIdleSessions(pids: readonly number[], minIdleSeconds: number): Promise<Termination>;
  /** The statements with the highest mean time first (pg_stat_statements), at most `limit`. */
  slowQueries(limit: number): Promise<SlowQueries>;
  close(): Promise<void>;
}
