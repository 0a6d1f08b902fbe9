import { describe, expect, it } from 'vitest';
import { auditQueryArguments, auditTrailDocument, auditTrailVerifyDocument, parseSince } from './audit-documents.js';
import type { TrailQueryResult } from '../bot/audit-trail/audit-trail.js';
import type { TrailRecord } from '../bot/audit-trail/trail-record.js';
import type { TrailVerification } from '../bot/audit-trail/trail-verifier.js';
import { renderText } from '../bot/cli-render.js';
import { renderDocument } from '../bot/slack/render.js';
import { validateBlocks } from '../bot/slack/stand-in/block-kit.js';

const now = new Date('2025-06-15T12:00:00.000Z');

describe('the arguments of /acgs audit', () => {
  it('turns mentions, IDs, command names and spans into the trail query', () => {
    expect(auditQueryArguments.parse({ user: '<@U0ALICE12|alice>', command: ' Lockdown  Lift ', limit: '50' })).toEqual({
      user: 'U0ALICE12',
      command: 'lockdown lift',
      limit: 50,
    });
    expect(auditQueryArguments.parse({ user: 'U0BOB' })).toEqual({ user: 'U0BOB', limit: 20 });
    expect(auditQueryArguments.parse({ user: 'cli:ops' })).toMatchObject({ user: 'cli:ops' });
    const since = auditQueryArguments.parse({ since: '2h' }).since!;
    expect(Math.abs(Date.now() - 2 * 3_600_000 - since.getTime())).toBeLessThan(5000);
  });

  it.each([
    [{ user: 'alice' }, 'user', /must name one person: a mention such as @alice, a Slack user ID such as U0123ABCD, or cli:<user> \(got `alice`\)/],
    [{ user: '<@U0ALICE' }, 'user', /must name one person/],
    [{ command: 'rm -rf /' }, 'command', /must be a command name such as scale or "lockdown lift" \(got `rm -rf \/`\)/],
    [{ command: 'a b c' }, 'command', /must be a command name/],
    [{ since: 'last week' }, 'since', /must be a time span such as 30m, 12h, 7d or 2w, or a date such as 2025-01-31/],
    [{ since: '0d' }, 'since', /must be a time span/],
    [{ since: '2025-02-30' }, 'since', /must be a time span/],
    [{ limit: '0' }, 'limit', /must be a whole number from 1 to 200/],
    [{ limit: '500' }, 'limit', /must be a whole number from 1 to 200/],
    [{ verbose: 'yes' }, undefined, /Unrecognized key/],
  ])('refuses %j with a message naming what is allowed', (input, path, message) => {
    const result = auditQueryArguments.safeParse(input);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    if (path) expect(issue.path).toEqual([path]);
    expect(issue.message).toMatch(message);
  });
});

describe('--since', () => {
  it.each([
    ['30m', '2025-06-15T11:30:00.000Z'],
    ['12h', '2025-06-15T00:00:00.000Z'],
    ['7d', '2025-06-08T12:00:00.000Z'],
    ['2w', '2025-06-01T12:00:00.000Z'],
    ['2025-01-31', '2025-01-31T00:00:00.000Z'],
    ['2025-01-31T08:00', '2025-01-31T08:00:00.000Z'],
    ['2025-01-31 08:00:30Z', '2025-01-31T08:00:30.000Z'],
    ['2025-01-31T08:00+02:00', '2025-01-31T06:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseSince(text, now)?.toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '-1d', '10y', '99999w', '2025-13-01', '31/01/2025', '2025-01-31T25:00'])('refuses %j', (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});

function record(sequence: number, overrides: Partial<TrailRecord> = {}): TrailRecord {
  return {
    sequence,
    key: `k-${sequence}`,
    at: '2025-06-15T11:59:00.000Z',
    recordedAt: '2025-06-15T11:59:00.010Z',
    kind: 'command',
    actor: 'U0ALICE',
    origin: 'slash',
    channel: 'C0OPS',
    command: 'scale',
    args: { service: 'policy-engine', replicas: 3 },
    decision: 'needs_approval',
    level: 2,
    outcome: 'pending',
    details: null,
    constitutionalHash: 'cdd01ef066bc6cf2',
    contentHash: 'a'.repeat(64),
    prevHash: 'b'.repeat(64),
    hash: 'c'.repeat(64),
    ...overrides,
  };
}

describe('the audit trail document', () => {
  it('lists the records newest first as a table, with the filter in words', () => {
    const result: TrailQueryResult = {
      records: [record(2, { kind: 'approval_requested' }), record(1, { level: 'read', command: 'health', args: {} })],
      more: false,
      waiting: 0,
    };
    const document = auditTrailDocument(result, { user: 'U0ALICE', command: 'scale', limit: 20 });
    expect(document.summary).toBe('2 records, newest first (by U0ALICE, command scale).');
    expect(document.blocks[0]).toEqual({
      type: 'table',
      columns: ['#', 'When', 'Who', 'What', 'Command', 'Decision', 'Outcome'],
      rows: [
        ['2', '2025-06-15 11:59:00Z', 'U0ALICE', 'approval requested (L2)', 'scale service=policy-engine replicas=3', 'needs_approval', 'pending'],
        ['1', '2025-06-15 11:59:00Z', 'U0ALICE', 'command (read-only)', 'health', 'needs_approval', 'pending'],
      ],
    });
    expect(document.data).toBe(result);
  });

  it('says when nothing matches, when there is more, and when records wait in the spool', () => {
    const empty = auditTrailDocument({ records: [], more: false, waiting: 0 }, { limit: 20 });
    expect(empty.summary).toBe('No records match (all records).');
    const busy = auditTrailDocument({ records: [record(9)], more: true, waiting: 3 }, { since: new Date('2025-06-01T00:00:00Z'), limit: 1 });
    expect(busy.summary).toBe('1 record, newest first (since 2025-06-01 00:00:00Z).');
    expect(busy.footer).toContain('Showing the newest 1; narrow with --user, --command or --since');
    expect(busy.footer).toContain("3 more records are waiting in the bot's local spool");
  });

  it('renders as valid Block Kit, with markup and mentions from recorded text escaped', () => {
    const hostile = record(1, { actor: '<!channel>', command: 'scale', args: { service: '<@U0BOSS> & *bold*' }, outcome: '<https://evil.example|click>' });
    const message = renderDocument(auditTrailDocument({ records: [hostile], more: false, waiting: 0 }, { limit: 20 }));
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const json = JSON.stringify(message.blocks);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<@U0BOSS>');
    expect(json).toContain('&lt;!channel&gt;');
    expect(renderText(auditTrailDocument({ records: [hostile], more: false, waiting: 0 }, { limit: 20 }))).toContain('<!channel>');
  });
});

describe('the verify document', () => {
  const base: TrailVerification & { waiting: number } = {
    valid: true,
    checked: 42,
    head: { sequence: 42, hash: 'f'.repeat(64) },
    checkedAt: '2025-06-15T12:00:00.000Z',
    durationMs: 12,
    waiting: 0,
  };

  it('says the trail is intact, or empty', () => {
    expect(auditTrailVerifyDocument(base)).toMatchObject({ tone: 'ok', title: "Bot's audit trail intact", summary: 'All 42 records match their hashes and links.' });
    expect(auditTrailVerifyDocument({ ...base, checked: 0, head: { sequence: 0, hash: 'g'.repeat(64) } }).summary).toBe(
      "The bot's audit trail is empty: nothing was recorded yet.",
    );
  });

  it('names the first altered record and what is wrong with it', () => {
    const document = auditTrailVerifyDocument({
      ...base,
      valid: false,
      checked: 2,
      firstBad: { sequence: 3, check: 'content', problem: 'record #3 was altered after it was written: its content no longer matches its hash' },
      waiting: 1,
    });
    expect(document).toMatchObject({
      tone: 'fail',
      title: "Bot's audit trail broken",
      summary: 'The first altered or missing record is #3: its content was changed after it was written.',
    });
    expect(document.blocks).toContainEqual({ type: 'text', text: 'record #3 was altered after it was written: its content no longer matches its hash' });
    expect(document.footer).toContain("1 more record is waiting in the bot's local spool");
    expect(validateBlocks(renderDocument(document).blocks, 'message')).toEqual([]);
  });
});
