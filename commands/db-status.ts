/**
 * `db status`: the runbook's database checks (pg_isready, active connections from
 * pg_stat_activity, per-table inserts/updates/deletes from pg_stat_user_tables) against the
 * stack's PostgreSQL (DATABASE_URL).
 */
import { z } from 'zod';
import type { DatabaseStatistics } from '../services/stack/stack-database.js';
import { defineCommand, type CommandContext } from './command.js';
import { formatCount, formatMs } from './format.js';
import { describePostgresError, probePostgres, withDeadline, DeadlineError } from './health-probes.js';
import type { ResultDocument } from './result.js';

/** More tables than this are summarised; the stack's databases have a handful. */
export const DB_STATUS_MAX_TABLES = 30;

const WHAT_TO_TRY =
  'The runbook\'s diagnosis: `docker-compose ps postgres`, `docker-compose logs postgres`, `pg_isready -U acgs`; restart with `docker-compose restart postgres`.';

function notConfigured(): ResultDocument {
  return {
    title: 'Database status',
    tone: 'info',
    summary: 'No PostgreSQL is configured for the bot: DATABASE_URL is not set.',
    blocks: [{ type: 'text', text: 'The local stack (`npm start`) keeps its data in embedded PGlite, which serves only the services themselves. Set DATABASE_URL to the stack\'s PostgreSQL to see its status here.' }],
    data: { configured: false },
  };
}

function unreachable(location: string, problem: string, latencyMs: number): ResultDocument {
  return {
    title: 'Database status',
    tone: 'fail',
    summary: `PostgreSQL at ${location} is not reachable.`,
    blocks: [{ type: 'checks', items: [{ name: 'PostgreSQL', tone: 'fail', text: `${problem} (after ${formatMs(latencyMs)})` }] }],
    footer: WHAT_TO_TRY,
    data: { configured: true, reachable: false, location, problem },
  };
}

async function runDbStatus(context: CommandContext): Promise<ResultDocument> {
  const { database, checkTimeoutMs } = context.services;
  if (!database) return notConfigured();
  const { location } = database;
  const probe = await probePostgres(database, checkTimeoutMs, context.signal);
  if (!probe.ok) return unreachable(location, probe.problem, probe.latencyMs);

  let statistics: DatabaseStatistics;
  try {
    statistics = await withDeadline(checkTimeoutMs, context.signal, () => database.statistics());
  } catch (error) {
    const problem = error instanceof DeadlineError ? `the statistics queries got ${error.message}` : describePostgresError(error);
    return unreachable(location, problem, checkTimeoutMs);
  }
  const { connections, tables } = statistics;
  const active = Number(connections.active);
  const total = Number(connections.total);
  const max = Number(connections.max_connections);
  const shown = tables.slice(0, DB_STATUS_MAX_TABLES);
  const tableData = tables.map((table) => ({
    schema: table.schemaname,
    table: table.relname,
    inserts: Number(table.inserts),
    updates: Number(table.updates),
    deletes: Number(table.deletes),
    live_rows: Number(table.live_rows),
  }));
  return {
    title: 'Database status',
    tone: 'ok',
    summary: `PostgreSQL ${probe.value.version} at ${location} answers; ${active} active of ${total} connections (max ${max}).`,
    blocks: [
      { type: 'checks', items: [{ name: 'PostgreSQL', tone: 'ok', text: `reachable · ${formatMs(probe.latencyMs)} · ${probe.value.version}` }] },
      {
        type: 'fields',
        fields: [
          { label: 'Database', value: connections.database },
          { label: 'Active connections', value: `${active}` },
          { label: 'Open connections', value: `${total} of ${max}` },
          { label: 'Tables', value: `${tables.length}` },
        ],
      },
      tables.length === 0
        ? { type: 'text', text: 'The database has no tables of its own yet.' }
        : {
            type: 'table',
            columns: ['table', 'inserts', 'updates', 'deletes', 'live rows'],
            rows: shown.map((table) => [
              table.schemaname === 'public' ? table.relname : `${table.schemaname}.${table.relname}`,
              formatCount(Number(table.inserts)),
              formatCount(Number(table.updates)),
              formatCount(Number(table.deletes)),
              formatCount(Number(table.live_rows)),
            ]),
          },
    ],
    ...(tables.length > shown.length ? { footer: `${tables.length - shown.length} more tables are in the --json output.` } : {}),
    data: {
      configured: true,
      reachable: true,
      location,
      version: probe.value.version,
      latency_ms: Math.round(probe.latencyMs * 10) / 10,
      database: connections.database,
      connections: { active, total, max },
      tables: tableData,
    },
  };
}

export const dbStatus = defineCommand({
  name: 'db status',
  summary: 'PostgreSQL: reachability, connections, per-table activity',
  examples: ['db status'],
  level: 'read',
  args: z.object({}),
  run: (context) => runDbStatus(context),
});
