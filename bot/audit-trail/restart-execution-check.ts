/**
 * The check `npm start` makes before its supervisor restarts a service for another process (the
 * CLI) over the local stack's control channel (services/stack/local/local-control.ts). The channel's
 * token says only that the caller can read the state directory; a restart is an escalated action,
 * so it must also be on the record: the request names the `execution` record the CLI's command
 * path committed to this trail after the authorization policy allowed the restart, and the
 * restart runs only when that record
 * - is in the chain (committed, not merely spooled): looked up through the trail's query;
 * - is an execution of `restart` of THIS service, written by the CLI (origin cli, a cli: actor)
 *   under an allowing decision;
 * - is recent (recorded within the last two minutes): an old record cannot be kept for later;
 * - was not used before: each record restarts once (remembered here while it is recent, and a
 *   `result` of the same execution in the trail means its command already ran).
 * Anything else is refused with a sentence saying which of these failed, and nothing restarts.
 */
import type { RestartGuard } from '../../services/stack/local/local-control.js';
import { MAX_QUERY_LIMIT, type AuditTrail } from './audit-trail.js';
import type { TrailRecord } from './trail-record.js';

/** How long after its record a restart may still be asked for: the CLI asks at once. */
export const RESTART_EXECUTION_MAX_AGE_MS = 2 * 60_000;

export interface RestartExecutionCheckOptions {
  maxAgeMs?: number;
  /** Milliseconds clock; tests pass their own. */
  now?: () => number;
}

/** Pages through the window's records of `kind` (of `command`, when named), newest first, until `match` finds one. */
export async function findRecord(
  trail: Pick<AuditTrail, 'query'>,
  kind: 'execution' | 'result',
  since: Date,
  match: (record: TrailRecord) => boolean,
  command?: string,
): Promise<TrailRecord | undefined> {
  let beforeSequence: number | undefined;
  for (;;) {
    const page = await trail.query({ kind, ...(command ? { command } : {}), since, limit: MAX_QUERY_LIMIT, ...(beforeSequence === undefined ? {} : { beforeSequence }) });
    const found = page.records.find(match);
    if (found || !page.more || page.records.length === 0) return found;
    beforeSequence = page.records.at(-1)!.sequence;
  }
}

function serviceOf(record: TrailRecord): unknown {
  const args = record.args as { service?: unknown } | null;
  return args && typeof args === 'object' ? args.service : undefined;
}

export function restartExecutionCheck(trail: Pick<AuditTrail, 'query'>, options: RestartExecutionCheckOptions = {}): RestartGuard {
  const maxAgeMs = options.maxAgeMs ?? RESTART_EXECUTION_MAX_AGE_MS;
  const now = options.now ?? (() => Date.now());
  /** Records a restart ran (or is running) under, with when they were taken; forgotten once too old to pass anyway. */
  const used = new Map<string, number>();
  const window = `${Math.round(maxAgeMs / 1000)} s`;

  async function refusal(service: string, execution: string, since: Date): Promise<string | undefined> {
    const record = await findRecord(trail, 'execution', since, (candidate) => candidate.key === execution, 'restart');
    if (!record) {
      return `the bot's audit trail holds no execution record ${JSON.stringify(execution)} of a restart from the last ${window} (unknown, not committed, or too old); run the restart again with npx acgs restart ${service}`;
    }
    if (record.command !== 'restart') return `execution record ${JSON.stringify(execution)} is of \`${record.command}\`, not of a restart`;
    const recorded = serviceOf(record);
    if (recorded !== service) return `execution record ${JSON.stringify(execution)} is of a restart of ${JSON.stringify(recorded ?? null)}, not of ${service}`;
    if (record.origin !== 'cli' || !record.actor?.startsWith('cli:')) return `execution record ${JSON.stringify(execution)} was not written by the CLI's command path`;
    if (record.decision !== 'allow') return `execution record ${JSON.stringify(execution)} carries the decision ${JSON.stringify(record.decision)}, not allow`;
    if (now() - Date.parse(record.recordedAt) > maxAgeMs) return `execution record ${JSON.stringify(execution)} was recorded at ${record.recordedAt}, over ${window} ago; run the restart again`;
    const executionId = record.details?.execution_id;
    const ran = await findRecord(trail, 'result', since, (candidate) => candidate.actor === record.actor && candidate.details?.execution_id === executionId, 'restart');
    if (ran) return `execution record ${JSON.stringify(execution)} was already used: its command has a result (${ran.outcome ?? 'recorded'}); each restart needs its own`;
    return undefined;
  }

  return async ({ service, execution }) => {
    const at = now();
    for (const [key, takenAt] of used) if (at - takenAt > maxAgeMs) used.delete(key);
    if (used.has(execution)) return `execution record ${JSON.stringify(execution)} was already used for a restart; each restart needs its own`;
    // Taken before the first await, so two requests naming the same record cannot both pass.
    used.set(execution, at);
    let why: string | undefined;
    try {
      why = await refusal(service, execution, new Date(at - maxAgeMs));
    } catch (error) {
      why = `the bot's audit trail cannot be read to check the execution record (${(error as Error)?.message ?? String(error)})`;
    }
    // A refused record was not used: a later request naming it gets the same answer, not "used".
    if (why !== undefined) used.delete(execution);
    return why;
  };
}
