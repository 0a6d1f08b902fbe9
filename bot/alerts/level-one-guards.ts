/**
 * Level 1's guard rails, pure (the clock and the history come in): whether the bot may act on a
 * firing alert now, and if not, why, when to look again and whether to escalate. The history is
 * the claims of alert_level_one_actions (level-one-claims.ts), shared by every replica.
 */
import type { LevelOneRules } from '../authorization/data.js';
import type { LevelOneAction } from './alert-rules.js';
import type { LevelOneActionRecord } from './level-one-claims.js';

export type LevelOneRefusal =
  /** The Policy Engine is in lockdown, or its modes cannot be read (a lockdown cannot be ruled out). */
  | 'lockdown'
  /** A deployment, hotfix or rollback holds the deploy lock. */
  | 'deploy-lock'
  /** A runbook that stops services on purpose (a restore) is running. */
  | 'runbook-running'
  /** The service's actions of the last hour reached the limit. */
  | 'rate-limit'
  /** Too soon after this alert's previous attempt. */
  | 'backoff'
  /** The service's breaker is open after repeated failures. */
  | 'circuit-open'
  /** Another replica's action on this alert is still running. */
  | 'in-progress';

export type LevelOneDecision =
  | { act: true; attempt: number }
  | {
      act: false;
      code: LevelOneRefusal;
      /** One sentence for the alert's note. */
      reason: string;
      /** When the decision may be different; absent when only a person can change it. */
      retryAt?: Date;
      /** Escalate now rather than wait for the matrix: Level 1 has given up on this alert. */
      escalate: boolean;
    };

export interface LevelOneLimits {
  maxActionsPerServicePerHour: number;
  backoffMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  verifyMs: number;
}

export function levelOneLimits(rules: LevelOneRules): LevelOneLimits {
  return {
    maxActionsPerServicePerHour: rules.max_actions_per_service_per_hour,
    backoffMs: rules.backoff_seconds * 1000,
    backoffMaxMs: rules.backoff_max_seconds * 1000,
    breakerFailures: rules.breaker_failures,
    breakerOpenMs: rules.breaker_open_minutes * 60_000,
    verifyMs: rules.verify_seconds * 1000,
  };
}

export interface StackConditions {
  /** Undefined when the Policy Engine's modes could not be read. */
  lockdown: boolean | undefined;
  /** Why the modes are unknown, when they are. */
  modesProblem?: string;
  deployLock: { runbook: string; heldBy: string; since: string } | null;
  /** A run of a runbook that stops services on purpose (a restore: its writers are down while it works). */
  stackRun?: { runbook: string; runId: string; requester: string } | null;
}

export interface GuardInput {
  now: Date;
  service: string;
  /** What Level 1 would do (default a restart): restarting the Policy Engine is how unknown modes come back. */
  action?: LevelOneAction;
  /** This episode's attempts, oldest first. */
  episode: readonly LevelOneActionRecord[];
  /** The service's actions of the last hour and its most recent ones, oldest first (LevelOneClaims.ofService). */
  serviceActions: readonly LevelOneActionRecord[];
  stack: StackConditions;
  limits: LevelOneLimits;
}

const HOUR_MS = 3_600_000;
/** An action claimed this long ago and never finished was run by a replica that died: it counts as failed. */
export const abandonedAfterMs = (limits: LevelOneLimits) => limits.verifyMs + 120_000;

/** The outcome an action counts as: its own, failed when it was abandoned, undefined while it runs. */
export function countedOutcome(action: LevelOneActionRecord, now: Date, limits: LevelOneLimits): 'succeeded' | 'failed' | undefined {
  if (action.outcome) return action.outcome;
  return now.getTime() - action.claimedAt.getTime() >= abandonedAfterMs(limits) ? 'failed' : undefined;
}

/** The wait before attempt n+1 after n attempts: backoff, doubled each time, at most backoffMax. */
export function backoffAfter(attempts: number, limits: LevelOneLimits): number {
  return Math.min(limits.backoffMaxMs, limits.backoffMs * 2 ** Math.max(0, attempts - 1));
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
const minutes = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms));

export function decideLevelOne(input: GuardInput): LevelOneDecision {
  const { now, service, limits, stack } = input;
  const at = now.getTime();
  const recheck = new Date(at + limits.backoffMs);
  // As the command gate allows it: with the modes unknown because the Policy Engine is down, its
  // restart is the step that brings them back, and a restart cannot lift a lockdown.
  const recoversModes = stack.lockdown === undefined && service === 'policy-engine' && (input.action ?? 'restart-service') === 'restart-service';
  if (stack.lockdown !== false && !recoversModes) {
    const reason =
      stack.lockdown === undefined
        ? `Level 1 did not act: the Policy Engine's modes could not be read (${stack.modesProblem ?? 'no answer'}), and nothing acts on its own while a lockdown cannot be ruled out.`
        : 'Level 1 did not act: the Policy Engine is in emergency lockdown, and nothing acts on its own during one.';
    return { act: false, code: 'lockdown', reason, retryAt: recheck, escalate: false };
  }
  if (stack.deployLock) {
    const lock = stack.deployLock;
    return { act: false, code: 'deploy-lock', reason: `Level 1 did not act: the ${lock.runbook} run of ${lock.heldBy} holds the deploy lock (since ${lock.since}), and nothing acts on its own during a deployment or rollback.`, retryAt: recheck, escalate: false };
  }
  if (stack.stackRun) {
    const run = stack.stackRun;
    return { act: false, code: 'runbook-running', reason: `Level 1 did not act: ${run.requester}'s ${run.runbook} run ${run.runId} is running and stops services on purpose; restarting one would undo its work.`, retryAt: recheck, escalate: false };
  }

  const running = input.episode.find((action) => countedOutcome(action, now, limits) === undefined);
  if (running) return { act: false, code: 'in-progress', reason: `Level 1's attempt ${running.attempt} on this alert is still running (${running.claimedBy}).`, retryAt: new Date(running.claimedAt.getTime() + abandonedAfterMs(limits)), escalate: false };

  // The breaker: the service's last N finished actions all failed, the latest within the open period.
  const finished = input.serviceActions.filter((action) => countedOutcome(action, now, limits) !== undefined);
  const lastN = finished.slice(-limits.breakerFailures);
  if (lastN.length === limits.breakerFailures && lastN.every((action) => countedOutcome(action, now, limits) === 'failed')) {
    const latest = lastN.at(-1)!;
    const closesAt = (latest.finishedAt ?? latest.claimedAt).getTime() + limits.breakerOpenMs;
    if (closesAt > at) {
      return {
        act: false,
        code: 'circuit-open',
        reason: `Level 1 stopped acting on ${service}: its last ${limits.breakerFailures} automatic actions failed, so auto-resolution is off for it for ${minutes(limits.breakerOpenMs)} (until ${new Date(closesAt).toISOString()}); a person has to look.`,
        escalate: true,
      };
    }
  }

  const lastHour = input.serviceActions.filter((action) => at - action.claimedAt.getTime() < HOUR_MS);
  if (lastHour.length >= limits.maxActionsPerServicePerHour) {
    const freeAt = new Date(lastHour[lastHour.length - limits.maxActionsPerServicePerHour]!.claimedAt.getTime() + HOUR_MS);
    return {
      act: false,
      code: 'rate-limit',
      reason: `Level 1 did not act: it already acted on ${service} ${lastHour.length} times in the last hour, its limit (${limits.maxActionsPerServicePerHour} an hour); a person has to look.`,
      retryAt: freeAt,
      escalate: true,
    };
  }

  const previous = input.episode.at(-1);
  if (previous) {
    const waitMs = backoffAfter(input.episode.length, limits);
    const readyAt = (previous.finishedAt ?? previous.claimedAt).getTime() + waitMs;
    if (readyAt > at) {
      return { act: false, code: 'backoff', reason: `Level 1 waits ${seconds(waitMs)} after attempt ${previous.attempt} before trying again (at ${new Date(readyAt).toISOString()}).`, retryAt: new Date(readyAt), escalate: false };
    }
  }
  return { act: true, attempt: (previous?.attempt ?? 0) + 1 };
}
