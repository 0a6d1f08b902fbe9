/**
 * `db kill-idle` (Level 2): the runbook's fix for sessions idle in a transaction for over an hour,
 * which hold a connection and their locks. The approval is bound to the exact set of sessions the
 * approver saw; the run terminates only those that are still idle in a transaction past the
 * threshold, and never the bot's own sessions.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IdleSession, StackDatabase, Termination } from '../services/stack/stack-database.js';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { clip, formatCount, formatDuration } from './format.js';
import { describePostgresError } from './health-probes.js';
import type { ResultDocument } from './result.js';
import { RUNBOOK_THRESHOLDS } from './thresholds.js';

/** The runbook's one hour; a parameter of the queries so tests can use seconds. */
export const KILL_IDLE_AFTER_SECONDS = RUNBOOK_THRESHOLDS.idleInTransactionSeconds.alert;

/** Sessions listed in the plan and the result; the rest are counted. */
const MAX_LISTED = 20;

function requirePostgres(context: CommandContext): StackDatabase {
  const { database } = context.services;
  if (!database) {
    throw new CommandError(
      '`db kill-idle` needs the stack\'s PostgreSQL, and DATABASE_URL is not set for the bot; nothing was terminated.',
      "Set DATABASE_URL to the stack's PostgreSQL (the local stack's embedded PGlite has no sessions to end).",
      'unavailable',
    );
  }
  return database;
}

async function readSessions(database: StackDatabase): Promise<IdleSession[]> {
  try {
    return await database.staleIdleSessions(KILL_IDLE_AFTER_SECONDS);
  } catch (error) {
    throw new CommandError(`PostgreSQL at ${database.location} could not be read: ${describePostgresError(error)}; nothing was terminated.`, undefined, 'unavailable');
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
    const database = requirePostgres(context);
    const sessions = await readSessions(database);
    if (sessions.length === 0) {
      throw new CommandError(
        `No session on ${database.location} has been idle in a transaction for over ${formatDuration(KILL_IDLE_AFTER_SECONDS)}; nothing to terminate.`,
        '`db connections` shows the sessions idle in a transaction and for how long.',
        'refused',
      );
    }
    return {
      summary: `Terminate ${sessions.length} session${sessions.length === 1 ? '' : 's'} idle in a transaction for over ${formatDuration(KILL_IDLE_AFTER_SECONDS)}:\n${listed(sessions)}`,
      target: database.location,
      fingerprint: pidsFingerprint(sessions),
    };
  },
  async run(context) {
    const database = requirePostgres(context);
    // The approved set was re-checked just before this run; a session may still end in between.
    const sessions = await readSessions(database);
    try {
      const result = await database.terminateStaleIdleSessions(sessions.map((session) => session.pid), KILL_IDLE_AFTER_SECONDS);
      return killIdleDocument(database.location, result);
    } catch (error) {
      throw new CommandError(`Terminating the sessions on ${database.location} failed: ${describePostgresError(error)}.`, undefined, 'unavailable');
    }
  },
});
