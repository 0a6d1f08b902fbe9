/**
 * The StackDatabase port on a pg pool opened by openStackPostgres (stack-connections.ts): every
 * SQL statement the bot's commands need lives here.
 */
import type { Pool } from 'pg';
import { postgresLocation } from './stack-connections.js';
import type {
  ClientConnections,
  ConnectionGroup,
  IdleInTransaction,
  IdleSession,
  SlowQueries,
  SlowQuery,
  StackDatabase,
  TableActivity,
} from './stack-database.js';

interface StaleSessionRow {
  pid: number;
  user_name: string | null;
  application: string;
  database: string | null;
  since: Date;
  idle_seconds: string;
}

// The bot's own sessions are its current backend and any with its application name (its pool's other connections).
const STALE_IDLE_IN_TRANSACTION = `
  backend_type = 'client backend'
  AND state IN ('idle in transaction', 'idle in transaction (aborted)')
  AND state_change < now() - make_interval(secs => $1)
  AND pid <> pg_backend_pid()
  AND application_name IS DISTINCT FROM current_setting('application_name')`;

const toSession = (row: StaleSessionRow): IdleSession => ({
  pid: row.pid,
  user: row.user_name,
  application: row.application,
  database: row.database,
  since: row.since.toISOString(),
  idle_seconds: Math.round(Number(row.idle_seconds)),
});

/** Why the slowest statements cannot be read, with the steps that would make them readable; null when they can. */
function slowQueriesMissing(state: { preloaded: boolean; created: boolean; installable: boolean }): SlowQueries | null {
  const create = 'CREATE EXTENSION pg_stat_statements; in the stack\'s database';
  const preload = "shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (then restart PostgreSQL)";
  if (!state.installable) return { available: false, reason: 'the pg_stat_statements extension is not installed on this PostgreSQL server', howToEnable: `install PostgreSQL's contrib package, set ${preload}, then run ${create}` };
  if (!state.preloaded) return { available: false, reason: 'pg_stat_statements is not loaded by this PostgreSQL server', howToEnable: `set ${preload}${state.created ? '' : `, then run ${create}`}` };
  if (!state.created) return { available: false, reason: 'pg_stat_statements is loaded but not created in this database', howToEnable: `run ${create}` };
  return null;
}

export function stackDatabaseOn(pool: Pool): StackDatabase {
  return {
    location: postgresLocation(pool),

    async serverVersion() {
      const { rows } = await pool.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return rows[0]?.version ?? 'unknown';
    },

    async statistics() {
      const connections = await pool.query<ClientConnections>(
        `SELECT current_database() AS database,
                count(*) FILTER (WHERE state = 'active') AS active,
                count(*) AS total,
                current_setting('max_connections') AS max_connections,
                pg_database_size(current_database()) AS size_bytes
           FROM pg_stat_activity
          WHERE backend_type = 'client backend'`,
      );
      const tables = await pool.query<TableActivity>(
        `SELECT schemaname, relname, n_tup_ins AS inserts, n_tup_upd AS updates, n_tup_del AS deletes, n_live_tup AS live_rows
           FROM pg_stat_user_tables
          ORDER BY schemaname, relname`,
      );
      return { connections: connections.rows[0]!, tables: tables.rows };
    },

    async connectionActivity() {
      // Client backends only: autovacuum and the WAL writer are not connections anyone can run out of.
      const groups = await pool.query<ConnectionGroup>(
        `SELECT coalesce(state, 'unknown') AS state,
                coalesce(nullif(application_name, ''), '(none)') AS application,
                count(*) AS connections,
                max(extract(epoch FROM now() - coalesce(state_change, backend_start))) AS oldest_seconds
           FROM pg_stat_activity
          WHERE backend_type = 'client backend'
          GROUP BY 1, 2
          ORDER BY count(*) DESC, 1, 2`,
      );
      const idle = await pool.query<IdleInTransaction>(
        `SELECT pid, datname AS database, coalesce(nullif(application_name, ''), '(none)') AS application, usename AS user_name,
                extract(epoch FROM now() - state_change) AS idle_seconds
           FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND state IN ('idle in transaction', 'idle in transaction (aborted)')
          ORDER BY state_change ASC`,
      );
      const settings = await pool.query<{ max_connections: string }>(`SELECT current_setting('max_connections') AS max_connections`);
      return { groups: groups.rows, idle: idle.rows, maxConnections: Number(settings.rows[0]!.max_connections) };
    },

    async staleIdleSessions(minIdleSeconds) {
      const result = await pool.query<StaleSessionRow>(
        `SELECT pid, usename AS user_name, coalesce(nullif(application_name, ''), '(none)') AS application, datname AS database,
                state_change AS since, extract(epoch FROM now() - state_change) AS idle_seconds
           FROM pg_stat_activity
          WHERE ${STALE_IDLE_IN_TRANSACTION}
          ORDER BY state_change ASC, pid ASC`,
        [minIdleSeconds],
      );
      return result.rows.map(toSession);
    },

    async terminateStaleIdleSessions(pids, minIdleSeconds) {
      if (pids.length === 0) return { terminated: [], gone: [] };
      const result = await pool.query<StaleSessionRow & { terminated: boolean }>(
        `SELECT pid, usename AS user_name, coalesce(nullif(application_name, ''), '(none)') AS application, datname AS database,
                state_change AS since, extract(epoch FROM now() - state_change) AS idle_seconds,
                pg_terminate_backend(pid) AS terminated
           FROM pg_stat_activity
          WHERE pid = ANY($2::int[]) AND ${STALE_IDLE_IN_TRANSACTION}
          ORDER BY state_change ASC, pid ASC`,
        [minIdleSeconds, [...pids]],
      );
      const terminated = result.rows.filter((row) => row.terminated).map(toSession);
      const done = new Set(terminated.map((session) => session.pid));
      return { terminated, gone: pids.filter((pid) => !done.has(pid)) };
    },

    async slowQueries(limit) {
      const state = await pool.query<{ preloaded: boolean; created: boolean; installable: boolean }>(
        `SELECT 'pg_stat_statements' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS preloaded,
                EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS created,
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS installable`,
      );
      const { preloaded, created, installable } = state.rows[0]!;
      const missing = slowQueriesMissing({ preloaded, created, installable });
      if (missing) return missing;
      // The statistics are the server's; only this database's statements are the stack's.
      const { rows } = await pool.query<SlowQuery>(
        `SELECT query, calls::text AS calls, round(mean_exec_time::numeric, 3)::text AS mean_ms, round(total_exec_time::numeric, 3)::text AS total_ms,
                round(max_exec_time::numeric, 3)::text AS max_ms, rows::text AS rows
           FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0
          ORDER BY mean_exec_time DESC
          LIMIT $1`,
        [limit],
      );
      return { available: true, queries: rows };
    },

    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
