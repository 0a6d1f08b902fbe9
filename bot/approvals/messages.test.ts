import { describe, expect, it } from 'vitest';
import { clockTime, closedSentence, people, plainText, statusSentence } from './messages.js';
import type { ApprovalRequest } from './model.js';
import { approvalRequest } from './testing/requests.js';

const T = (iso: string) => new Date(iso);

const request = approvalRequest;

const approve = (voter: string, at = '2025-11-28T10:30:00Z') => ({ voter, roles: ['approvers'], vote: 'approve' as const, at: T(at) });
const deny = (voter: string) => ({ voter, roles: ['approvers'], vote: 'deny' as const, at: T('2025-11-28T10:31:00Z') });
const now = T('2025-11-28T10:35:00Z');

describe('approval sentences', () => {
  it('shows times in UTC, with the date when it is not today', () => {
    expect(clockTime(T('2025-11-28T09:05:59Z'), now)).toBe('09:05 UTC');
    expect(clockTime(T('2025-11-27T23:59:00Z'), now)).toBe('2025-11-27 23:59 UTC');
  });

  it('lists people naturally and keeps them as people, not text', () => {
    expect(people(['A'])).toEqual([{ user: 'A' }]);
    expect(plainText(people(['A', 'B', 'C']))).toBe('@A, @B and @C');
    expect(plainText(['by ', { user: 'U1' }], (id) => `<@${id}>`)).toBe('by <@U1>');
  });

  it('never turns text into a person: words a requester typed stay text', () => {
    const sentence = statusSentence(request({ state: 'superseded', endedReason: 'policy changed <@U0BOSS>' }), now);
    expect(sentence.every((word) => typeof word === 'string')).toBe(true);
  });

  const cases: Array<[string, Partial<ApprovalRequest>, string]> = [
    ['pending with no votes', {}, 'Waiting for approval: 0 of 2 approved · expires at 10:42 UTC'],
    ['pending with one approval', { votes: [approve('U1')], approvedBy: ['U1'] }, 'Waiting for approval: 1 of 2 approved by @U1 · expires at 10:42 UTC'],
    ['approved', { state: 'approved', votes: [approve('U1'), approve('U2')], approvedBy: ['U1', 'U2'] }, 'Approved (2 of 2 approved by @U1 and @U2); starting'],
    [
      'executing',
      { state: 'executing', stateChangedAt: T('2025-11-28T10:33:00Z'), approvedBy: ['U1', 'U2'] },
      'Approved (2 of 2 approved by @U1 and @U2); running since 10:33 UTC',
    ],
    ['executed', { state: 'executed', stateChangedAt: T('2025-11-28T10:34:00Z'), approvedBy: ['U1', 'U2'] }, 'Done (2 of 2 approved by @U1 and @U2); finished at 10:34 UTC'],
    ['failed', { state: 'failed', stateChangedAt: T('2025-11-28T10:34:00Z'), approvedBy: ['U1', 'U2'] }, 'Failed (2 of 2 approved by @U1 and @U2); it ran and failed at 10:34 UTC'],
    ['denied without approvals', { state: 'denied', votes: [deny('U3')], endedBy: 'U3' }, 'Denied by @U3; nothing was run'],
    ['cancelled', { state: 'cancelled', endedBy: 'U0ONCALL', stateChangedAt: T('2025-11-28T10:29:00Z') }, 'Cancelled by @U0ONCALL at 10:29 UTC; nothing was run'],
    ['expired', { state: 'expired', votes: [approve('U1')], approvedBy: ['U1'] }, 'Expired at 10:42 UTC with 1 of 2 approved by @U1; nothing was run'],
    ['superseded', { state: 'superseded', endedReason: 'the policy now needs two approvers' }, 'Not run: the policy now needs two approvers; ask again'],
    ['break-glass', { state: 'approved', breakGlass: true, reason: 'outage' }, 'Approved (break-glass by @U0ONCALL without approvals); starting'],
  ];
  it.each(cases)('describes a request that is %s', (_name, overrides, text) => {
    expect(plainText(statusSentence(request(overrides), now))).toBe(text);
  });

  it('explains why a vote on a closed request was refused', () => {
    expect(plainText(closedSentence(request({ state: 'expired' }), now))).toBe('This request expired at 10:42 UTC; ask again if it is still needed');
    expect(plainText(closedSentence(request({ state: 'executed' }), now))).toBe('This request was already approved and has run; your vote was not needed');
  });
});
