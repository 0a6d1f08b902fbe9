/**
 * The incident briefing: what it says for each incident type, what it does with missing and
 * unreadable parts, and that Slack takes it at its limits (a title at the maximum, hundreds of
 * alerts and commands, hostile text), posted to the stand-in over HTTP through the real WebClient.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TITLE_LENGTH } from '../incidents/incident-input.js';
import { FIRST_STEPS, MAX_ROWS, renderIncidentBriefing, type IncidentBriefingInput } from './incident-briefing.js';
import { startSlackStandIn, validateBlocks, type SlackStandIn } from './stand-in/index.js';

const BOT_TOKEN = 'xoxb-incident-briefing-test';
const OPS = 'C0ACGSOPS01';
const DECLARED = new Date('2026-12-07T18:30:00Z');
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: false });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});

function input(overrides: Partial<IncidentBriefingInput> = {}, incident: Partial<IncidentBriefingInput['incident']> = {}): IncidentBriefingInput {
  return {
    incident: {
      key: 'INC-7',
      title: 'Audit chain head mismatch',
      severity: 'sev1',
      type: 'security',
      private: true,
      declaredBy: 'U0ONCALL',
      declaredAt: DECLARED,
      roles: { communications: { holder: 'U0APPROVER1', changedBy: 'U0ONCALL', changedAt: DECLARED } },
      ...incident,
    },
    health: [
      { service: 'policy-engine', tone: 'ok', detail: '2 ms' },
      { service: 'audit-engine', tone: 'fail', detail: 'chain verification failed at record 1207' },
    ],
    openAlerts: [{ title: 'Audit chain broken', severity: 'critical', since: new Date('2026-12-07T18:21:00Z') }],
    recentDeploys: [
      { service: 'audit-engine', version: '1.4.2', kind: 'deploy', at: new Date('2026-12-06T09:00:00Z'), by: 'U0APPROVER2', outcome: 'live' },
      { service: 'policy-engine', version: '1.3.9', kind: 'rollback', at: new Date('2026-12-07T17:55:00Z') },
    ],
    recentCommands: [{ line: 'audit verify', actor: 'U0ONCALL', at: new Date('2026-12-07T18:25:00Z'), outcome: 'failed' }],
    ...overrides,
  };
}

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] };
const blocksOf = (message: ReturnType<typeof renderIncidentBriefing>) => message.blocks as unknown as Block[];
const sectionTexts = (message: ReturnType<typeof renderIncidentBriefing>) => blocksOf(message).filter((block) => block.type === 'section' && block.text).map((block) => block.text!.text);
const partText = (message: ReturnType<typeof renderIncidentBriefing>, title: string) => sectionTexts(message).find((text) => text.startsWith(`*${title}*`))!;

async function postedOk(message: ReturnType<typeof renderIncidentBriefing>): Promise<void> {
  expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  const posted = await client.chat.postMessage({ channel: OPS, ...message });
  expect(posted.ok).toBe(true);
}

describe('renderIncidentBriefing', () => {
  it('names the incident, its severity, type and roles, the commander being the declarer until handed over', async () => {
    const message = renderIncidentBriefing(input());
    const blocks = blocksOf(message);
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'INC-7 · sev1 · Audit chain head mismatch' } });
    expect(blocks[1]!.fields!.map((field) => field.text)).toEqual([
      '*Severity*\n:rotating_light: sev1',
      '*Type*\nsecurity (private)',
      '*Declared*\nby <@U0ONCALL> at 2026-12-07 18:30 UTC',
      '*Commander*\n<@U0ONCALL>',
      '*Communications*\n<@U0APPROVER1>',
      '*Scribe*\n_not named yet_',
    ]);
    expect(message.text).toBe('INC-7 (sev1, security): Audit chain head mismatch');
    await postedOk(message);
  });

  it('shows a handed-over commander instead of the declarer', () => {
    const message = renderIncidentBriefing(input({}, { roles: { commander: { holder: 'U0APPROVER2', changedBy: 'U0ONCALL', changedAt: DECLARED } } }));
    expect(blocksOf(message)[1]!.fields![3]!.text).toBe('*Commander*\n<@U0APPROVER2>');
  });

  it('says what is known: health, open alerts, deploys and rollbacks, commands, with times on the declaration day shown short', () => {
    const message = renderIncidentBriefing(input());
    expect(partText(message, 'Current health')).toBe('*Current health* (2)\n:large_green_circle: *policy-engine* 2 ms\n:red_circle: *audit-engine* chain verification failed at record 1207');
    expect(partText(message, 'Open alerts')).toBe('*Open alerts* (1)\n:warning: *critical* Audit chain broken _(since 18:21 UTC)_');
    expect(partText(message, 'Recent deploys and rollbacks')).toBe(
      '*Recent deploys and rollbacks* (2)\n:package: 2026-12-06 09:00 UTC *audit-engine* deployed 1.4.2 by <@U0APPROVER2> · live\n:leftwards_arrow_with_hook: 17:55 UTC *policy-engine* rolled back to 1.3.9',
    );
    expect(partText(message, 'Recent commands')).toBe('*Recent commands* (1)\n18:25 UTC <@U0ONCALL> `audit verify` · failed');
  });

  it('says so when a part is empty, and when it could not be read, rather than showing nothing', async () => {
    const message = renderIncidentBriefing(input({ openAlerts: [], recentDeploys: [], recentCommands: [], health: { problem: 'the stack did not answer in 5 s' } }));
    expect(partText(message, 'Current health')).toBe('*Current health*\n:grey_question: _Could not be read: the stack did not answer in 5 s_');
    expect(partText(message, 'Open alerts')).toBe('*Open alerts*\n_No open alerts._');
    expect(partText(message, 'Recent deploys and rollbacks')).toBe('*Recent deploys and rollbacks*\n_No deploys or rollbacks recently._');
    expect(partText(message, 'Recent commands')).toBe('*Recent commands*\n_No commands recently._');
    await postedOk(message);
  });

  it.each([
    ['performance', 'High latency response', ['Check current metrics', 'Check cache hit rate', 'Warm cache if needed', 'Check system resources', 'Scale if necessary'], "The runbook's whole procedure (`high-latency-response`)"],
    ['security', 'Security breach response', ['Immediate containment', 'Preserve evidence', 'Assess impact', 'Notify security team', 'Begin forensic analysis'], "The runbook's whole procedure (`security-breach-response`)"],
    ['constitutional', 'Constitutional violation emergency', ['Enable emergency lockdown mode', 'Review violation details', 'Implement additional safeguards', 'Notify constitutional oversight team'], "The runbook's whole procedure (`constitutional-violation-emergency`)"],
    ['infrastructure', 'System-wide outage response', ['Assess impact', 'Activate incident response', 'Notify stakeholders', 'Attempt quick recovery', 'Detailed diagnostics (5-30 minutes)'], "3 more steps in the runbook's procedure (`system-wide-outage-response`)"],
  ] as const)('shows a %s incident the first steps of the runbook procedure "%s" as a checklist', async (type, title, steps, rest) => {
    const message = renderIncidentBriefing(input({}, { type }));
    const texts = sectionTexts(message);
    const heading = texts.findIndex((text) => text.startsWith(`*First steps: ${title}*`));
    expect(heading).toBeGreaterThan(0);
    const items = texts.slice(heading + 1);
    expect(items).toHaveLength(steps.length);
    expect(items.map((text) => /^:white_large_square: \*(.+?)\*\n_/.exec(text)?.[1])).toEqual(steps);
    expect(blocksOf(message).at(-1)!.elements![0]!.text).toBe(`${rest} · post status updates with \`/acgs incident update <text>\``);
    await postedOk(message);
  });

  it('shows fewer first steps when asked, and at least one', () => {
    const steps = (firstSteps: number) => sectionTexts(renderIncidentBriefing(input({ firstSteps }))).filter((text) => text.startsWith(':white_large_square:')).length;
    expect(steps(2)).toBe(2);
    expect(steps(0)).toBe(1);
    expect(FIRST_STEPS).toBe(5);
  });

  it('stays inside every Block Kit limit at the maximum title and hundreds of rows, counting the rest', async () => {
    const title = `${'Überlast & <Ausfall> '.repeat(10)}`.slice(0, MAX_TITLE_LENGTH);
    const long = 'x'.repeat(5000);
    const message = renderIncidentBriefing(
      input(
        {
          health: Array.from({ length: 40 }, (_, index) => ({ service: `service-${index}-${long}`, tone: 'warn' as const, detail: long })),
          openAlerts: Array.from({ length: 100 }, (_, index) => ({ title: `alert ${index} ${long}`, severity: 'warning', since: DECLARED })),
          recentDeploys: Array.from({ length: 30 }, (_, index) => ({ service: long, version: `1.0.${index}${long}`, kind: 'hotfix' as const, at: DECLARED, outcome: long })),
          recentCommands: Array.from({ length: 500 }, (_, index) => ({ line: `logs policy-engine ${index} ${long}`, actor: 'U0ONCALL', at: DECLARED, outcome: long })),
        },
        { title, type: 'infrastructure' },
      ),
    );
    const header = blocksOf(message)[0]!.text!.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).toMatch(/^INC-7 · sev1 · Überlast &amp; &lt;Ausfall&gt; .*… \(truncated\)$/);
    expect(partText(message, 'Open alerts').split('\n')).toHaveLength(1 + MAX_ROWS.openAlerts + 1);
    expect(partText(message, 'Open alerts')).toMatch(/\n_and 90 more_$/);
    // Every row is either shown or counted; long rows show fewer than MAX_ROWS, to fit one section.
    const shownAndCounted = (title: string) => {
      const lines = partText(message, title).split('\n').slice(1);
      const more = Number(/^_and (\d+) more_$/.exec(lines.at(-1)!)?.[1]);
      return { shown: lines.length - 1, total: lines.length - 1 + more };
    };
    expect(shownAndCounted('Current health')).toEqual({ shown: expect.any(Number), total: 40 });
    expect(shownAndCounted('Current health').shown).toBeGreaterThanOrEqual(5);
    expect(shownAndCounted('Recent deploys and rollbacks')).toEqual({ shown: MAX_ROWS.recentDeploys, total: 30 });
    expect(shownAndCounted('Recent commands')).toEqual({ shown: MAX_ROWS.recentCommands, total: 500 });
    expect(partText(message, 'Recent commands')).toMatch(/^\*Recent commands\* \(500\)\n/);
    for (const text of sectionTexts(message)) expect(text.length).toBeLessThanOrEqual(3000);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    await postedOk(message);
  });

  it('escapes what people and services wrote, mentions only real user IDs, and redacts secrets in commands', async () => {
    const message = renderIncidentBriefing(
      input(
        {
          health: [{ service: '<!channel>', tone: 'fail', detail: '<https://evil.example|click> & more' }],
          openAlerts: [{ title: '<!here> wake up', severity: '<@U0APPROVER1>', since: DECLARED }],
          recentCommands: [{ line: 'deploy policy-engine --token xoxb-1234-secret-token', actor: '<!everyone>', at: DECLARED }],
        },
        { title: '<!channel> breach', roles: { scribe: { holder: 'not-an-id', changedBy: 'U0ONCALL', changedAt: DECLARED } } },
      ),
    );
    const everything = JSON.stringify(message.blocks);
    expect(everything).not.toMatch(/<!(channel|here|everyone)>/);
    expect(everything).not.toContain('<https://evil.example');
    expect(everything).not.toContain('<@U0APPROVER1>');
    expect(everything).not.toContain('xoxb-1234-secret-token');
    expect(partText(message, 'Current health')).toContain('*&lt;!channel&gt;* &lt;https://evil.example|click&gt; &amp; more');
    expect(partText(message, 'Recent commands')).toContain('@&lt;!everyone&gt;');
    expect(blocksOf(message)[1]!.fields![5]!.text).toBe('*Scribe*\n@not-an-id');
    await postedOk(message);
  });
});
