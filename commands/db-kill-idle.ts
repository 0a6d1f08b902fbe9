/**
 * `db kill-idle` (Level 2): the runbook's fix for sessions idle in a transaction for over an hour,
 * which hold a connection and their locks. The approval is bound to the exact set of sessions the
 * approver saw; the run terminates only those that are still idle in a transaction past the
 * threshold, and never the bot's own sessions.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { z } from 'zod';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { clip, formatCount, formatDuration } from './format.js';
import { describePostgresError } from './health-probes.js';
import type { ResultDocument } from './result.js';
import { postgresLocation } from '../services/stack/stack-connections.js';
import { RUNBOOK_THRESHOLDS } from './thresholds.js';

/** The runbook's one hour; a parameter of the queries so tests can use seconds. */
export const KILL_IDLE_AFTER_SECONDS = RUNBOOK_THRESHOLDS.idleInTransactionSeconds.alert;

/** Sessions listed in the plan and the result; the rest are counted. */
const MAX_LISTED = 20;

export interface IdleSession {
  pid: number;
  user: string | null;
  application: string;
  database: string | null;
  /** When the session went idle in its transaction (ISO). */
  since: string;
  idle_seconds: number;
}

interface IdleRow {
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

const toSession = (row: IdleRow): IdleSession => ({
  pid: row.pid,
  user: row.user_name,
  application: row.application,
  database: row.database,
  since: row.since.toISOString(),
  idle_seconds: Math.round(Number(row.idle_seconds)),
});

/** The sessions idle in a transaction for longer than `minIdleSeconds`, oldest first. */
export async function listStaleIdleSessions(pool: Pool, minIdleSeconds: number): Promise<IdleSession[]> {
  const result = await pool.query<IdleRow>(
    `SELECT pid, usename AS user_name, coalesce(nullif(application_name, ''), '(none)') AS application, datname AS database,
            state_change AS since, extract(epoch FROM now() - state_change) AS idle_seconds
       FROM pg_stat_activity
      WHERE ${STALE_IDLE_IN_TRANSACTION}
      ORDER BY state_change ASC, pid ASC`,
    [minIdleSeconds],
  );
  return result.rows.map(toSession);
}

export interface Termination {
  terminated: IdleSession[];
  /** Pids that were no longer idle in a transaction past the threshold (ended, committed or busy again). */
  gone: number[];
}

/** Terminates those of `pids` that are still idle in a transaction past the threshold, in one statement. */
export async function terminateStaleIdleSessions(pool: Pool, pids: readonly number[], minIdleSeconds: number): Promise<Termination> {
  if (pids.length === 0) return { terminated: [], gone: [] };
  const result = await pool.query<IdleRow & { terminated: boolean }>(
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
}

function requirePostgres(context: CommandContext): Pool {
  const { postgres } = context.services;
  if (!postgres) {
    throw new CommandError(
      '`db kill-idle` needs the stack\'s PostgreSQL, and DATABASE_URL is not set for the bot; nothing was terminated.',
      "Set DATABASE_URL to the stack's PostgreSQL (the local stack's embedded PGlite has no sessions to end).",
      'unavailable',
    );
  }
  return postgres;
}

async function readSessions(pool: Pool): Promise<IdleSession[]> {
  try {
    return await listStaleIdleSessions(pool, KILL_IDLE_AFTER_SECONDS);
  } catch (error) {
    throw new CommandError(`PostgreSQL at ${postgresLocation(pool)} could not be read: ${describePostgresError(error)}; nothing was terminated.`, undefined, 'unavailable');
  }
}

/** "pids 12, 34" while it is readable; a digest of the sorted pids past the approval store's 200 characters. */
export function pidsFingerprint(sessions: readonly { pid: number }[]): string {
  if (sessions.length === 0) return 'no sessions';
  const pids = sessions.map((session) => session.pid).sort((a, b) => a - b).join(', ');
  if (pids.length <= 180) return `pids ${pids}`;
  return `${sessions.length} sessions · pids sha256 ${createHash('sha256').update(pids).digest('hex').slice(0, 16)}`;
}

const describeSession = (session: IdleSession) =>
  `pid ${session.pid} · ${clip(session.user ?? '(no user)', 40)} · ${clip(session.application, 40)} · idle in transaction since ${session.since} (${formatDuration(session.idle_seconds)})`;

function listed(sessions: readonly IdleSession[]): string {
  const lines = sessions.slice(0, MAX_LISTED).map(describeSession);
  if (sessions.length > MAX_LISTED) lines.push(`and ${sessions.length - MAX_LISTED} more`);
  return lines.join('\n');
}

export function killIdleDocument(location: string, result: Termination): ResultDocument {
  const count = result.terminated.length;
  const rows = result.terminated.slice(0, MAX_LISTED).map((session) => [String(session.pid), clip(session.user ?? '', 40), clip(session.application, 40), session.since, formatDuration(session.idle_seconds)]);
  return {
    title: 'Idle sessions terminated',
    tone: result.gone.length > 0 || count === 0 ? 'warn' : 'ok',
    summary: `${formatCount(count)} session${count === 1 ? '' : 's'} idle in a transaction for over ${formatDuration(KILL_IDLE_AFTER_SECONDS)} ${count === 1 ? 'was' : 'were'} terminated on ${location}${result.gone.length > 0 ? `; ${result.gone.length} had ended or moved on already (pids ${result.gone.join(', ')})` : ''}.`,
    blocks: count > 0 ? [{ type: 'table', columns: ['pid', 'user', 'application', 'idle since', 'idle for'], rows }] : [],
    actions: [{ label: 'DB connections', command: 'db connections' }],
    footer: 'Level 2 (runbook: idle in transaction > 1 h) · pg_terminate_backend',
    data: { location, terminated: result.terminated, gone: result.gone },
  };
}

export const dbKillIdle = defineCommand({
  name: 'db kill-idle',
  summary: "Terminate PostgreSQL sessions idle in a transaction for over an hour (Level 2: needs an approval)",
  examples: ['db kill-idle'],
  level: 2,
  args: z.object({}),
  // The approval names the sessions: a different set at run time is another decision and asks again.
  async plan(context) {
    const pool = requirePostgres(context);
    const sessions = await readSessions(pool);
    if (sessions.length === 0) {
      throw new CommandError(
        `No session on ${postgresLocation(pool)} has been idle in a transaction for over ${formatDuration(KILL_IDLE_AFTER_SECONDS)}; nothing to terminate.`,
        '`db connections` shows the sessions idle in a transaction and for how long.',
        'refused',
      );
    }
    return {
      summary: `Terminate ${sessions.length} session${sessions.length === 1 ? '' : 's'} idle in a transaction for over ${formatDuration(KILL_IDLE_AFTER_SECONDS)}:\n${listed(sessions)}`,
      target: postgresLocation(pool),
      fingerprint: pidsFingerprint(sessions),
    };
  },
  async run(context) {
    const pool = requirePostgres(context);
    // The approved set was re-checked just before this run; a session may still end in between.
    const sessions = await readSessions(pool);
    try {
      const result = await terminateStaleIdleSessions(pool, sessions.map((session) => session.pid), KILL_IDLE_AFTER_SECONDS);
      return killIdleDocument(postgresLocation(pool), result);
    } catch (error) {
      throw new CommandError(`Terminating the sessions on ${postgresLocation(pool)} failed: ${describePostgresError(error)}.`, undefined, 'unavailable');
    }
  },
});
