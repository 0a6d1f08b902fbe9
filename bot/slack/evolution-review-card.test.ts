/**
 * Golden Block Kit of the evolution review card and of `evolution review`'s answers, from fixed
 * proposals: compared byte for byte with bot/slack/golden/evolution-review-*.json
 * (UPDATE_GOLDEN=1 rewrites them) and checked by the stand-in's Block Kit validator.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reviewDocument } from '../../commands/evolution-review.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import { validateBlocks } from './stand-in/index.js';
import { renderEvolutionReviewCard } from './evolution-review-card.js';
import { renderDocument, type SlackMessage } from './render.js';

const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ID = '4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

function evolution(overrides: Partial<Evolution> = {}): Evolution {
  return {
    id: ID,
    agent_id: 'agent-summariser',
    trust_level: 0.9,
    change_description: 'Give the summariser write access to the shared drive & a web search tool <script>',
    new_version: '2.0.0',
    requester_id: 'U0ONCALL',
    priority: 'high',
    privilege_escalation: true,
    external_dependencies: true,
    experimental_features: false,
    rollback_plan: 'Redeploy 1.9.3 from the registry; revoke the drive token',
    status: 'human_review',
    policy: { allow: true, compliance_score: 0.9, reasons: [], violations: [], outcome: 'human_review', risk_score: 0.72, risk_factors: ['privilege_escalation', 'external_dependencies', 'priority_high'] },
    review: null,
    rollback: null,
    created_at: '2025-06-01T11:00:00.000Z',
    updated_at: '2025-06-01T11:00:00.000Z',
    constitutional_hash: 'cdd01ef066bc6cf2',
    ...overrides,
  };
}

const approved = evolution({
  status: 'approved',
  review: { decision: 'approved', reviewer_id: 'U0APPROVER1', justification: 'Approved in Slack by approver1 (U0APPROVER1) from channel C0ACGSAPPRV with the review card\'s button', reviewed_at: '2025-06-01T12:05:00.000Z' },
});
const rejected = evolution({
  status: 'rejected',
  rollback_plan: null,
  review: { decision: 'rejected', reviewer_id: 'U0ELSEWHERE', justification: 'no rollback plan <!channel>', reviewed_at: '2025-06-01T12:06:00.000Z' },
});

const goldens: Array<[string, () => SlackMessage]> = [
  ['card-waiting', () => renderEvolutionReviewCard(ID, evolution())],
  ['card-approved', () => renderEvolutionReviewCard(ID, approved)],
  ['card-rejected-elsewhere', () => renderEvolutionReviewCard(ID, rejected)],
  ['card-gone', () => renderEvolutionReviewCard(ID, undefined)],
  ['command-approved', () => renderDocument(reviewDocument(approved, 'approve'))],
];

describe('evolution review cards in Block Kit', () => {
  for (const [name, build] of goldens) {
    it(`renders ${name} exactly as bot/slack/golden/evolution-review-${name}.json records it, inside Slack's limits`, () => {
      const message = build();
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`evolution-review-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/evolution-review-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run bot/slack/evolution-review-card.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('offers the buttons only while the proposal waits, each carrying only its id', () => {
    const buttons = (message: SlackMessage) => message.blocks.filter((block) => block.type === 'actions').flatMap((block) => (block as { elements: Array<{ action_id: string; value: string }> }).elements);
    expect(buttons(renderEvolutionReviewCard(ID, evolution())).map((button) => [button.action_id, button.value])).toEqual([
      ['acgs_evolution_review_approve', ID],
      ['acgs_evolution_review_reject', ID],
    ]);
    for (const decided of [approved, rejected, evolution({ status: 'rolled_back' })]) expect(buttons(renderEvolutionReviewCard(ID, decided))).toEqual([]);
  });

  it('never lets a proposal\'s text become a mention or markup, and mentions only real user IDs', () => {
    const json = JSON.stringify(renderEvolutionReviewCard(ID, evolution({ agent_id: 'agent', requester_id: 'cli:root', change_description: '<!here> <@U0EVIL> & more' })).blocks);
    expect(json).not.toMatch(/<[!#]|<@U0EVIL>/);
    expect(json).toContain('&lt;!here&gt; &lt;@U0EVIL&gt; &amp; more');
    expect(json).toContain('@cli:root');
    expect(JSON.stringify(renderEvolutionReviewCard(ID, approved).blocks)).toContain('<@U0APPROVER1>');
  });

  it('cuts a long change description with a visible note and stays inside the limits', () => {
    const message = renderEvolutionReviewCard(ID, evolution({ change_description: 'x'.repeat(4000), rollback_plan: 'y'.repeat(4000), policy: { ...evolution().policy, risk_factors: Array.from({ length: 100 }, (_, index) => `factor-${index}-${'z'.repeat(60)}`) } }));
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain('… (truncated)');
  });
});
