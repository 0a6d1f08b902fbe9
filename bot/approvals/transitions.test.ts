import { describe, expect, it } from 'vitest';
import { ApprovalInputError, type ApprovalState } from './model.js';
import { approvalRequest } from './testing/requests.js';
import {
  applyChange,
  claimed,
  decideCancel,
  decideVote,
  endedTheWait,
  expiryOf,
  initialState,
  notClaimed,
  notFinished,
  refuseBeyondWaitingLimit,
  supersedeReason,
} from './transitions.js';

const T = (iso: string) => new Date(iso);
// The times of approvalRequest(): created at 10:27 UTC, expiring at 10:42.
const CREATED = T('2025-11-28T10:27:00Z');
const EXPIRES = T('2025-11-28T10:42:00Z');
const NOW = T('2025-11-28T10:35:00Z');
const REQUESTER = 'U0ONCALL';

const request = approvalRequest;

const approval = (voter: string) => ({ voter, roles: ['approvers'], vote: 'approve' as const, at: T('2025-11-28T10:30:00Z') });
const approve = (voter: string, voterRoles = ['approvers']) => ({ voter, voterRoles, vote: 'approve' as const });
const deny = (voter: string) => ({ voter, voterRoles: ['approvers'], vote: 'deny' as const });

describe('a vote', () => {
  it('counts an approval and keeps the request pending while more are needed, writing only the vote', () => {
    const decision = decideVote(request(), approve('U0A'), NOW);
    expect(decision.outcome).toMatchObject({ code: 'counted', changed: true, message: '1 of 2 approved by @U0A; 1 more approval needed' });
    expect(decision.outcome.request).toMatchObject({ state: 'pending', approvedBy: ['U0A'] });
    expect(decision.vote).toEqual({ voter: 'U0A', roles: ['approvers'], vote: 'approve', at: NOW });
    expect(decision.change).toBeUndefined();
  });

  it('approves the request with the approval that completes the count', () => {
    const decision = decideVote(request({ votes: [approval('U0A')], approvedBy: ['U0A'] }), approve('U0B'), NOW);
    expect(decision.outcome).toMatchObject({ code: 'approved', changed: true, message: 'Approved: 2 of 2 approved by @U0A and @U0B' });
    expect(decision.change).toEqual({ state: 'approved', at: NOW });
    expect(decision.outcome.request).toMatchObject({ state: 'approved', stateChangedAt: NOW, approvedBy: ['U0A', 'U0B'] });
  });

  it('ends the request with one deny, recording who denied it', () => {
    const decision = decideVote(request({ votes: [approval('U0A')], approvedBy: ['U0A'] }), deny('U0B'), NOW);
    expect(decision.outcome).toMatchObject({ code: 'denied', changed: true });
    expect(decision.vote).toMatchObject({ voter: 'U0B', vote: 'deny' });
    expect(decision.change).toEqual({ state: 'denied', at: NOW, endedBy: 'U0B' });
    expect(decision.outcome.request).toMatchObject({ state: 'denied', endedBy: 'U0B', approvedBy: ['U0A'] });
  });

  it('marks a pending request expired when it arrives exactly at the expiry, and counts nothing', () => {
    const decision = decideVote(request(), approve('U0A'), EXPIRES);
    expect(decision.outcome).toMatchObject({ code: 'expired', changed: true });
    expect(decision.outcome.request).toMatchObject({ state: 'expired', stateChangedAt: EXPIRES, approvedBy: [] });
    expect(decision.change).toEqual({ state: 'expired', at: EXPIRES });
    expect(decision.vote).toBeUndefined();
  });

  it('changes nothing on a request that is already expired', () => {
    const decision = decideVote(request({ state: 'expired' }), approve('U0A'), T('2025-11-28T10:50:00Z'));
    expect(decision.outcome).toMatchObject({ code: 'expired', changed: false });
    expect(decision.change).toBeUndefined();
  });

  it("answers a person's second click, even on the other button, as already counted before saying the request is closed", () => {
    const approved = request({ state: 'approved', approvalsRequired: 1, votes: [approval('U0A')], approvedBy: ['U0A'] });
    const decision = decideVote(approved, deny('U0A'), NOW);
    expect(decision.outcome).toMatchObject({ code: 'already-counted', changed: false, message: expect.stringMatching(/^Already counted: you approved this at 10:30 UTC/) });
    expect(decision.vote).toBeUndefined();
  });

  it.each<ApprovalState>(['approved', 'denied', 'cancelled', 'executing', 'superseded'])('refuses a new voter on a %s request as closed', (state) => {
    const decision = decideVote(request({ state }), approve('U0A'), NOW);
    expect(decision.outcome).toMatchObject({ code: 'closed', changed: false });
    expect(decision.vote).toBeUndefined();
  });

  it('refuses the requester, telling a denying requester to cancel instead', () => {
    expect(decideVote(request(), approve(REQUESTER), NOW).outcome).toMatchObject({ code: 'own-request', message: 'You requested this; someone else must approve it' });
    expect(decideVote(request(), deny(REQUESTER), NOW).outcome).toMatchObject({ code: 'own-request', message: 'You requested this; cancel it instead of denying it' });
  });

  it('refuses a person with none of the approver roles', () => {
    const decision = decideVote(request(), approve('U0A', ['oncall']), NOW);
    expect(decision.outcome).toMatchObject({ code: 'not-an-approver', changed: false });
    expect(decision.vote).toBeUndefined();
  });
});

describe('a cancel', () => {
  it('cancels a pending or approved request for its requester, recording who ended it', () => {
    for (const state of ['pending', 'approved'] as const) {
      const decision = decideCancel(request({ state }), REQUESTER, NOW);
      expect(decision.outcome).toMatchObject({ code: 'cancelled', changed: true });
      expect(decision.change).toEqual({ state: 'cancelled', at: NOW, endedBy: REQUESTER });
    }
  });

  it('refuses anyone but the requester', () => {
    expect(decideCancel(request(), 'U0A', NOW)).toMatchObject({ outcome: { code: 'not-requester', message: 'Only the requester, @U0ONCALL, can cancel this request' } });
  });

  it('is too late once the run has started', () => {
    const decision = decideCancel(request({ state: 'executing', stateChangedAt: T('2025-11-28T10:33:00Z') }), REQUESTER, NOW);
    expect(decision.outcome).toMatchObject({ code: 'closed', changed: false, message: 'Too late to cancel: it started at 10:33 UTC' });
    expect(decision.change).toBeUndefined();
  });

  it('marks a due request expired even when someone else asks', () => {
    expect(decideCancel(request(), 'U0A', EXPIRES)).toMatchObject({ outcome: { code: 'expired', changed: true }, change: { state: 'expired' } });
  });
});

describe('creating', () => {
  it('makes break-glass approved at once and everything else pending', () => {
    expect(initialState(true)).toBe('approved');
    expect(initialState(false)).toBe('pending');
  });

  it("expires after the request's own time to live, or the store's default", () => {
    expect(expiryOf(CREATED, 60_000, 900_000)).toEqual(T('2025-11-28T10:28:00Z'));
    expect(expiryOf(CREATED, undefined, 900_000)).toEqual(EXPIRES);
  });

  it('refuses a requester who already has the most waiting requests, and only then', () => {
    expect(() => refuseBeyondWaitingLimit(REQUESTER, 19, 20)).not.toThrow();
    expect(() => refuseBeyondWaitingLimit(REQUESTER, 20, 20)).toThrow(ApprovalInputError);
    expect(() => refuseBeyondWaitingLimit(REQUESTER, 20, 20)).toThrow(/U0ONCALL already has 20 requests waiting/);
  });
});

describe('claiming, finishing and superseding', () => {
  it('runs a claimed request and reports a changed stack as superseded', () => {
    expect(claimed(request({ state: 'executing', approvedBy: ['U0A'] }))).toMatchObject({ code: 'claimed', changed: true, message: 'Running now (@U0A approved)' });
    expect(claimed(request({ state: 'superseded' }))).toMatchObject({ code: 'superseded', changed: true, message: expect.stringMatching(/^Not run: the stack changed/) });
  });

  it('says why a request the claim did not match cannot run', () => {
    expect(notClaimed(request(), NOW)).toMatchObject({ code: 'not-approved', changed: false });
    for (const state of ['executing', 'executed', 'failed'] as const) {
      expect(notClaimed(request({ state, stateChangedAt: T('2025-11-28T10:33:00Z') }), NOW)).toMatchObject({
        code: 'already-claimed',
        message: 'Already started at 10:33 UTC; it runs once',
      });
    }
    expect(notClaimed(request({ state: 'cancelled', endedBy: REQUESTER }), NOW)).toMatchObject({ code: 'closed' });
  });

  it('records nothing for a request that is not running', () => {
    expect(notFinished(request({ state: 'approved' }))).toMatchObject({ code: 'not-executing', changed: false, message: 'Nothing recorded: this request is approved, not running' });
  });

  it('wants a reason that says what changed, trimmed and kept to 1000 characters', () => {
    expect(() => supersedeReason('   ')).toThrow(ApprovalInputError);
    expect(supersedeReason('  policy changed  ')).toBe('policy changed');
    expect(supersedeReason('x'.repeat(1500))).toHaveLength(1000);
  });
});

describe('changes', () => {
  it('keeps who ended a request unless the change names someone', () => {
    const ended = request({ state: 'denied', endedBy: 'U0A' });
    expect(applyChange(ended, { state: 'expired', at: NOW })).toMatchObject({ state: 'expired', stateChangedAt: NOW, endedBy: 'U0A' });
    expect(applyChange(request(), { state: 'cancelled', at: NOW, endedBy: REQUESTER }).endedBy).toBe(REQUESTER);
  });

  it('ends the wait only when this call moved the request out of pending', () => {
    const counted = decideVote(request(), approve('U0A'), NOW).outcome;
    const approved = decideVote(request({ approvalsRequired: 1 }), approve('U0A'), NOW).outcome;
    const refused = decideVote(request({ state: 'approved' }), approve('U0A'), NOW).outcome;
    expect([endedTheWait(counted), endedTheWait(approved), endedTheWait(refused)]).toEqual([false, true, false]);
  });
});
