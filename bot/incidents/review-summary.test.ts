/**
 * The review's short form for Slack: a result document, rendered here by the bot's one Block Kit
 * renderer and checked by the stand-in's validator, at its limits too.
 */
import { describe, expect, it } from 'vitest';
import { renderDocument } from '../slack/render.js';
import { validateBlocks } from '../slack/stand-in/block-kit.js';
import { MAX_TEXT_LENGTH, MAX_TITLE_LENGTH } from './incident-input.js';
import { REVIEW_SUMMARY_LIMITS, reviewSummary } from './review-summary.js';
import { actionItem, entry, reviewIncident, reviewRecords } from './testing/review-records.js';

const rendered = (document: ReturnType<typeof reviewSummary>) => {
  const message = renderDocument(document);
  expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  return { message, json: JSON.stringify(message.blocks) };
};
const fieldsOf = (document: ReturnType<typeof reviewSummary>) => document.blocks.flatMap((block) => (block.type === 'fields' ? block.fields : []));
const textsOf = (document: ReturnType<typeof reviewSummary>) => document.blocks.flatMap((block) => (block.type === 'text' ? [block.text] : []));

describe('the review summary', () => {
  it('gives the figures, the roles as mentions and where the whole review is, as valid Block Kit', () => {
    const document = reviewSummary(reviewRecords(), { timeZone: 'Europe/Berlin' });
    expect(document.title).toBe('INC-7 review: Policy Engine latency above 5 s');
    expect(document.summary).toBe('A sev1 performance incident, resolved 1 h 26 min after it was noticed; 1 of 3 action items open. The whole review is in inc-7-review.md.');
    expect(fieldsOf(document)).toEqual([
      { label: 'Severity', value: 'sev1 (changed once)' },
      { label: 'Type', value: 'performance' },
      { label: 'Commander', value: 'U0BOB' },
      { label: 'Scribe', value: 'U0CAROL' },
      { label: 'Detection time', value: '6 min 0 s' },
      { label: 'Resolution time', value: '1 h 26 min' },
      { label: 'Declared', value: '2026-12-07 04:00 Europe/Berlin (03:00Z)' },
      { label: 'Closed', value: '2026-12-07 06:00 Europe/Berlin (05:00Z)' },
    ]);
    const { json, message } = rendered(document);
    expect(json).toContain('*Commander*\\n<@U0BOB>');
    expect(message.text).toContain('INC-7 review');
  });

  it('lists the timeline in order and the action items with state and owner', () => {
    const [timeline, items] = textsOf(reviewSummary(reviewRecords()));
    expect(timeline!.split('\n').slice(0, 3)).toEqual([
      'Timeline (14 entries):',
      '2026-12-07 02:54:00Z alert · alertmanager: p99 latency above 5 ms on policy-engine',
      '2026-12-07 03:00:00Z declared · U0ALICE: declared sev3 performance incident',
    ]);
    expect(timeline).toContain('… and 4 more entries in the file.');
    expect(items).toBe(
      'Action items (3):\n#1 open · U0CAROL: Alert on cache hit rate below 60 %\n#2 done · U0BOB: Document the restart in the runbook\n#3 dropped · U0DAVE: Add a third replica',
    );
  });

  it('mentions only Slack users, never an actor such as alertmanager', () => {
    const people = reviewSummary(reviewRecords()).people ?? [];
    expect(people).toEqual(expect.arrayContaining(['U0BOB', 'U0CAROL', 'U0ALICE', 'U0DAVE']));
    expect(people).not.toContain('alertmanager');
  });

  it('is a warning while action items are open, and information once none is', () => {
    expect(reviewSummary(reviewRecords()).tone).toBe('warn');
    const settled = reviewSummary(reviewRecords({ actionItems: [actionItem('1', 'done', 'U0BOB', 'done')] }));
    expect(settled.tone).toBe('info');
    expect(settled.summary).toContain('0 of 1 action item open');
  });

  it('says what is missing on an open incident with nothing recorded yet', () => {
    const incident = reviewIncident({ state: 'declared', resolvedAt: undefined, resolvedBy: undefined, closedAt: undefined, closedBy: undefined, roles: {} });
    const document = reviewSummary(reviewRecords({ incident, timeline: [], actionItems: [], statusUpdates: [] }));
    expect(document.summary).toBe('A sev1 performance incident, not resolved yet; 0 of 0 action items open. The whole review is in inc-7-review.md.');
    expect(fieldsOf(document).map((field) => [field.label, field.value])).toEqual(
      expect.arrayContaining([
        ['Resolution time', 'not resolved yet'],
        ['Closed', 'not yet'],
      ]),
    );
    expect(fieldsOf(document).map((field) => field.label)).not.toContain('Commander');
    expect(textsOf(document)).toEqual(['Timeline: nothing was recorded.', 'Action items: none yet.']);
    rendered(document);
  });

  it('cuts a very long timeline and many action items, saying how many more the file holds, and stays valid at the limits', () => {
    const long = 'x'.repeat(MAX_TEXT_LENGTH);
    const timeline = Array.from({ length: 600 }, (_, index) => entry('note', index, `${index} ${long}`, { id: String(index + 1) }));
    const actionItems = Array.from({ length: 40 }, (_, index) => actionItem(String(index + 1), `${index + 1} ${long}`, 'U0BOB', 'open'));
    const document = reviewSummary(reviewRecords({ incident: reviewIncident({ title: 'T'.repeat(MAX_TITLE_LENGTH) }), timeline, actionItems }));
    const [timelineText, itemsText] = textsOf(document);
    const timelineLines = timelineText!.split('\n');
    expect(timelineLines).toHaveLength(1 + REVIEW_SUMMARY_LIMITS.timelineEntries + 1);
    expect(timelineLines.at(-1)).toBe('… and 590 more entries in the file.');
    expect(itemsText!.split('\n').at(-1)).toBe('… and 30 more items in the file.');
    for (const line of [...timelineLines, ...itemsText!.split('\n')]) expect(line.length).toBeLessThan(REVIEW_SUMMARY_LIMITS.lineText + 60);
    const { message } = rendered(document);
    expect(message.blocks.length).toBeLessThanOrEqual(10);
  });

  it('keeps people\'s markup as text: no mention, link or broadcast comes from a title or a note', () => {
    const hostile = '<!channel> <https://evil.example|click> <@U0EVIL> *bold*';
    const document = reviewSummary(reviewRecords({ incident: reviewIncident({ title: hostile }), timeline: [entry('note', 3, hostile, { id: '1' })], actionItems: [] }));
    const { json } = rendered(document);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<https://evil.example');
    expect(json).not.toContain('<@U0EVIL>');
    expect(json).toContain('&lt;!channel&gt;');
  });
});
