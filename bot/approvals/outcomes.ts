/**
 * What every approval store operation answers: a code to branch on, whether THIS call changed the
 * request, the request as it now stands, and a sentence for people. Refusals are outcomes, not
 * exceptions, so callers handle "someone else already did it" as plainly as success.
 */
import type { ApprovalRequest } from './model.js';
import { notFoundText, plainText, type Sentence } from './messages.js';

export interface Outcome<Code extends string> {
  /** What happened, for code to branch on. */
  code: Code;
  /** Whether this call changed the request (a vote recorded, a state moved). */
  changed: boolean;
  /** The request as it stands after this call; undefined when there is none by that id. */
  request: ApprovalRequest | undefined;
  /** For people: plain text and `{ user }` words (see messages.ts). */
  sentence: Sentence;
  /** The sentence as plain text with people as `@<id>`. */
  message: string;
}

/** `exists`: created earlier with the same reserved id (ApprovalInput.id); nothing was written. */
export type CreateCode = 'created' | 'exists';
export type VoteCode =
  /** Counted; more approvals are needed. */
  | 'counted'
  /** Counted, and it was the approval that completed the request: claim the execution now. */
  | 'approved'
  /** Counted, and one deny ends the request. */
  | 'denied'
  | 'already-counted'
  | 'own-request'
  | 'not-an-approver'
  /** Too late: the request has expired (this call may be the one that marked it so). */
  | 'expired'
  /** The request was already decided, cancelled or superseded. */
  | 'closed'
  | 'not-found';
export type CancelCode = 'cancelled' | 'not-requester' | 'expired' | 'closed' | 'not-found';
export type ClaimCode =
  /** This caller, and no other anywhere, runs the action now. */
  | 'claimed'
  /** The stack's state changed since the request: this call marked it superseded, nothing runs. */
  | 'superseded'
  | 'not-approved'
  | 'already-claimed'
  | 'closed'
  | 'not-found';
export type FinishCode = 'finished' | 'not-executing' | 'not-found';
export type SupersedeCode = 'superseded' | 'closed' | 'not-found';
export type WithdrawCode = 'cancelled' | 'closed' | 'not-found';
export type AttachCode = 'attached' | 'already-attached' | 'not-found';

export function outcome<Code extends string>(code: Code, changed: boolean, request: ApprovalRequest | undefined, sentence: Sentence): Outcome<Code> {
  return { code, changed, request, sentence, message: plainText(sentence) };
}

export const notFound = <Code extends string>(code: Code, id: string): Outcome<Code> => outcome(code, false, undefined, [notFoundText(id)]);
