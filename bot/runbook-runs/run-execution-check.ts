/**
 * The check `npm start` makes before its run relay (run-relay.ts) starts, aborts or decides a run
 * for the CLI: like a restart over the control channel (bot/audit-trail/restart-execution-check.ts),
 * the channel's token is not enough for a Level 1 action. The request names the `execution` record
 * the CLI's command path committed to this trail after the policy allowed the command, and the
 * call goes through only when that record
 * - is in the chain (committed, not merely spooled);
 * - is the execution of one of the commands that may make this call (`run`, `backup`,
 *   `backup verify` for a new run; `run abort`; `run decide`), written by the CLI (origin cli) for
 *   the very `cli:` user named as requester, under an allowing decision;
 * - is recent (the last two minutes) and was not used before (remembered here while recent; a
 *   `result` of the same execution means its command already ran).
 * Anything else is refused with a sentence saying which of these failed, and nothing is recorded.
 */
import type { AuditTrail } from '../audit-trail/audit-trail.js';
import { findRecord, RESTART_EXECUTION_MAX_AGE_MS } from '../audit-trail/restart-execution-check.js';

/** What a relayed call claims: its execution record, who asks, and the commands that may make it. */
export interface RunExecutionClaim {
  execution: unknown;
  actor: string;
  commands: readonly string[];
}

/** Undefined to let the call through; otherwise why not. */
export type RunExecutionGuard = (claim: RunExecutionClaim) => Promise<string | undefined>;

export function runExecutionCheck(trail: Pick<AuditTrail, 'query'>, options: { maxAgeMs?: number; now?: () => number } = {}): RunExecutionGuard {
  const maxAgeMs = options.maxAgeMs ?? RESTART_EXECUTION_MAX_AGE_MS;
  const now = options.now ?? (() => Date.now());
  const used = new Map<string, number>();
  const window = `${Math.round(maxAgeMs / 1000)} s`;

  async function refusal(execution: string, actor: string, commands: readonly string[], since: Date): Promise<string | undefined> {
    const named = commands.map((command) => `\`${command}\``).join(' or ');
    const record = await findRecord(trail, 'execution', since, (candidate) => candidate.key === execution);
    if (!record) return `the bot's audit trail holds no execution record ${JSON.stringify(execution)} from the last ${window} (unknown, not committed, or too old); type the command again`;
    if (!record.command || !commands.includes(record.command)) return `execution record ${JSON.stringify(execution)} is of \`${record.command}\`, not of ${named}`;
    if (record.origin !== 'cli' || record.actor !== actor) return `execution record ${JSON.stringify(execution)} was not written by the CLI for ${actor}`;
    if (record.decision !== 'allow') return `execution record ${JSON.stringify(execution)} carries the decision ${JSON.stringify(record.decision)}, not allow`;
    if (now() - Date.parse(record.recordedAt) > maxAgeMs) return `execution record ${JSON.stringify(execution)} was recorded at ${record.recordedAt}, over ${window} ago; type the command again`;
    const executionId = record.details?.execution_id;
    const ran = await findRecord(trail, 'result', since, (candidate) => candidate.actor === record.actor && candidate.details?.execution_id === executionId);
    if (ran) return `execution record ${JSON.stringify(execution)} was already used: its command has a result; each call needs its own`;
    return undefined;
  }

  return async ({ execution, actor, commands }) => {
    if (typeof execution !== 'string' || execution === '') {
      return 'the request names no execution record; the relay changes runs only under the committed execution record of an allowed command (npx acgs writes it)';
    }
    if (execution.length > 200) return 'the execution record id is over 200 characters';
    const at = now();
    for (const [key, takenAt] of used) if (at - takenAt > maxAgeMs) used.delete(key);
    if (used.has(execution)) return `execution record ${JSON.stringify(execution)} was already used; each call needs its own`;
    // Taken before the first await, so two requests naming the same record cannot both pass.
    used.set(execution, at);
    let why: string | undefined;
    try {
      why = await refusal(execution, actor, commands, new Date(at - maxAgeMs));
    } catch (error) {
      why = `the bot's audit trail cannot be read to check the execution record (${(error as Error)?.message ?? String(error)})`;
    }
    if (why !== undefined) used.delete(execution);
    return why;
  };
}
