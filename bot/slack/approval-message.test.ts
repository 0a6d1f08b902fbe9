import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../approvals/index.js';
import { outcomeUnknownSentence } from '../command-path/index.js';
import { renderApprovalMessage, sentenceMrkdwn } from './approval-message.js';
import { validateBlocks } from './stand-in/index.js';

const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

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

  it("shows a runbook run's plan step by step, every line whole, escaped, redacted, and within Slack's limits", () => {
    const plan = ['1. Take a backup (act on database <!channel>); checked (read-only): would dump postgres://acgs:hunter2@db/acgs', ...Array.from({ length: 59 }, (_, index) => `${index + 2}. ${'x'.repeat(400)} end of step ${index + 2}`)];
    const message = renderApprovalMessage(request({ action: { ...request().action, plan } }), { now: NOW });
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('*Plan*\\n1. Take a backup (act on database &lt;!channel&gt;); checked (read-only)');
    expect(json).not.toContain('hunter2');
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    for (let number = 2; number <= 60; number += 1) expect(json).toContain(`${number}. ${'x'.repeat(400)} end of step ${number}`);
    expect(json).not.toContain('truncated');
    expect(json).not.toContain('does not fit');
    expect(JSON.stringify(renderApprovalMessage(request(), { now: NOW }).blocks)).not.toContain('*Plan*');
  });

  it('says which lines of a plan too long for one message are not shown, and where to read them, beside an answer', () => {
    const plan = Array.from({ length: 100 }, (_, index) => `${index + 1}. ${'y'.repeat(2850)} end of step ${index + 1}`);
    const action = { ...request().action, line: 'run restore id=20261206T152000Z-a1b2c3', plan };
    const result = { title: 'Restore started', tone: 'ok' as const, blocks: Array.from({ length: 30 }, (_, index) => ({ type: 'text' as const, text: `answer ${index}` })) };
    for (const [state, options] of [['pending', {}], ['executed', { result }]] as const) {
      const message = renderApprovalMessage(request({ action, state }), { now: NOW, ...options });
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const texts = message.blocks.map((block) => JSON.stringify(block));
      const note = texts.find((text) => text.includes('does not fit'))!;
      const shown = Number(/lines (\d+) to 100 of 100 are not shown here/.exec(note)![1]) - 1;
      expect(shown).toBeGreaterThan(20);
      expect(note).toContain('Read the whole plan with `/acgs run restore id=20261206T152000Z-a1b2c3 --dry-run` before you approve');
      // Every line above the note is whole; none below it is there at all.
      const whole = (number: number) => new RegExp(`end of step ${number}(\\\\n|")`);
      for (let number = 1; number <= shown; number += 1) expect(texts.join('')).toMatch(whole(number));
      expect(texts.join('')).not.toMatch(whole(shown + 1));
      expect(texts.some((text) => text.includes('Request `3f2b8a4e'))).toBe(true);
      if (state === 'executed') expect(texts.some((text) => text.includes('answer 0'))).toBe(true);
    }
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

/** A line with secrets typed into it, as a hurried operator would. */
const SECRET_LINE = 'restore --db-password hunter2 --from postgres://acgs:s3cret@db:5432/acgs --token xoxb-1111-2222-abcd';
const withSecrets = (overrides: Partial<ApprovalRequest> = {}) =>
  request({ action: { command: 'restore', args: {}, line: SECRET_LINE, target: 'postgres://acgs:s3cret@db:5432/acgs', stateFingerprint: 'backup 12 (password=s3cret)' }, ...overrides });

describe('approval cards and typed secrets', () => {
  const goldens: Array<[string, () => ReturnType<typeof renderApprovalMessage>]> = [
    ['pending-redacted', () => renderApprovalMessage(withSecrets(), { now: NOW })],
    ['executed-redacted', () => renderApprovalMessage(withSecrets({ state: 'executed', approvedBy: ['U0APPROVER1'], votes: [{ voter: 'U0APPROVER1', roles: ['approvers'], vote: 'approve', at: NOW }] }), { now: NOW, result: { title: 'Restored', tone: 'ok', blocks: [] } })],
  ];
  for (const [name, build] of goldens) {
    it(`renders ${name} exactly as bot/slack/golden/approval-${name}.json records it, with the typed secrets redacted`, () => {
      const message = build();
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`approval-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/approval-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run bot/slack/approval-message.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('shows no typed secret anywhere in the card: header, command, target, state, confirm dialogs or fallback text', () => {
    const json = JSON.stringify(renderApprovalMessage(withSecrets(), { now: NOW }));
    for (const secret of ['hunter2', 's3cret', 'xoxb-1111']) expect(json).not.toContain(secret);
    expect(json).toContain('--db-password [redacted]');
    expect(json).toContain('postgres://acgs:[redacted]@db:5432/acgs');
  });

  it('tells the channel about an interrupted run without the typed secrets, mentioning only the requester', () => {
    const text = sentenceMrkdwn(outcomeUnknownSentence(withSecrets()));
    for (const secret of ['hunter2', 's3cret', 'xoxb-1111']) expect(text).not.toContain(secret);
    expect(text).toMatch(/^<@U0ONCALL>: the approved `restore --db-password \[redacted\] --from postgres:\/\/acgs:\[redacted\]@db:5432\/acgs --token \[redacted\]` was running when the bot stopped\./);
  });
});
