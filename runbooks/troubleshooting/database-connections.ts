/**
 * `database-connections` (Level 1): the runbook's "Database Connection Failures". It probes the
 * stack's PostgreSQL (pg_isready's question: does it answer, how fast) and reads its connections
 * (pg_stat_activity: by state, against max_connections, and the sessions idle in a transaction
 * past the runbook's hour), then reads again.
 *
 * It terminates nothing. Ending sessions is `db kill-idle`, a Level 2 command whose approval is
 * bound to the sessions the approver saw: a Level 1 runbook doing it by itself would skip that
 * approval. So the verify names `db kill-idle` with the sessions' pids, and a retry of the
 * verify after it ran shows whether it helped.
 */
import { z } from 'zod';
import { connectionFindings } from '../../commands/db-connections.js';
import { dbKillIdle } from '../../commands/db-kill-idle.js';
import { formatCount, formatDuration, formatMs, formatPercent } from '../../commands/format.js';
import { DeadlineError, describePostgresError, probePostgres, withDeadline } from '../../commands/health-probes.js';
import { restart } from '../../commands/restart.js';
import type { StackDatabase } from '../../services/stack/stack-database.js';
import { defineRunbook, type RunbookRefusal, type StepContext } from '../engine/definition.js';
import { commandLevel, commandPorts, evidenceOf, nextStep, nextStepsSentence, type Finding, type NextStep } from './troubleshooting-support.js';

const Args = z.object({}).strict();
type Context = StepContext<z.output<typeof Args>>;

/** Shown beside the pids: more would not fit a sentence someone reads at night. */
const PIDS_SHOWN = 10;

/**
 * Without DATABASE_URL there is no PostgreSQL to check (the embedded PGlite serves one session per
 * database): answered up front, since a run would only stop at its first step for a decision.
 */
const NO_POSTGRES: RunbookRefusal = {
  message: "database-connections does not apply here: no PostgreSQL is configured for the bot (DATABASE_URL is not set), so there is nothing to check; the embedded PGlite has no connections to run out of.",
  hint: 'Set DATABASE_URL to a PostgreSQL server to troubleshoot its connections;',
};

function requireDatabase(context: Context): { database: StackDatabase; timeoutMs: number } {
  const commands = commandPorts(context.ports, []);
  const database = context.ports.commands?.database;
  if (!database) {
    throw new Error(NO_POSTGRES.message);
  }
  return { database, timeoutMs: commands.checkTimeoutMs ?? 2000 };
}

interface PostgresEvidence {
  reachable: boolean;
  location: string;
  version?: string;
  latencyMs: number;
}

async function probe(context: Context): Promise<Finding<PostgresEvidence>> {
  const { database, timeoutMs } = requireDatabase(context);
  const answer = await probePostgres(database, timeoutMs, context.signal);
  const latencyMs = Math.round(answer.latencyMs * 10) / 10;
  if (!answer.ok) return { summary: `PostgreSQL does not answer: ${answer.problem} (after ${formatMs(answer.latencyMs)}).`, evidence: { reachable: false, location: database.location, latencyMs } };
  return {
    summary: `PostgreSQL ${answer.value.version} at ${database.location} answers in ${formatMs(answer.latencyMs)}.`,
    evidence: { reachable: true, location: database.location, version: answer.value.version, latencyMs },
  };
}

interface ConnectionsEvidence {
  read: boolean;
  total?: number;
  max?: number;
  active?: number;
  idleInTransaction?: number;
  /** Sessions idle in a transaction past the runbook's hour, oldest first. */
  stale?: Array<{ pid: number; application: string; idle_seconds: number }>;
  problem: boolean;
}

async function readConnections(context: Context): Promise<Finding<ConnectionsEvidence>> {
  const { database, timeoutMs } = requireDatabase(context);
  let activity;
  try {
    activity = await withDeadline(timeoutMs, context.signal, () => database.connectionActivity());
  } catch (error) {
    const problem = error instanceof DeadlineError ? `pg_stat_activity got ${error.message}` : describePostgresError(error);
    return { summary: `The connections at ${database.location} could not be read: ${problem}.`, evidence: { read: false, problem: true } };
  }
  const found = connectionFindings(activity);
  const usage = found.maxConnections > 0 ? ` (${formatPercent(found.total / found.maxConnections, 0)})` : '';
  const head = `${formatCount(found.total)} of ${formatCount(found.maxConnections)} connections in use${usage}: ${found.active} active, ${found.idleConnections} idle, ${found.idle.length} idle in a transaction`;
  const oldest = found.stale[0];
  const staleText = oldest
    ? `; ${found.stale.length} of those for over the runbook's ${formatDuration(found.alertSeconds)} (oldest pid ${oldest.pid}, ${oldest.application}, ${formatDuration(oldest.idle_seconds)}), holding connections and locks`
    : `; none for over the runbook's ${formatDuration(found.alertSeconds)}`;
  return {
    summary: `${head}${staleText}.`,
    evidence: {
      read: true,
      total: found.total,
      max: found.maxConnections,
      active: found.active,
      idleInTransaction: found.idle.length,
      stale: found.stale.map((session) => ({ pid: session.pid, application: session.application, idle_seconds: session.idle_seconds })),
      problem: found.stale.length > 0,
    },
  };
}

function pidsText(stale: NonNullable<ConnectionsEvidence['stale']>): string {
  const pids = stale.slice(0, PIDS_SHOWN).map((session) => session.pid).join(', ');
  return stale.length > PIDS_SHOWN ? `${pids} and ${stale.length - PIDS_SHOWN} more` : pids;
}

function escalation(postgres: PostgresEvidence, connections: ConnectionsEvidence): NextStep[] {
  if (!postgres.reachable) {
    return [
      nextStep('docker-compose restart postgres', 'manual', 'PostgreSQL does not answer (`docker-compose logs postgres` says why)'),
      nextStep(`${restart.name} audit-engine`, commandLevel(restart.level), 'once PostgreSQL answers, if the Audit Engine still reports it unavailable'),
    ];
  }
  if (connections.stale && connections.stale.length > 0) {
    return [nextStep(dbKillIdle.name, commandLevel(dbKillIdle.level), `terminates the sessions idle in a transaction for over an hour (pids ${pidsText(connections.stale)}); the approver sees the same list`)];
  }
  return [];
}

export const databaseConnections = defineRunbook({
  source: import.meta.url,
  name: 'database-connections',
  summary: 'Database connection failures: check PostgreSQL answers and its connections (idle in a transaction over an hour), then check again',
  level: 1,
  args: Args,
  validate: async (_args, ports) => (ports.commands?.database ? undefined : NO_POSTGRES),
  steps: [
    {
      id: 'check-postgres',
      kind: 'check',
      title: "Ask the stack's PostgreSQL whether it answers, and how fast",
      timeoutMs: 10_000,
      idempotent: true,
      run: (context) => probe(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await probe(context)).summary }),
    },
    {
      id: 'check-connections',
      kind: 'check',
      title: 'Read its connections: in use against max_connections, idle in a transaction over an hour',
      timeoutMs: 10_000,
      idempotent: true,
      async run(context) {
        const postgres = context.outputs['check-postgres'] as Finding<PostgresEvidence> | undefined;
        if (postgres && !postgres.evidence.reachable) return { summary: `Not read: ${postgres.summary}`, evidence: { read: false, problem: true } } satisfies Finding<ConnectionsEvidence>;
        return readConnections(context);
      },
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await readConnections(context)).summary }),
    },
    {
      id: 'verify-connections',
      kind: 'verify',
      title: 'Check again: PostgreSQL answers and no session is idle in a transaction over an hour',
      timeoutMs: 15_000,
      idempotent: true,
      async run(context) {
        const before = evidenceOf<ConnectionsEvidence>(context.outputs, 'check-connections');
        const postgres = await probe(context);
        const connections: Finding<ConnectionsEvidence> = postgres.evidence.reachable ? await readConnections(context) : { summary: '', evidence: { read: false, problem: true } };
        const next = escalation(postgres.evidence, connections.evidence);
        if (!postgres.evidence.reachable || connections.evidence.problem) {
          const what = postgres.evidence.reachable ? connections.summary : postgres.summary;
          throw new Error(`Not resolved (this runbook terminates nothing by itself): ${what}${nextStepsSentence(next)}`);
        }
        const verdict = before.problem ? 'Resolved.' : 'Nothing was wrong and nothing is.';
        return {
          summary: `${verdict} ${postgres.summary} ${connections.summary}`,
          evidence: { resolved: true, total: connections.evidence.total, max: connections.evidence.max, nextSteps: next },
        };
      },
      dryRun: async () => ({ mode: 'description', text: 'Would ask PostgreSQL again and require that it answers and that no session is idle in a transaction for over an hour' }),
    },
  ],
});
