/**
 * The sentences a person reads about an approval: what a click did, why it was refused, where a
 * request stands. Pure functions of plain data.
 *
 * A sentence is a list of words: plain text, and people as `{ user: id }`. The Slack layer renders
 * a person as a mention and escapes the text (&, <, >); the CLI prints `@id`. So a user ID can
 * become a mention, and nothing a person typed can.
 */
import type { ApprovalRequest, ApprovalState, ApprovalVote } from './model.js';

export type Word = string | { user: string };
export type Sentence = readonly Word[];

/** The sentence as plain text; `nameOf` shows a person (default `@<id>`). */
export function plainText(sentence: Sentence, nameOf: (id: string) => string = (id) => `@${id}`): string {
  return sentence.map((word) => (typeof word === 'string' ? word : nameOf(word.user))).join('');
}

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * "10:42 UTC", with the date in front when it is not the day of `now`: people read it in a
 * channel shared across time zones, so it is always UTC and always says so.
 */
export function clockTime(at: Date, now: Date = at): string {
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())} UTC`;
  const sameDay = at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}

/** "@a", "@a and @b", "@a, @b and @c". */
export function people(ids: readonly string[]): Word[] {
  const words: Word[] = [];
  ids.forEach((id, index) => {
    if (index > 0) words.push(index === ids.length - 1 ? ' and ' : ', ');
    words.push({ user: id });
  });
  return words;
}

function roleList(roles: readonly string[]): string {
  return roles.length === 1 ? `the ${roles[0]} role` : `one of the roles ${roles.join(', ')}`;
}

const approvalCount = (request: ApprovalRequest) => `${request.approvedBy.length} of ${request.approvalsRequired} approved`;

function approvedSoFar(request: ApprovalRequest): Word[] {
  if (request.approvedBy.length === 0) return [`0 of ${request.approvalsRequired} approved`];
  return [`${approvalCount(request)} by `, ...people(request.approvedBy)];
}

/** A vote that was just counted and left the request waiting: "1 of 2 approved by @a; 1 more needed". */
export function countedSentence(request: ApprovalRequest): Sentence {
  const missing = request.approvalsRequired - request.approvedBy.length;
  return [...approvedSoFar(request), `; ${missing} more approval${missing === 1 ? '' : 's'} needed`];
}

function denier(request: ApprovalRequest): ApprovalVote | undefined {
  return request.votes.find((vote) => vote.vote === 'deny');
}

/** Where the request stands, for the status line of its message. */
export function statusSentence(request: ApprovalRequest, now: Date = new Date()): Sentence {
  const approvedBy = (): Word[] =>
    request.breakGlass && request.approvedBy.length === 0
      ? ['break-glass by ', { user: request.requester }, ' without approvals']
      : [`${approvalCount(request)} by `, ...people(request.approvedBy)];
  switch (request.state) {
    case 'pending':
      return [`Waiting for approval: `, ...approvedSoFar(request), ` · expires at ${clockTime(request.expiresAt, now)}`];
    case 'approved':
      return ['Approved (', ...approvedBy(), '); starting'];
    case 'executing':
      return ['Approved (', ...approvedBy(), '); running since ', clockTime(request.stateChangedAt, now)];
    case 'executed':
      return ['Done (', ...approvedBy(), `); finished at ${clockTime(request.stateChangedAt, now)}`];
    case 'failed':
      return ['Failed (', ...approvedBy(), `); it ran and failed at ${clockTime(request.stateChangedAt, now)}`];
    case 'denied': {
      const by = denier(request)?.voter ?? request.endedBy;
      const after = request.approvedBy.length > 0 ? [` after `, ...approvedSoFar(request)] : [];
      return ['Denied by ', ...(by ? [{ user: by }] : ['an approver']), ...after, `; nothing was run`];
    }
    case 'cancelled':
      return ['Cancelled by ', { user: request.endedBy ?? request.requester }, ` at ${clockTime(request.stateChangedAt, now)}${request.endedReason ? `: ${request.endedReason}` : ''}; nothing was run`];
    case 'expired':
      return [`Expired at ${clockTime(request.expiresAt, now)} with `, ...approvedSoFar(request), '; nothing was run'];
    case 'superseded':
      return [`Not run: ${request.endedReason ?? 'the situation changed after it was requested'}; ask again`];
    case 'outcome_unknown':
      return ['Outcome unknown (', ...approvedBy(), `): it was running when the bot stopped, found at ${clockTime(request.stateChangedAt, now)}; it was not run again. Check the stack before asking again`];
  }
}

/** Why a vote (or cancel) on a request that is no longer pending changed nothing. */
export function closedSentence(request: ApprovalRequest, now: Date = new Date()): Sentence {
  const states: Record<Exclude<ApprovalState, 'pending'>, () => Sentence> = {
    approved: () => ['This request is already approved (', ...people(request.approvedBy), '); your vote was not needed'],
    executing: () => ['This request is already approved and running; your vote was not needed'],
    executed: () => ['This request was already approved and has run; your vote was not needed'],
    failed: () => ['This request was already approved and has run (it failed); your vote was not needed'],
    denied: () => {
      const by = denier(request)?.voter ?? request.endedBy;
      return ['This request was already denied by ', by ? { user: by } : 'an approver'];
    },
    cancelled: () => ['This request was cancelled by ', { user: request.endedBy ?? request.requester }, ...(request.endedReason ? [`: ${request.endedReason}`] : [])],
    expired: () => [expiredText(request, now)],
    superseded: () => [`This request was superseded: ${request.endedReason ?? 'the situation changed'}; ask again`],
    outcome_unknown: () => ['This request was running when the bot stopped; its outcome is unknown and it is not run again'],
  };
  return request.state === 'pending' ? statusSentence(request, now) : states[request.state]();
}

export function expiredText(request: ApprovalRequest, now: Date = new Date()): string {
  return `This request expired at ${clockTime(request.expiresAt, now)}; ask again if it is still needed`;
}

export const OWN_REQUEST_TEXT = 'You requested this; someone else must approve it';
export const OWN_REQUEST_DENY_TEXT = 'You requested this; cancel it instead of denying it';

export function notAnApproverText(request: ApprovalRequest): string {
  return `Only people with ${roleList(request.approverRoles)} can vote on this request; you have none of them`;
}

export function alreadyCountedText(vote: ApprovalVote, now: Date): string {
  return `Already counted: you ${vote.vote === 'approve' ? 'approved' : 'denied'} this at ${clockTime(vote.at, now)}; each person counts once`;
}

export function notFoundText(id: string): string {
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return `There is no approval request ${JSON.stringify(shown)}; it may have been mistyped`;
}
