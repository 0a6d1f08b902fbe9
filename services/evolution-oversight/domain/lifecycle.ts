import type { EvolutionStatus, TransitionName } from '../contract.js';

/** Statuses that wait for a person: the policy asked for a review (full or fast-track). */
export const PENDING_REVIEW_STATUSES = ['human_review', 'fast_track'] as const satisfies readonly EvolutionStatus[];

/** Statuses of a change that is in effect and can therefore be rolled back. */
export const ROLLBACK_STATUSES = ['approved', 'auto_approved'] as const satisfies readonly EvolutionStatus[];

export type ReviewAction = 'approve' | 'reject' | 'rollback';

export interface TransitionRule {
  name: Exclude<TransitionName, 'created'>;
  from: readonly EvolutionStatus[];
  to: EvolutionStatus;
  /** Four-eyes rule: the proposal's requester may not take this step themselves. */
  requesterMayAct: boolean;
}

export const TRANSITION_RULES: Record<ReviewAction, TransitionRule> = {
  approve: { name: 'approved', from: PENDING_REVIEW_STATUSES, to: 'approved', requesterMayAct: false },
  reject: { name: 'rejected', from: PENDING_REVIEW_STATUSES, to: 'rejected', requesterMayAct: false },
  // Undoing a change is always allowed to its author: stopping harm must not wait for a second person.
  rollback: { name: 'rolled_back', from: ROLLBACK_STATUSES, to: 'rolled_back', requesterMayAct: true },
};

export type TransitionCheck = { ok: true } | { ok: false; reason: 'self_review' | 'wrong_status' };

/** Whether `actorId` may move an evolution in `status`, requested by `requesterId`, along `rule`. */
export function checkTransition(
  rule: TransitionRule,
  current: { status: EvolutionStatus; requester_id: string },
  actorId: string,
): TransitionCheck {
  if (!rule.from.includes(current.status)) return { ok: false, reason: 'wrong_status' };
  if (!rule.requesterMayAct && current.requester_id === actorId) return { ok: false, reason: 'self_review' };
  return { ok: true };
}
