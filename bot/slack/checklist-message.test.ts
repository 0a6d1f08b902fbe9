/**
 * Golden Block Kit of a checklist's message, from fixed checklists: compared byte for byte with
 * bot/slack/golden/checklist-*.json (UPDATE_GOLDEN=1 rewrites them) and checked by the stand-in's
 * Block Kit validator, which refuses what Slack refuses.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChecklistInfo, ChecklistItemInfo } from '../../commands/ports.js';
import { validateBlocks } from './stand-in/index.js';
import { checklistActionLine, renderChecklistMessage } from './checklist-message.js';
import type { SlackMessage } from './render.js';

const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ID = '0c7e5a9d-1f2b-4c3d-8e4f-5a6b7c8d9e0f';
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 6, 14, 0, 0) + seconds * 1000).toISOString();

function item(id: string, text: string, overrides: Partial<ChecklistItemInfo> = {}): ChecklistItemInfo {
  return { id, text, mode: 'manual', note: `A person ticks ${text.toLowerCase()}.`, state: 'open', evidence: null, checkedAt: null, tickedBy: null, tickedAt: null, ...overrides };
}

const auto = (state: ChecklistItemInfo['state'], evidence: string): Partial<ChecklistItemInfo> => ({ mode: 'auto', note: 'The bot checks it.', state, evidence, checkedAt: at(2) });

function checklist(overrides: Partial<ChecklistInfo> = {}): ChecklistInfo {
  return {
    id: ID,
    checklist: 'post-deployment',
    title: 'Post-deployment checklist',
    startedBy: 'U0ONCALL',
    origin: 'slash',
    channel: 'C0ACGSOPS01',
    messageTs: '1765000000.000100',
    createdAt: at(0),
    updatedAt: at(60),
    completedAt: null,
    completedBy: null,
    revision: 3,
    items: [
      item('services-healthy', 'All services healthy', auto('pass', '7 checks healthy: policy-engine, policy-engine policy, audit-engine, evolution-oversight, sandbox-controller, postgres, redis.')),
      item('performance-slos', 'Performance within SLOs', auto('fail', 'Policy Engine P99 3.2 ms over 1200 requests (target under 1 ms).')),
      item('audit-trails-intact', 'Audit trails intact', auto('unknown', "The Audit Engine's chain verifies (40 events); the bot has no audit trail in this process.")),
      item('monitoring-functioning', 'Monitoring functioning', { state: 'ticked', tickedBy: 'U0APPROVER1', tickedAt: at(45) }),
      item('documentation-updated', 'Documentation updated'),
    ],
    ...overrides,
  };
}

const settledItems = checklist().items.map((entry) =>
  entry.mode === 'auto' ? { ...entry, state: 'pass' as const, evidence: 'Fine.' } : { ...entry, state: 'ticked' as const, tickedBy: 'U0APPROVER2', tickedAt: at(80) },
);

const goldens: Record<string, () => SlackMessage> = {
  open: () => renderChecklistMessage(checklist()),
  completed: () => renderChecklistMessage(checklist({ items: settledItems, completedAt: at(80), completedBy: 'U0APPROVER2' })),
  hostile: () =>
    renderChecklistMessage(
      checklist({
        title: 'Post-deployment <!channel> & co',
        startedBy: 'cli:alice',
        items: [item('evidence', '<@U0EVIL> *bold*', auto('fail', `<!here> ${'x'.repeat(5000)}`))],
      }),
    ),
};

const buttons = (message: SlackMessage) =>
  message.blocks.flatMap((block) => {
    const { elements, accessory } = block as { elements?: unknown[]; accessory?: unknown };
    return [...(Array.isArray(elements) ? elements : []), ...(accessory ? [accessory] : [])] as Array<{ type: string; action_id: string; value: string; text: { text: string } }>;
  }).filter((element) => element.type === 'button');

describe('a checklist in Block Kit', () => {
  for (const [name, build] of Object.entries(goldens)) {
    it(`renders ${name} exactly as bot/slack/golden/checklist-${name}.json records it, inside Slack's limits`, () => {
      const message = build();
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`checklist-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/checklist-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run bot/slack/checklist-message.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('offers Tick on open items, Untick on ticked ones, Confirm by hand on unknown checks, none on passed or failed ones, Re-run while open; nothing once completed', () => {
    const offered = (message: SlackMessage) => buttons(message).map((button) => [button.action_id, button.text.text, button.value]);
    expect(offered(goldens.open!())).toEqual([
      ['acgs_checklist_tick', 'Confirm by hand', `${ID} audit-trails-intact`],
      ['acgs_checklist_untick', 'Untick', `${ID} monitoring-functioning`],
      ['acgs_checklist_tick', 'Tick', `${ID} documentation-updated`],
      ['acgs_checklist_rerun', 'Re-run checks', ID],
    ]);
    expect(offered(goldens.completed!())).toEqual([]);
    expect(JSON.stringify(goldens.completed!())).toContain('completed by <@U0APPROVER2>');
  });

  it('never lets a title, a text or evidence become a mention, and cuts huge evidence with a visible note', () => {
    const json = JSON.stringify(goldens.hostile!());
    expect(json).not.toMatch(/<[!#]|<@U0EVIL>/);
    expect(json).toContain('&lt;@U0EVIL&gt;');
    expect(json).toContain('… (truncated)');
    expect(json).toContain('@cli:alice');
  });

  it('stays inside Slack\'s limits with as many items as a definition may have, each with the longest evidence', () => {
    const items = Array.from({ length: 40 }, (_, index) => item(`item-${index}`, `${'t'.repeat(119)}${index % 10}`, auto('unknown', 'e'.repeat(600))));
    const message = renderChecklistMessage(checklist({ items }));
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });

  it('maps a button to the command line a person could type, and refuses a value that names no checklist item', () => {
    expect(checklistActionLine('tick', `${ID} documentation-updated`)).toBe(`checklist tick ${ID} documentation-updated`);
    expect(checklistActionLine('untick', `${ID} monitoring-functioning`)).toBe(`checklist untick ${ID} monitoring-functioning`);
    expect(checklistActionLine('rerun', ID)).toBe(`checklist rerun ${ID}`);
    for (const forged of [`${ID} documentation-updated; redis flush`, `${ID}`, 'documentation-updated', `${ID} Doc`, `${ID}  doc`, '', undefined, 42]) {
      expect(checklistActionLine('tick', forged), String(forged)).toBeUndefined();
    }
    expect(checklistActionLine('rerun', `${ID} documentation-updated`)).toBeUndefined();
  });
});
