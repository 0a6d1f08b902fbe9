import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../approvals/index.js';
import { renderApprovalMessage, sentenceMrkdwn } from './approval-message.js';

const NOW = new Date('2026-11-28T10:00:00Z');

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: '3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    action: { command: 'poke', args: { target: '<!channel> & <@U0EVIL>' }, line: 'poke "<!channel> & <@U0EVIL>"', target: '<!here>', stateFingerprint: 'state <b>&</b>' },
    requester: 'U0ONCALL',
    messages: [],
    level: 2,
    approvalsRequired: 1,
    approverRoles: ['approvers'],
    distinctApprovers: true,
    approvedBy: [],
    breakGlass: false,
    createdAt: NOW,
    expiresAt: new Date(NOW.getTime() + 15 * 60 * 1000),
    state: 'pending',
    stateChangedAt: NOW,
    votes: [],
    ...overrides,
  };
}

describe('approval request messages', () => {
  it('escapes every piece of typed or reported text, so none becomes a mention or markup', () => {
    const json = JSON.stringify(renderApprovalMessage(request(), { now: NOW }).blocks);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<!here>');
    expect(json).not.toContain('<@U0EVIL>');
    expect(json).toContain('&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;');
    expect(json).toContain('state &lt;b&gt;&amp;&lt;/b&gt;');
  });

  it('mentions only real user IDs from the request, and shows anything else as text', () => {
    expect(sentenceMrkdwn(['by ', { user: 'U0APPROVER1' }])).toBe('by <@U0APPROVER1>');
    expect(sentenceMrkdwn(['by ', { user: 'cli:root><!channel' }])).toBe('by @cli:root&gt;&lt;!channel');
  });

  it('offers Approve, Deny and Cancel with confirm dialogs while pending, each carrying only the request id', () => {
    const actions = renderApprovalMessage(request(), { now: NOW }).blocks.find((block) => block.type === 'actions') as { elements: Array<{ action_id: string; value: string; confirm?: unknown }> };
    expect(actions.elements.map((button) => [button.action_id, button.value])).toEqual([
      ['acgs_approval_approve', '3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'],
      ['acgs_approval_deny', '3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'],
      ['acgs_approval_cancel', '3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'],
    ]);
    expect(actions.elements.every((button) => button.confirm !== undefined)).toBe(true);
  });

  it('drops the buttons once the request is decided, and says an expired one no longer takes clicks', () => {
    const expired = renderApprovalMessage(request({ state: 'expired' }), { now: NOW });
    expect(expired.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(JSON.stringify(expired.blocks)).toContain('Expired at 10:15 UTC');
    expect(JSON.stringify(expired.blocks)).toContain('The buttons no longer work');
    const denied = renderApprovalMessage(request({ state: 'denied', endedBy: 'U0APPROVER1', votes: [{ voter: 'U0APPROVER1', roles: ['approvers'], vote: 'deny', at: NOW }] }), { now: NOW });
    expect(denied.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(JSON.stringify(denied.blocks)).toContain('Denied by <@U0APPROVER1>');
  });
});
