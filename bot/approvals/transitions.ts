/**
 * The approval request's transition rules, as pure functions of the request and the time: what a
 * vote, a cancel or an expiry does to it, and why a claim, a finish or a supersede found nothing to
 * do. No SQL here: request-queries.ts writes what these decide. The store runs each decision on a
 * request read under its row lock, or after a conditional UPDATE whose WHERE is the same rule, so
 * that exactly one caller wins each transition across replicas.
 */
import {
  ApprovalInputError,
  type ApprovalRequest,
  type ApprovalState,
  type ApprovalVote,
  type VoteChoice,
} from './model.js';
import {
  OWN_REQUEST_DENY_TEXT,
  OWN_REQUEST_TEXT,
  alreadyCountedText,
  clockTime,
  closedSentence,
  countedSentence,
  expiredText,
  notAnApproverText,
  people,
  statusSentence,
} from './messages.js';
import { outcome, type AttachCode, type CancelCode, type ClaimCode, type FinishCode, type Outcome, type SupersedeCode, type VoteCode, type WithdrawCode } from './outcomes.js';

/** A state change to write to a locked request; `endedBy` is left as stored when not given. */
export interface StateChange {
  state: ApprovalState;
  at: Date;
  endedBy?: string;
}

/** What one call does to a request read under its row lock: record `vote` first, then `change`. */
export interface LockedDecision<Code extends string> {
  outcome: Outcome<Code>;
  vote?: ApprovalVote;
  change?: StateChange;
}

export interface VoterInput {
  voter: string;
  voterRoles: readonly string[];
  vote: VoteChoice;
}

/** The reason a claim records when the stack's state no longer matches the request's fingerprint. */
export const STACK_CHANGED_REASON = 'the stack changed after the request was made, so the approval no longer matches what would run';
/** The reason markInterrupted records: the run's process is gone, so nobody knows how it ended. */
export const INTERRUPTED_REASON = 'it was running when the bot stopped; whether it finished is unknown';

/** A request whose expiry has come is expired from that very moment: at `expiresAt` it is too late. */
export const isDue = (request: ApprovalRequest, now: Date): boolean => request.state === 'pending' && now.getTime() >= request.expiresAt.getTime();

/** Its action has been claimed: it is running or has run, so it can be neither cancelled nor claimed again. */
const hasStarted = (state: ApprovalState): boolean => state === 'executing' || state === 'executed' || state === 'failed';

/** The request after `change`, as the store's read would show it once written. */
export function applyChange(request: ApprovalRequest, change: StateChange): ApprovalRequest {
  return { ...request, state: change.state, stateChangedAt: change.at, ...(change.endedBy !== undefined ? { endedBy: change.endedBy } : {}) };
}

/** A vote or cancel that found the request past its expiry marks it expired, and is refused. */
function expireOnArrival(request: ApprovalRequest, now: Date): LockedDecision<'expired'> {
  const change: StateChange = { state: 'expired', at: now };
  const expired = applyChange(request, change);
  return { outcome: outcome('expired', true, expired, [expiredText(expired, now)]), change };
}

/** Break-glass is born approved (claimExecution still guards it); everything else waits for votes. */
export function initialState(breakGlass: boolean): ApprovalState {
  return breakGlass ? 'approved' : 'pending';
}

export function expiryOf(createdAt: Date, expiresInMs: number | undefined, defaultTtlMs: number): Date {
  return new Date(createdAt.getTime() + (expiresInMs ?? defaultTtlMs));
}

/**
 * Each waiting request is a row, a timer on every replica and a message: a requester who already
 * has `max` waiting is refused a new one until some are decided or expire.
 */
export function refuseBeyondWaitingLimit(requester: string, waiting: number, max: number): void {
  if (waiting >= max) {
    throw new ApprovalInputError(
      `${requester} already has ${waiting} requests waiting for approval, the most one person may have; cancel one or wait until they are decided or expire`,
    );
  }
}

/**
 * In this order: expired (marked so now if due); a person's second vote (even the other button)
 * changes nothing; a closed request; the requester; an approver role. Otherwise the vote counts:
 * one deny ends the request, the approval that completes the count approves it.
 */
export function decideVote(request: ApprovalRequest, input: VoterInput, now: Date): LockedDecision<VoteCode> {
  if (isDue(request, now)) return expireOnArrival(request, now);
  if (request.state === 'expired') return { outcome: outcome('expired', false, request, [expiredText(request, now)]) };
  const earlier = request.votes.find((existing) => existing.voter === input.voter);
  if (earlier) return { outcome: outcome('already-counted', false, request, [alreadyCountedText(earlier, now)]) };
  if (request.state !== 'pending') return { outcome: outcome('closed', false, request, closedSentence(request, now)) };
  if (input.voter === request.requester) {
    return { outcome: outcome('own-request', false, request, [input.vote === 'approve' ? OWN_REQUEST_TEXT : OWN_REQUEST_DENY_TEXT]) };
  }
  if (!input.voterRoles.some((role) => request.approverRoles.includes(role))) {
    return { outcome: outcome('not-an-approver', false, request, [notAnApproverText(request)]) };
  }

  const vote: ApprovalVote = { voter: input.voter, roles: [...input.voterRoles], vote: input.vote, at: now };
  const approvedBy = input.vote === 'approve' ? [...request.approvedBy, input.voter] : request.approvedBy;
  const counted: ApprovalRequest = { ...request, votes: [...request.votes, vote], approvedBy };
  if (input.vote === 'deny') {
    const change: StateChange = { state: 'denied', at: now, endedBy: input.voter };
    const denied = applyChange(counted, change);
    return { outcome: outcome('denied', true, denied, statusSentence(denied, now)), vote, change };
  }
  if (approvedBy.length >= request.approvalsRequired) {
    const change: StateChange = { state: 'approved', at: now };
    const approved = applyChange(counted, change);
    return {
      outcome: outcome('approved', true, approved, [`Approved: ${approvedBy.length} of ${request.approvalsRequired} approved by `, ...people(approvedBy)]),
      vote,
      change,
    };
  }
  return { outcome: outcome('counted', true, counted, countedSentence(counted)), vote };
}

/** Only the requester, only before the run starts; a due request is marked expired instead. */
export function decideCancel(request: ApprovalRequest, by: string, now: Date): LockedDecision<CancelCode> {
  if (isDue(request, now)) return expireOnArrival(request, now);
  if (by !== request.requester) {
    return { outcome: outcome('not-requester', false, request, ['Only the requester, ', { user: request.requester }, ', can cancel this request']) };
  }
  if (hasStarted(request.state)) {
    return { outcome: outcome('closed', false, request, [`Too late to cancel: it started at ${clockTime(request.stateChangedAt, now)}`]) };
  }
  if (request.state !== 'pending' && request.state !== 'approved') {
    return { outcome: outcome('closed', false, request, closedSentence(request, now)) };
  }
  const change: StateChange = { state: 'cancelled', at: now, endedBy: by };
  const cancelled = applyChange(request, change);
  return { outcome: outcome('cancelled', true, cancelled, statusSentence(cancelled, now)), change };
}

export function created(request: ApprovalRequest, now: Date): Outcome<'created'> {
  return outcome('created', true, request, statusSentence(request, now));
}

/**
 * A create with a reserved id that was used already: the same request asked again (a gate step
 * taken over), answered with it and nothing written. Another action under that id is a bug, refused.
 */
export function alreadyCreated(request: ApprovalRequest, input: { action: { line: string }; requester: string }, now: Date): Outcome<'exists'> {
  if (request.action.line !== input.action.line || request.requester !== input.requester) {
    throw new ApprovalInputError(`id: request ${request.id} exists already for another action (${request.action.line}, asked by ${request.requester}); a reserved id names one action`);
  }
  return outcome('exists', false, request, statusSentence(request, now));
}

export function withdrawn(request: ApprovalRequest, now: Date): Outcome<WithdrawCode> {
  return outcome('cancelled', true, request, statusSentence(request, now));
}

/** Only a pending or approved request can be withdrawn; anything else has ended or started. */
export function notWithdrawn(request: ApprovalRequest, now: Date): Outcome<WithdrawCode> {
  return outcome('closed', false, request, closedSentence(request, now));
}

/** What the claim's conditional UPDATE (approved -> executing, or superseded) made of the request. */
export function claimed(request: ApprovalRequest): Outcome<ClaimCode> {
  if (request.state === 'executing') return outcome('claimed', true, request, ['Running now (', ...people(request.approvedBy), ' approved)']);
  return outcome('superseded', true, request, [`Not run: ${STACK_CHANGED_REASON}; ask again`]);
}

/** Why a request the claim's UPDATE did not match cannot be claimed. */
export function notClaimed(request: ApprovalRequest, now: Date): Outcome<ClaimCode> {
  if (request.state === 'pending') return outcome('not-approved', false, request, ['Not approved yet: ', ...statusSentence(request, now)]);
  if (hasStarted(request.state)) {
    return outcome('already-claimed', false, request, [`Already started at ${clockTime(request.stateChangedAt, now)}; it runs once`]);
  }
  return outcome('closed', false, request, closedSentence(request, now));
}

export const finishState = (ok: boolean): ApprovalState => (ok ? 'executed' : 'failed');

export function finished(request: ApprovalRequest, now: Date): Outcome<FinishCode> {
  return outcome('finished', true, request, statusSentence(request, now));
}

/** Only a running request records an outcome. */
export function notFinished(request: ApprovalRequest): Outcome<FinishCode> {
  return outcome('not-executing', false, request, [`Nothing recorded: this request is ${request.state}, not running`]);
}

/** A supersede must say what changed; what it says is kept to the first 1000 characters. */
export function supersedeReason(reason: string): string {
  const why = reason.trim();
  if (!why) throw new ApprovalInputError('Cannot supersede this approval request: reason must say what changed');
  return why.slice(0, 1000);
}

export function superseded(request: ApprovalRequest, now: Date): Outcome<SupersedeCode> {
  return outcome('superseded', true, request, statusSentence(request, now));
}

/** Only a pending or approved request can be superseded; anything else has already ended or started. */
export function notSuperseded(request: ApprovalRequest, now: Date): Outcome<SupersedeCode> {
  return outcome('closed', false, request, closedSentence(request, now));
}

export function attached(request: ApprovalRequest): Outcome<AttachCode> {
  return outcome('attached', true, request, statusSentence(request));
}

/** A message already recorded is not recorded twice, so each copy is updated once. */
export function alreadyAttached(request: ApprovalRequest): Outcome<AttachCode> {
  return outcome('already-attached', false, request, statusSentence(request));
}

/** A change that ended the wait for votes: every replica may drop its expiry timer. */
export function endedTheWait(result: Outcome<string>): boolean {
  return result.changed && result.request !== undefined && result.request.state !== 'pending';
}
