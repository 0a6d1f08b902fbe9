/**
 * A request as the store would return it, built in memory: for the pure tests of the sentences and
 * the transition rules, which need no database.
 */
import type { ApprovalRequest } from '../model.js';

/** `redis flush` by U0ONCALL at 10:27 UTC, pending, 2 approvals of the approvers role needed, expiring at 10:42. */
export function approvalRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: '7d0f8a58-5a4a-4a43-9c6e-111111111111',
    action: { command: 'redis flush', args: {}, line: 'redis flush', stateFingerprint: 'keys=120' },
    requester: 'U0ONCALL',
    messages: [],
    level: 3,
    approvalsRequired: 2,
    approverRoles: ['approvers'],
    distinctApprovers: true,
    approvedBy: [],
    breakGlass: false,
    createdAt: new Date('2025-11-28T10:27:00Z'),
    expiresAt: new Date('2025-11-28T10:42:00Z'),
    state: 'pending',
    stateChangedAt: new Date('2025-11-28T10:27:00Z'),
    votes: [],
    ...overrides,
  };
}
