/**
 * The Block Kit renderer: golden files of representative documents (compared byte for byte;
 * UPDATE_GOLDEN=1 rewrites them), Slack's limits on every one of them, and escaping.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandErrorDocument, executeCommandLine, internalErrorDocument } from '../command-path/index.js';
import { z } from 'zod';
import { CommandError, defineCommand, type CommandDefinition } from '../../commands/command.js';
import { help } from '../../commands/help.js';
import { allCommands } from '../../commands/index.js';
import { createRegistry, usageLine } from '../../commands/registry.js';
import type { ResultDocument } from '../../commands/result.js';
import type { CommandPathDependencies } from '../command-path/index.js';
import { decodeSlackText, escapeText, fitText, packLines } from './mrkdwn.js';
import { renderDocument, SLACK_LIMITS, type SlackMessage } from './render.js';
import { validateBlocks } from './stand-in/index.js';

const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** A fixed registry, so that these goldens change only when the renderer or help does. */
const fixtureCommands = [
  help,
  defineCommand({
    name: 'health',
    summary: 'Check every service, PostgreSQL and Redis',
    examples: ['health'],
    level: 'read',
    args: z.object({}),
    run: async () => ({ title: 'health', tone: 'ok', blocks: [] }),
  }),
  defineCommand({
    name: 'violations',
    summary: 'Recent constitutional violations, newest first',
    usage: '[limit]',
    examples: ['violations', 'violations 20'],
    level: 'read',
    positionals: ['limit'],
    args: z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    run: async () => ({ title: 'violations', tone: 'ok', blocks: [] }),
  }),
] as CommandDefinition[];

async function helpDocument(line: string): Promise<ResultDocument> {
  const outcome = await executeCommandLine(
    { registry: createRegistry(fixtureCommands), services: {} as CommandPathDependencies },
    { line, actor: { id: 'U0TEST' }, origin: 'slash' },
  );
  return outcome.document;
}

const HOSTILE = '<!channel> <@U024BE7LH> <https://evil.example|click me> &amp; *bold* `code`';

const statusDocument: ResultDocument = {
  title: 'Stack health: degraded',
  tone: 'warn',
  summary: '3 of 4 services healthy; audit-engine answers slowly.',
  blocks: [
    {
      type: 'checks',
      items: [
        { name: 'policy-engine', tone: 'ok', text: 'healthy · 3 ms · v0.1.0' },
        { name: 'audit-engine', tone: 'warn', text: 'degraded · 1840 ms · v0.1.0' },
        { name: 'evolution-oversight', tone: 'ok', text: 'healthy · 5 ms · v0.1.0' },
        { name: 'sandbox-controller', tone: 'fail', text: 'no answer within 2000 ms' },
      ],
    },
    { type: 'divider' },
    {
      type: 'fields',
      fields: [
        { label: 'P99 latency', value: '0.8 ms (target < 1 ms)' },
        { label: 'Cache hit rate', value: '97.2 % (target > 95 %)' },
        { label: 'Error rate', value: '0.02 %' },
      ],
    },
  ],
  actions: [
    { label: 'Refresh', command: 'health', style: 'primary' },
    {
      label: 'Restart sandbox-controller',
      command: 'restart sandbox-controller',
      style: 'danger',
      confirm: { title: 'Restart the sandbox controller?', text: 'Running sandboxes are stopped.', confirm: 'Restart', deny: 'Cancel' },
    },
  ],
  footer: 'constitutional hash cdd01ef066bc6cf2 · checked in 2004 ms',
};

const hostileDocument: ResultDocument = {
  title: `Injected ${HOSTILE}`,
  tone: 'fail',
  summary: `Summary ${HOSTILE}`,
  blocks: [
    { type: 'checks', items: [{ name: HOSTILE, tone: 'fail', text: HOSTILE }] },
    { type: 'fields', fields: [{ label: HOSTILE, value: HOSTILE }] },
    { type: 'table', columns: ['name', 'value'], rows: [[HOSTILE, 'a\nb']] },
    { type: 'text', text: HOSTILE },
    { type: 'code', text: `log line ${HOSTILE}\n\`\`\` fence breakout <!here>` },
  ],
  actions: [{ label: HOSTILE, command: 'help <health> & more' }],
  footer: HOSTILE,
  ephemeral: true,
};

const tableDocument: ResultDocument = {
  title: 'db status',
  tone: 'ok',
  blocks: [
    {
      type: 'table',
      columns: ['table', 'inserts', 'updates', 'deletes'],
      rows: [
        ['audit_events', '120433', '0', '0'],
        ['evolution_reviews', '87', '12', '0'],
        ['a_table_with_a_name_much_longer_than_the_cell_width_allows_in_one_column', '1', '2', '3'],
      ],
    },
    { type: 'table', columns: ['runtime', 'sandboxes'], rows: [] },
  ],
};

const many = <T,>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, index) => make(index));

const oversizedDocument: ResultDocument = {
  title: `A title far longer than a header allows: ${'x'.repeat(300)}`,
  tone: 'info',
  summary: `Summary ${'long words & more '.repeat(300)}`,
  blocks: [
    { type: 'fields', fields: many(25, (index) => ({ label: `field ${index}`, value: index === 3 ? 'v'.repeat(2500) : `value ${index}` })) },
    { type: 'checks', items: many(300, (index) => ({ name: `check-${index}`, tone: index % 7 === 0 ? ('fail' as const) : ('ok' as const), text: `finding number ${index} with some words` })) },
    { type: 'table', columns: ['n', 'square'], rows: many(400, (index) => [String(index), String(index * index)]) },
    { type: 'code', text: many(600, (index) => `2025-01-01T00:00:${String(index % 60).padStart(2, '0')}Z line ${index} <&>`).join('\n') },
    { type: 'text', text: 'y'.repeat(7000) },
    ...many(40, (index) => ({ type: 'text' as const, text: `Note ${index}` })),
  ],
  actions: [
    { label: `A button label longer than Slack's seventy-five characters for a button, surely ${'z'.repeat(40)}`, command: 'health' },
    ...many(29, (index) => ({ label: `Action ${index}`, command: `help ${index}` })),
    { label: 'Too long to carry', command: `logs ${'q'.repeat(2100)}` },
  ],
  footer: 'f'.repeat(2500),
};

const goldens: Array<[string, () => Promise<ResultDocument> | ResultDocument]> = [
  ['help-list', () => helpDocument('help')],
  ['help-command', () => helpDocument('help violations')],
  ['unknown-command', () => helpDocument('healht')],
  ['usage-error', () => commandErrorDocument(new CommandError('Invalid arguments for `violations`: limit: must be at most 100.', 'Usage: `violations [limit]`.'), 'violations')],
  ['internal-error', () => internalErrorDocument('a1b2c3d4', 'health')],
  ['status-with-actions', () => statusDocument],
  ['hostile-text', () => hostileDocument],
  ['tables', () => tableDocument],
  ['oversized', () => oversizedDocument],
];

/** Every text a person sees in a rendered message, with where it sits. */
function visibleTexts(message: SlackMessage): Array<[string, string]> {
  const texts: Array<[string, string]> = [['text', message.text]];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${path}/${index}`));
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') texts.push([`${path}/text`, inner]);
        else walk(inner, `${path}/${key}`);
      }
    }
  };
  walk(message.blocks, '/blocks');
  return texts;
}

/** Slack's limits, checked independently of how the renderer meets them. */
function limitViolations(message: SlackMessage, maxBlocks: number = SLACK_LIMITS.messageBlocks): string[] {
  const problems: string[] = [];
  if (message.blocks.length > maxBlocks) problems.push(`${message.blocks.length} blocks`);
  message.blocks.forEach((block, index) => {
    const at = `/blocks/${index}`;
    const b = block as unknown as Record<string, any>;
    if (b.type === 'header' && b.text.text.length > SLACK_LIMITS.headerText) problems.push(`${at} header ${b.text.text.length}`);
    if (b.type === 'section') {
      if (b.text && b.text.text.length > SLACK_LIMITS.sectionText) problems.push(`${at} section text ${b.text.text.length}`);
      if (b.fields && b.fields.length > SLACK_LIMITS.sectionFields) problems.push(`${at} ${b.fields.length} fields`);
      for (const field of b.fields ?? []) if (field.text.length > SLACK_LIMITS.fieldText) problems.push(`${at} field ${field.text.length}`);
    }
    if (b.type === 'context') for (const element of b.elements) if (element.text.length > SLACK_LIMITS.contextText) problems.push(`${at} context ${element.text.length}`);
    if (b.type === 'actions') {
      if (b.elements.length > SLACK_LIMITS.actionsElements) problems.push(`${at} ${b.elements.length} elements`);
      const ids = b.elements.map((element: { action_id: string }) => element.action_id);
      if (new Set(ids).size !== ids.length) problems.push(`${at} duplicate action ids`);
      for (const element of b.elements) {
        if (element.text.text.length > SLACK_LIMITS.buttonText) problems.push(`${at} button text ${element.text.text.length}`);
        if (element.value.length > SLACK_LIMITS.buttonValue) problems.push(`${at} button value ${element.value.length}`);
      }
    }
  });
  return problems;
}

describe('golden Block Kit files', () => {
  for (const [name, build] of goldens) {
    it(`renders the ${name} document exactly as bot/slack/golden/${name}.json records it`, async () => {
      const rendered = `${JSON.stringify(renderDocument(await build()), null, 2)}\n`;
      const file = new URL(`${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run bot/slack/render.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });

    it(`keeps the ${name} document inside Slack's limits with no unescaped < or >`, async () => {
      const message = renderDocument(await build());
      expect(limitViolations(message)).toEqual([]);
      // The stand-in checks what a Slack workspace would refuse, independently of our own checks.
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      for (const [where, text] of visibleTexts(message)) {
        expect(text, where).not.toMatch(/[<>]/);
        expect(text, where).not.toMatch(/&(?!amp;|lt;|gt;)/);
      }
    });
  }
});

describe('rendering', () => {
  it('puts the verdict emoji and the title in a header and the summary in the fallback text', () => {
    const message = renderDocument(statusDocument);
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':large_yellow_circle: Stack health: degraded', emoji: true } });
    expect(message.text).toBe('Stack health: degraded: 3 of 4 services healthy; audit-engine answers slowly.');
  });

  it('turns Slack markup in command output into inert text', () => {
    const message = renderDocument(hostileDocument);
    const all = JSON.stringify(message.blocks);
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<@U024BE7LH>');
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&amp;amp;');
  });

  it("shows the document's people as mentions in its summary, fields, text and checks, and nobody else", () => {
    const document: ResultDocument = {
      title: 'Run started: backup',
      tone: 'ok',
      summary: 'Requested by U0ONCALL; U0OTHER is only named.',
      blocks: [
        { type: 'fields', fields: [{ label: 'Requested by', value: 'U0ONCALL' }, { label: 'Decided by', value: 'cli:alice' }] },
        { type: 'text', text: 'Asked by U0ONCALL (slash), not XU0ONCALL nor U0ONCALLX nor @U0ONCALL' },
        { type: 'checks', items: [{ name: 'U0ONCALL', tone: 'ok', text: 'ticked by U0ONCALL' }] },
        { type: 'table', columns: ['Requested by'], rows: [['U0ONCALL']] },
      ],
      people: ['U0ONCALL', 'cli:alice', '<!channel>'],
    };
    const message = renderDocument(document);
    const text = (index: number) => JSON.stringify(message.blocks[index]);
    expect(text(1)).toContain('Requested by <@U0ONCALL>; U0OTHER is only named.');
    expect(text(2)).toContain('*Requested by*\\n<@U0ONCALL>');
    expect(text(2)).toContain('*Decided by*\\ncli:alice');
    expect(text(3)).toContain('Asked by <@U0ONCALL> (slash), not XU0ONCALL nor U0ONCALLX nor @U0ONCALL');
    // A check's name is what was checked, not a person; a table is monospaced, where a mention does not show.
    expect(text(4)).toContain('*U0ONCALL*  ticked by <@U0ONCALL>');
    expect(text(5)).not.toContain('<@');
    expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
    expect(message.text).toBe('Run started: backup: Requested by U0ONCALL; U0OTHER is only named.');
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });

  it('keeps a fence inside code text from closing the code block', () => {
    const message = renderDocument(hostileDocument);
    const code = message.blocks.find((block) => block.type === 'section' && 'text' in block && block.text?.text.includes('log line'));
    const text = (code as { text: { text: string } }).text.text;
    expect(text.startsWith('```\n')).toBe(true);
    expect(text.endsWith('\n```')).toBe(true);
    expect(text.slice(4, -4)).not.toContain('```');
  });

  it("shows help's usages whole, even past an ordinary cell's width, inside Slack's limits", async () => {
    const outcome = await executeCommandLine(
      { registry: createRegistry(allCommands), services: {} as CommandPathDependencies },
      { line: 'help', actor: { id: 'U0TEST' }, origin: 'slash' },
    );
    const message = renderDocument(outcome.document);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const text = decodeSlackText(JSON.stringify(message.blocks));
    const long = allCommands.map((command) => usageLine(command)).filter((usage) => usage.length > 48);
    expect(long.length, 'no usage longer than a cell: the test shows nothing').toBeGreaterThan(0);
    for (const usage of long) expect(text, usage).toContain(usage);
    // A table without `whole` still cuts its cells: it is only for what a person types back.
    const cut = renderDocument({ title: 't', tone: 'info', blocks: [{ type: 'table', columns: ['a', 'b'], rows: [['x'.repeat(60), 'y']] }] });
    expect(JSON.stringify(cut.blocks)).not.toContain('x'.repeat(60));
  });

  it('carries the command line unescaped in the button value and gives each button its own action id', () => {
    const message = renderDocument({ ...statusDocument, actions: [...statusDocument.actions!, { label: 'Odd', command: 'help <health> & more' }] });
    const actions = message.blocks.find((block) => block.type === 'actions') as { elements: Array<{ action_id: string; value: string; confirm?: unknown; style?: string }> };
    expect(actions.elements.map((element) => element.value)).toEqual(['health', 'restart sandbox-controller', 'help <health> & more']);
    expect(actions.elements.map((element) => element.action_id)).toEqual(['acgs_run_0', 'acgs_run_1', 'acgs_run_2']);
    expect(actions.elements[1]!.confirm).toEqual({
      title: { type: 'plain_text', text: 'Restart the sandbox controller?' },
      text: { type: 'plain_text', text: 'Running sandboxes are stopped.' },
      confirm: { type: 'plain_text', text: 'Restart' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    });
  });

  it('shows fields two per row, at most ten per section', () => {
    const message = renderDocument(oversizedDocument);
    const fieldSections = message.blocks.filter((block) => block.type === 'section' && 'fields' in block && block.fields);
    expect(fieldSections.map((block) => (block as { fields: unknown[] }).fields.length)).toEqual([10, 10, 5]);
  });

  it('cuts an oversized document to 50 blocks with a visible truncation note, keeping the buttons and the footer', () => {
    const message = renderDocument(oversizedDocument);
    expect(message.blocks).toHaveLength(50);
    const json = JSON.stringify(message.blocks);
    expect(json).toMatch(/… \(truncated\): \d+ more blocks not shown/);
    expect(json).toContain('1 button left out, command too long');
    expect(message.blocks.at(-1)!.type).toBe('context');
    expect(message.blocks.filter((block) => block.type === 'actions')).toHaveLength(2);
    const header = message.blocks[0] as { text: { text: string } };
    expect(header.text.text).toHaveLength(SLACK_LIMITS.headerText);
    expect(header.text.text.endsWith('… (truncated)')).toBe(true);
  });

  it('allows up to 100 blocks when rendering for a view', () => {
    const document: ResultDocument = { title: 'Many notes', tone: 'info', blocks: many(150, (index) => ({ type: 'text' as const, text: `Note ${index}` })) };
    const message = renderDocument(document, { maxBlocks: SLACK_LIMITS.homeBlocks });
    expect(message.blocks).toHaveLength(100);
    expect(message.blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: '… (truncated): 52 more blocks not shown' }] });
    expect(limitViolations(message, SLACK_LIMITS.homeBlocks)).toEqual([]);
    expect(validateBlocks(message.blocks, 'view')).toEqual([]);
  });

  it('cuts long cells of inner columns at 48 characters but lets the last column run to 160, as help needs', () => {
    const summary = 'Check every service, the policy document, PostgreSQL and Redis, each with its own timeout';
    const message = renderDocument({
      title: 'Help',
      tone: 'info',
      blocks: [{ type: 'table', columns: ['command', 'what it does'], rows: [['x'.repeat(60), summary], ['y', 'z'.repeat(200)]] }],
    });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(summary);
    expect(text).toContain(`${'x'.repeat(47)}…`);
    expect(text).not.toContain('x'.repeat(48));
    expect(text).toContain(`${'z'.repeat(159)}…`);
    expect(text).not.toContain('z'.repeat(160));
  });

  it('says so when a table has no rows', () => {
    const message = renderDocument(tableDocument);
    expect(JSON.stringify(message.blocks)).toContain('_no runtime / sandboxes to show_');
  });
});

describe('text helpers', () => {
  it('escapes only &, < and >', () => {
    expect(escapeText(`a & b < c > d "e" 'f'`)).toBe(`a &amp; b &lt; c &gt; d "e" 'f'`);
  });

  it('decodes what Slack escaped in a slash command without double-decoding', () => {
    expect(decodeSlackText('help &lt;x&gt; &amp;&amp; &amp;lt;')).toBe('help <x> && &lt;');
  });

  it('never cuts an entity or an emoji in half when fitting text', () => {
    for (let max = 14; max < 40; max += 1) {
      const fitted = fitText('&&&&&&&&&&&&&&&&&&&&😀😀😀😀😀😀😀😀', max);
      expect(fitted.length).toBeLessThanOrEqual(max);
      expect(fitted).toMatch(/^(&amp;|😀)*… \(truncated\)$/u);
    }
  });

  it('packs lines into chunks under the limit and splits a line longer than a chunk', () => {
    const chunks = packLines(['aaaa', 'bbbb', 'c'.repeat(25), 'x&amp;&amp;&amp;'], 10);
    expect(chunks.every((chunk) => chunk.length <= 10)).toBe(true);
    expect(chunks.join('\n').replace(/\n/g, '')).toBe(`aaaabbbb${'c'.repeat(25)}x&amp;&amp;&amp;`);
    expect(chunks.some((chunk) => /&(?!amp;)/.test(chunk) || /&am?$/.test(chunk))).toBe(false);
  });
});
