/**
 * `db connections`: the runbook's "Check connection count" step, widened to what a person needs
 * when connections run out: pg_stat_activity by state and application, and the sessions idle in a
 * transaction (which hold locks and a connection) with the oldest one, marked against the
 * runbook's one hour after which it terminates them. The bot shows them; it terminates nothing.
 */
import { z } from 'zod';
import type { ConnectionActivity } from '../services/stack/stack-database.js';
import { defineCommand, type CommandContext } from './command.js';
import { clip, formatCount, formatDuration, formatMs } from './format.js';
import { DeadlineError, describePostgresError, probePostgres, withDeadline } from './health-probes.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { RUNBOOK_THRESHOLDS } from './thresholds.js';

/** Groups beyond this are summed into one row; the stack has a handful of applications. */
export const DB_CONNECTIONS_MAX_ROWS = 25;

const TERMINATE_HINT =
  "The runbook's fix for sessions idle in a transaction for over an hour: SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < current_timestamp - interval '1 hour'; (run by a person, not by the bot).";

function failure(location: string, problem: string): ResultDocument {
  return {
    title: 'Database connections',
    tone: 'fail',
    summary: `PostgreSQL at ${location} is not reachable.`,
    blocks: [{ type: 'checks', items: [{ name: 'PostgreSQL', tone: 'fail', text: problem }] }],
    footer: "The runbook's diagnosis: `docker-compose ps postgres`, `docker-compose logs postgres`, `pg_isready -U acgs`.",
    data: { configured: true, reachable: false, location, problem },
  };
}

/** pg_stat_activity as numbers, with the sessions idle in a transaction past the runbook's hour (`stale`): the document and the database runbook read it. */
export function connectionFindings(activity: ConnectionActivity) {
  const groups = activity.groups.map((row) => ({
    state: row.state,
    application: row.application,
    connections: Number(row.connections),
    oldest_seconds: row.oldest_seconds === null ? null : Math.round(Number(row.oldest_seconds)),
  }));
  const idle = activity.idle.map((row) => ({
    pid: row.pid,
    database: row.database,
    application: row.application,
    user: row.user_name,
    idle_seconds: Math.round(Number(row.idle_seconds)),
  }));
  const total = groups.reduce((sum, group) => sum + group.connections, 0);
  const byState = (state: string) => groups.filter((group) => group.state === state).reduce((sum, group) => sum + group.connections, 0);
  const alertSeconds = RUNBOOK_THRESHOLDS.idleInTransactionSeconds.alert;
  const stale = idle.filter((session) => session.idle_seconds >= alertSeconds);
  return { groups, idle, total, active: byState('active'), idleConnections: byState('idle'), stale, alertSeconds, maxConnections: activity.maxConnections };
}

export function dbConnectionsDocument(location: string, activity: ConnectionActivity, latencyMs: number): ResultDocument {
  const { groups, idle, total, active, idleConnections, stale, alertSeconds } = connectionFindings(activity);
  const oldest = idle[0];
  const idleTone: Tone = stale.length > 0 ? 'warn' : 'ok';
  const items: CheckLine[] = [
    { name: 'PostgreSQL', tone: 'ok', text: `reachable · ${formatMs(latencyMs)}` },
    { name: 'Connections', tone: 'info', text: `${formatCount(total)} of ${formatCount(activity.maxConnections)} · ${active} active, ${idleConnections} idle` },
    {
      name: 'Idle in transaction',
      tone: idleTone,
      text:
        idle.length === 0
          ? 'none'
          : `${idle.length} · oldest ${formatDuration(oldest!.idle_seconds)} (pid ${oldest!.pid}, ${clip(oldest!.application, 40)}${oldest!.database ? ` on ${clip(oldest!.database, 40)}` : ''})${stale.length > 0 ? ` · ${stale.length} over the runbook's ${formatDuration(alertSeconds)}` : ''}`,
    },
  ];
  const shown = groups.slice(0, DB_CONNECTIONS_MAX_ROWS);
  const rest = groups.slice(DB_CONNECTIONS_MAX_ROWS);
  const rows = shown.map((group) => [group.state, clip(group.application, 40), formatCount(group.connections), group.oldest_seconds === null ? '-' : formatDuration(group.oldest_seconds)]);
  if (rest.length > 0) rows.push([`(${rest.length} more groups)`, '', formatCount(rest.reduce((sum, group) => sum + group.connections, 0)), '']);
  return {
    title: 'Database connections',
    tone: worstTone(items.map((item) => item.tone)),
    summary:
      stale.length > 0
        ? `${stale.length} session${stale.length === 1 ? ' has' : 's have'} been idle in a transaction for over ${formatDuration(alertSeconds)}, holding connections and locks.`
        : `${formatCount(total)} client connections to PostgreSQL at ${location}; none idle in a transaction for long.`,
    blocks: [
      { type: 'checks', items },
      { type: 'table', columns: ['state', 'application', 'connections', 'longest in state'], rows },
    ],
    footer: stale.length > 0 ? TERMINATE_HINT : `pg_stat_activity at ${location}, client backends of every database`,
    data: { configured: true, reachable: true, location, max_connections: activity.maxConnections, total, groups, idle_in_transaction: idle },
  };
}

async function runDbConnections(context: CommandContext): Promise<ResultDocument> {
  const { database, checkTimeoutMs } = context.services;
  if (!database) {
    return {
      title: 'Database connections',
      tone: 'info',
      summary: 'No PostgreSQL is configured for the bot: DATABASE_URL is not set.',
      blocks: [{ type: 'text', text: "The local stack (`npm start`) keeps its data in embedded PGlite, one session per database. Set DATABASE_URL to the stack's PostgreSQL to see its connections here." }],
      data: { configured: false },
    };
  }
  const { location } = database;
  const probe = await probePostgres(database, checkTimeoutMs, context.signal);
  if (!probe.ok) return failure(location, probe.problem);
  try {
    const activity = await withDeadline(checkTimeoutMs, context.signal, () => database.connectionActivity());
    return dbConnectionsDocument(location, activity, probe.latencyMs);
  } catch (error) {
    return failure(location, error instanceof DeadlineError ? `pg_stat_activity got ${error.message}` : describePostgresError(error));
  }
}

export const dbConnections = defineCommand({
  name: 'db connections',
  summary: 'PostgreSQL connections by state and application; sessions idle in a transaction',
  examples: ['db connections'],
  level: 'read',
  args: z.object({}),
  run: (context) => runDbConnections(context),
});
