/**
 * Whether an alert goes up a level of the escalation matrix now, pure: the alert, the levels its
 * current episode has reached (escalation-records.ts) and the time in; the next level, or nothing.
 *
 * - Only a firing alert escalates: acknowledged or resolved ones have a person or are over; a
 *   snoozed one waits until its snooze ends, and its wait then starts again from the snooze's end;
 *   an alert whose rule is silenced stays quiet.
 * - An episode starts at its rule's level (alert-rules.ts); a start above Level 1 is reached at
 *   once, so that its level's people hear of it (ConstitutionalViolations starts at Level 4).
 * - Each level waits its matrix time, counted from when the episode reached it, then goes up one.
 * - A re-fire is a new episode (a later `firedAt`): it starts over.
 * - An informational rule's alert (ServiceRestarted) never goes up: nobody needs to act on it.
 */
import { ALERT_RULES, isAlertRuleName } from './alert-rules.js';
import type { AlertRecord } from './alert-store.js';
import { startLevelOf, type EscalationLevel, type EscalationMatrix } from './escalation-matrix.js';

/** A level an episode reached, and when. */
export interface ReachedLevel {
  level: EscalationLevel;
  at: Date;
}

export type JudgedAlert = Pick<AlertRecord, 'rule' | 'state' | 'firedAt' | 'snoozedUntil'>;

export interface EscalationStep {
  level: 2 | 3 | 4;
  reason: string;
}

export interface JudgementInput {
  alert: JudgedAlert;
  /** The levels this episode reached (only records whose episode is the alert's `firedAt`). */
  reached: readonly ReachedLevel[];
  /** Whether a silence of the alert's rule is in force. */
  silenced: boolean;
}

/** Why an alert is left where it is, when it is not for the clock's sake. */
export function heldBack(input: JudgementInput, now: Date): string | undefined {
  if (isAlertRuleName(input.alert.rule) && ALERT_RULES[input.alert.rule].informational) return 'it is informational';
  if (input.alert.state === 'acknowledged') return 'it is acknowledged';
  if (input.alert.state === 'resolved') return 'it is resolved';
  if (input.alert.snoozedUntil && input.alert.snoozedUntil.getTime() > now.getTime()) return 'it is snoozed';
  if (input.silenced) return 'its rule is silenced';
  return undefined;
}

/** The level the episode is at and since when its wait there counts. */
export function standing(input: JudgementInput, now: Date): { level: EscalationLevel; since: Date } {
  const start = startLevelOf(input.alert.rule);
  const top = input.reached.reduce<ReachedLevel | undefined>((highest, reached) => (!highest || reached.level > highest.level ? reached : highest), undefined);
  const level = top && top.level > start ? top.level : start;
  let since = top && top.level >= start ? top.at : input.alert.firedAt;
  // A snooze that has ended restarts the wait: whoever snoozed it gets the whole time again.
  const snoozeEnd = input.alert.snoozedUntil;
  if (snoozeEnd && snoozeEnd.getTime() <= now.getTime() && snoozeEnd.getTime() > since.getTime()) since = snoozeEnd;
  return { level, since };
}

/** The level the alert goes to now, or undefined when it stays. */
export function judgeEscalation(input: JudgementInput, matrix: Pick<EscalationMatrix, 'waitMs'>, now: Date): EscalationStep | undefined {
  if (heldBack(input, now)) return undefined;
  const start = startLevelOf(input.alert.rule);
  if (start > 1 && !input.reached.some((reached) => reached.level >= start)) {
    return { level: start as 2 | 3 | 4, reason: `${input.alert.rule} alerts start at Level ${start}` };
  }
  const { level, since } = standing(input, now);
  if (level === 4) return undefined;
  const waitMs = matrix.waitMs[level];
  if (now.getTime() - since.getTime() < waitMs) return undefined;
  return { level: (level + 1) as 2 | 3 | 4, reason: `not acknowledged within ${minutes(waitMs)} at Level ${level}` };
}

/**
 * Up one level now, whatever the clock says (the Level 1 circuit breaker gave up): still never an
 * alert a person has, a snoozed or silenced one, nor past Level 4.
 */
/**
 * A level reached this recently is the same trouble as an immediate step asked for now: two
 * circuit breakers opening together (two replicas) go up one level, not two.
 */
export const IMMEDIATE_STEP_QUIET_MS = 60_000;

export function immediateStep(input: JudgementInput, reason: string, now: Date): EscalationStep | undefined {
  if (heldBack(input, now)) return undefined;
  const { level } = standing(input, now);
  if (level === 4) return undefined;
  if (input.reached.some((reached) => now.getTime() - reached.at.getTime() < IMMEDIATE_STEP_QUIET_MS)) return undefined;
  return { level: (level + 1) as 2 | 3 | 4, reason };
}

function minutes(ms: number): string {
  const value = ms / 60_000;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} min`;
}
