/**
 * The post-incident review's Markdown: a golden file of a whole incident (compared byte for byte;
 * UPDATE_GOLDEN=1 rewrites it), then each part against its input.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REVIEW_SECTIONS, reviewDocument, reviewFileName, type ReviewOptions, type ReviewRecords } from './review-document.js';
import { actionItem, entry, minutes, reviewIncident, reviewRecords, T0, update } from './testing/review-records.js';

const GOLDEN = new URL('./golden/review-inc-7.md', import.meta.url);
const options: ReviewOptions = { generatedAt: minutes(121), timeZone: 'Europe/Berlin', names: new Map([['U0BOB', 'Bob Builder']]) };
const review = (records: Partial<ReviewRecords> = {}, more: Partial<ReviewOptions> = {}) => reviewDocument(reviewRecords(records), { ...options, ...more });

/** The lines of one `## ` section, without its heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  expect(start, `section ${title}`).toBeGreaterThan(-1);
  const rest = markdown.slice(start + title.length + 5);
  const end = rest.indexOf('\n## ');
  return (end === -1 ? rest : rest.slice(0, end)).trim();
}

describe('the review file', () => {
  it('is written exactly as bot/incidents/golden/review-inc-7.md records it', () => {
    const markdown = review();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, markdown);
    if (!existsSync(GOLDEN)) throw new Error('bot/incidents/golden/review-inc-7.md is missing: run UPDATE_GOLDEN=1 npx vitest run bot/incidents/review-document.test.ts and review it');
    expect(markdown).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('has the title, then every section once, in order', () => {
    const markdown = review();
    expect(markdown.split('\n')[0]).toBe('# INC-7 post-incident review: Policy Engine latency above 5 s');
    expect(markdown.split('\n').filter((line) => line.startsWith('## '))).toEqual(REVIEW_SECTIONS.map((title) => `## ${title}`));
    expect(markdown.endsWith('\n')).toBe(true);
  });

  it('is the same for the same records, whatever order the caller listed them in', () => {
    const records = reviewRecords();
    const shuffled = { ...records, timeline: [...records.timeline].reverse(), statusUpdates: [...records.statusUpdates].reverse(), actionItems: [...records.actionItems].reverse() };
    expect(reviewDocument(shuffled, options)).toBe(reviewDocument(records, options));
  });

  it('is named after the incident', () => {
    expect(reviewFileName(reviewIncident({ id: '42' }))).toBe('inc-42-review.md');
  });
});

describe('the summary', () => {
  it('shows each severity and type change with when and who', () => {
    const timeline = [
      entry('severity-change', 5, 'severity changed from sev3 to sev2', { id: '1' }),
      entry('severity-change', 9, 'severity changed from sev2 to sev1', { actor: 'U0BOB', id: '2' }),
      entry('type-change', 11, 'type changed from performance to security', { id: '3' }),
    ];
    const summary = section(review({ timeline }, { timeZone: undefined }), 'Summary');
    expect(summary).toContain(
      '- **Severity:** sev1, changed 2 times:\n  - 2026-12-07 03:05Z by U0ALICE: severity changed from sev3 to sev2\n  - 2026-12-07 03:09Z by Bob Builder (U0BOB): severity changed from sev2 to sev1',
    );
    expect(summary).toContain('- **Type:** performance, changed once:\n  - 2026-12-07 03:11Z by U0ALICE: type changed from performance to security');
  });

  it('says nothing of changes when there were none', () => {
    const summary = section(review({ timeline: [] }), 'Summary');
    expect(summary).toContain('- **Severity:** sev1\n');
    expect(summary).toContain('- **Type:** performance\n');
    expect(summary).not.toContain('changed');
  });

  it('names the role holders, with each handover, and says when a role was never handed out', () => {
    const summary = section(review(), 'Summary');
    expect(summary).toContain('- **Commander:** Bob Builder (U0BOB), handed over once:');
    expect(summary).toContain(
      '  - 2026-12-07 04:00 Europe/Berlin (03:00Z): U0ALICE, named by U0ALICE\n  - 2026-12-07 04:10 Europe/Berlin (03:10Z): Bob Builder (U0BOB), named by U0ALICE',
    );
    expect(summary).toContain('- **Communications:** nobody was named');
    expect(summary).toContain('- **Scribe:** U0CAROL\n');
  });

  it('gives the detected, declared, resolved and closed times in UTC and in the config\'s timezone', () => {
    const summary = section(review(), 'Summary');
    expect(summary).toContain('- **Detected:** 2026-12-07 03:54 Europe/Berlin (02:54Z)');
    expect(summary).toContain('- **Declared:** 2026-12-07 04:00 Europe/Berlin (03:00Z) by U0ALICE');
    expect(summary).toContain('- **Resolved:** 2026-12-07 05:20 Europe/Berlin (04:20Z) by Bob Builder (U0BOB)');
    expect(summary).toContain('- **Closed:** 2026-12-07 06:00 Europe/Berlin (05:00Z) by Bob Builder (U0BOB)');
    const inUtc = section(review({}, { timeZone: undefined }), 'Summary');
    expect(inUtc).toContain('- **Declared:** 2026-12-07 03:00Z by U0ALICE');
    expect(inUtc).not.toContain('Europe/Berlin');
  });

  it('says what has not happened yet on an open incident', () => {
    const incident = reviewIncident({ state: 'declared', resolvedAt: undefined, resolvedBy: undefined, closedAt: undefined, closedBy: undefined });
    const markdown = review({ incident });
    expect(section(markdown, 'Summary')).toContain('- **Resolved:** not yet\n- **Closed:** not yet');
    expect(section(markdown, 'Detection and resolution')).toContain('- **Resolution time** (noticed → resolved): not resolved yet');
  });
});

describe('impact and the prompts to fill', () => {
  it('prompt for the impact when it is not known, and for what went well, badly and by luck', () => {
    const markdown = review();
    for (const title of ['Impact', 'What went well', 'What went badly', 'Where we got lucky']) expect(section(markdown, title)).toMatch(/^> To fill: /);
  });

  it('quote a known impact, escaped, instead of the prompt', () => {
    const impact = section(review({}, { impact: '12 % of requests refused for *20 min*\n# agents paused' }), 'Impact');
    expect(impact).toBe('> 12 % of requests refused for \\*20 min\\*\n> \\# agents paused');
  });
});

describe('detection and resolution times', () => {
  it('are this incident\'s: noticed to declared, and noticed to resolved', () => {
    const times = section(review(), 'Detection and resolution');
    expect(times).toContain('- **Detection time** (noticed → declared): 6 min 0 s');
    expect(times).toContain('- **Resolution time** (noticed → resolved): 1 h 26 min');
    expect(times).not.toContain('comparison');
  });

  it('are set against the medians, not the means, of the incidents of a period', () => {
    const other = (declaredMinute: number, detectionMinutes: number, resolutionMinutes?: number) => ({
      detectedAt: minutes(declaredMinute - detectionMinutes),
      declaredAt: minutes(declaredMinute),
      resolvedAt: resolutionMinutes === undefined ? undefined : minutes(declaredMinute - detectionMinutes + resolutionMinutes),
    });
    // Means would be 152 min to detect and 17 h to resolve: one long outage would set them.
    const incidents = [other(-3000, 2, 30), other(-2000, 4, 30), other(-1000, 600, 3000), other(-500, 3), other(5000, 1, 1)];
    const times = section(review({}, { recent: { incidents, period: { from: minutes(-4000), to: T0 } } }), 'Detection and resolution');
    expect(times).toContain(
      '- **For comparison,** medians of the 4 incidents declared from 2026-12-04 08:20:00Z to 2026-12-07 03:00:00Z: detection 3 min 30 s, resolution 30 min 0 s (3 resolved).',
    );
  });

  it('say so when no incident was declared in the comparison period', () => {
    const times = section(review({}, { recent: { incidents: [], period: { from: minutes(-60), to: T0 } } }), 'Detection and resolution');
    expect(times).toContain('- **For comparison:** no incident was declared from 2026-12-07 02:00:00Z to 2026-12-07 03:00:00Z.');
  });
});

describe('the timeline', () => {
  const rows = (markdown: string) => section(markdown, 'Timeline').split('\n').slice(2);

  it('is chronological by when things happened, not when the bot learnt of them', () => {
    const lines = rows(review());
    expect(lines[0]).toBe('| 2026-12-07 02:54:00Z | 2026-12-07 03:54:00 | alert | alertmanager | p99 latency above 5 ms on policy-engine | `alert-41` |');
    expect(lines[1]).toContain('| declared |');
    const times = lines.map((line) => line.slice(2, 22));
    expect(times).toEqual([...times].sort());
    // The approval at 03:17 was recorded after the step at 03:16 and before the one at 03:18.
    expect(lines.findIndex((line) => line.includes('| approval |'))).toBe(lines.findIndex((line) => line.includes('step 2')) - 1);
  });

  it('orders entries of the same time by when they were recorded, then by id', () => {
    const timeline = [entry('note', 5, 'third', { recordedMinute: 7, id: '1' }), entry('note', 5, 'second', { recordedMinute: 6, id: '10' }), entry('note', 5, 'first', { recordedMinute: 6, id: '9' })];
    expect(rows(review({ timeline }, { timeZone: undefined })).map((line) => line.split(' | ')[3])).toEqual(['first', 'second', 'third']);
  });

  it('shows the actor, the text and each kind of reference', () => {
    const markdown = section(review(), 'Timeline');
    expect(markdown).toContain('| Time (UTC) | Time (Europe/Berlin) | What | Who | Text | Reference |');
    expect(markdown).toContain('| command | Bob Builder (U0BOB) | restart policy-engine | `run-3f2a` |');
    expect(markdown).toContain('| approval | U0DAVE | scale policy-engine to 3 approved by U0DAVE | `approval-9` |');
    expect(markdown).toContain('| note | U0CAROL | cache hit rate dropped to 40 % | [link](https://acme.slack.com/archives/C0INC7/p1765076400000100) |');
  });

  it('has no local time column when the timezone is UTC', () => {
    expect(section(review({}, { timeZone: 'UTC' }), 'Timeline').split('\n')[0]).toBe('| Time (UTC) | What | Who | Text | Reference |');
  });

  it('shows a kind it does not know by its name, even one named like an object property', () => {
    const timeline = [entry('page-acknowledged', 3, 'paged U0ERIN acknowledged', { id: '1' }), entry('constructor', 4, 'odd', { id: '2' })];
    const lines = rows(review({ timeline }, { timeZone: undefined }));
    expect(lines[0]).toContain('| page-acknowledged | U0ALICE | paged U0ERIN acknowledged |');
    expect(lines[1]).toContain('| constructor | U0ALICE | odd |');
  });

  it('says so when nothing was recorded', () => {
    expect(section(review({ timeline: [] }), 'Timeline')).toBe('_Nothing was recorded on the timeline._');
  });

  it('keeps every entry of a very long timeline in the file', () => {
    const timeline = Array.from({ length: 600 }, (_, index) => entry('note', index, `note number ${index}`, { id: String(index + 1) }));
    const lines = rows(review({ timeline }));
    expect(lines).toHaveLength(600);
    expect(lines.at(-1)).toContain('note number 599');
  });
});

describe('people\'s words', () => {
  it('are escaped wherever they appear, so they read as typed', () => {
    const hostile = '*urgent* _now_ [click](https://evil.example) <!channel> a|b';
    const escaped = '\\*urgent\\* \\_now\\_ \\[click\\](https://evil.example) \\<!channel\\> a\\|b';
    const markdown = review({
      incident: reviewIncident({ title: hostile }),
      timeline: [entry('note', 3, hostile, { id: '1' }), entry('command', 4, hostile, { id: '2' })],
      statusUpdates: [update('1', 30, `# ${hostile}`)],
      actionItems: [actionItem('1', hostile, 'U0CAROL', 'open')],
    }, { names: new Map([['U0CAROL', '**Carol**']]) });
    expect(markdown.split('\n')[0]).toBe(`# INC-7 post-incident review: ${escaped}`);
    expect(section(markdown, 'Timeline')).toContain(`| note | U0ALICE | ${escaped} |`);
    expect(section(markdown, 'What was done')).toContain(`: ${escaped}`);
    expect(section(markdown, 'Status updates')).toContain(`  > \\# ${escaped}`);
    expect(section(markdown, 'Action items')).toContain(`#1 ${escaped}, owner \\*\\*Carol\\*\\* (U0CAROL)`);
    expect(markdown).not.toContain('[click](');
    expect(markdown).not.toContain('<!channel>');
  });

  it('never break a timeline row: a line break in a note stays inside its cell', () => {
    const lines = section(review({ timeline: [entry('note', 3, 'one\n| two |\nthree', { id: '1' })] }, { timeZone: undefined }), 'Timeline').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('| 2026-12-07 03:03:00Z | note | U0ALICE | one \\| two \\| three |  |');
  });
});

describe('what was done', () => {
  it('lists the commands, then each runbook run with its steps', () => {
    const done = section(review({}, { timeZone: undefined }), 'What was done');
    expect(done).toBe(
      [
        '### Commands',
        '',
        '- 2026-12-07 03:15:00Z, Bob Builder (U0BOB): restart policy-engine (`run-3f2a`)',
        '',
        '### Runbook runs',
        '',
        '- Run `run-3f2a`: 2 steps, 2026-12-07 03:16:00Z to 2026-12-07 03:18:00Z',
        '  - 2026-12-07 03:16:00Z, Bob Builder (U0BOB): step 1: policy-engine restarted',
        '  - 2026-12-07 03:18:00Z, Bob Builder (U0BOB): step 2: p99 back under 5 ms',
      ].join('\n'),
    );
  });

  it('groups steps by run, in the order the runs started, and keeps steps without a run', () => {
    const timeline = [
      entry('runbook-step', 20, 'b1', { reference: 'run-b', id: '1' }),
      entry('runbook-step', 10, 'a1', { reference: 'run-a', id: '2' }),
      entry('runbook-step', 25, 'loose', { id: '3' }),
      entry('runbook-step', 30, 'a2', { reference: 'run-a', id: '4' }),
    ];
    const done = section(review({ timeline }), 'What was done').split('\n').filter((line) => line.startsWith('- '));
    expect(done).toEqual([
      '- Run `run-a`: 2 steps, 2026-12-07 03:10:00Z to 2026-12-07 03:30:00Z',
      '- Run `run-b`: 1 step, 2026-12-07 03:20:00Z to 2026-12-07 03:20:00Z',
      '- Steps without a run reference: 1 step, 2026-12-07 03:25:00Z to 2026-12-07 03:25:00Z',
    ]);
  });

  it('says so when nothing ran through the bot', () => {
    expect(section(review({ timeline: [entry('note', 3, 'looked at dashboards', { id: '1' })] }), 'What was done')).toBe('_No command or runbook ran through the bot in this incident._');
  });
});

describe('status updates and action items', () => {
  it('list the updates oldest first, each quoted with its paragraphs', () => {
    const statusUpdates = [update('2', 45, 'Second.'), update('1', 30, 'First line.\n\nAfter a gap.', 'U0ALICE')];
    expect(section(review({ statusUpdates }), 'Status updates')).toBe(
      ['- 2026-12-07 03:30:00Z, U0ALICE:', '', '  > First line.', '  >', '  > After a gap.', '', '- 2026-12-07 03:45:00Z, Bob Builder (U0BOB):', '', '  > Second.'].join('\n'),
    );
  });

  it('say so when no update was posted', () => {
    expect(section(review({ statusUpdates: [] }), 'Status updates')).toBe('_No status update was posted._');
  });

  it('list each action item with its owner and state, counted, and say how they are tracked', () => {
    expect(section(review(), 'Action items')).toBe(
      [
        '1 open, 1 done, 1 dropped. Tracked with `/acgs incident actions INC-7`.',
        '',
        '- **open** #1 Alert on cache hit rate below 60 %, owner U0CAROL (since 2026-12-07 04:50:00Z)',
        '- **done** #2 Document the restart in the runbook, owner Bob Builder (U0BOB) (since 2026-12-07 04:55:00Z)',
        '- **dropped** #3 Add a third replica, owner U0DAVE (since 2026-12-07 04:58:00Z)',
      ].join('\n'),
    );
  });

  it('order action items by number, 10 after 9', () => {
    const actionItems = [actionItem('10', 'ten', 'U0BOB', 'open'), actionItem('9', 'nine', 'U0BOB', 'open')];
    expect(section(review({ actionItems }), 'Action items').split('\n').slice(2).map((line) => line.split(' ')[2])).toEqual(['#9', '#10']);
  });

  it('say so when there is none yet', () => {
    expect(section(review({ actionItems: [] }), 'Action items')).toBe('_No action item yet._ Tracked with `/acgs incident actions INC-7`.');
  });
});
