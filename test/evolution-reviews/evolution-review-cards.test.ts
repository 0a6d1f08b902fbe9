/**
 * Evolution review cards end to end: the real Evolution Oversight (with the real Policy Engine)
 * on the real PostgreSQL, the card store on its own database of the real PostgreSQL, the real
 * bot (Bolt's HTTP receiver) and the Slack stand-in, the real authorization policy and the bot's
 * audit trail. A proposal in human_review is posted once to the approvals channel (also with two
 * posters sharing the store, and after a restart); its buttons run `evolution review` as the
 * clicker; the card shows the outcome, or stays usable after a refused click; a review done over
 * the REST API reaches the card on the next round.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { webApi } from '@slack/bolt';
import { createReviewCardStore, migrateEvolutionReviewCards, postReviewCards, startEvolutionReviewPoster, type ReviewCardStore } from '../../bot/evolution-reviews/index.js';
import { DEFAULT_USERS, type StandInMessage } from '../../bot/slack/stand-in/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { createEvolutionOversightClient, type EvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import { lowRiskProposal } from '../../services/evolution-oversight/testing/fixtures.js';
import { startEvolutionTestbed, type EvolutionTestbed } from '../../services/evolution-oversight/testing/testbed.js';
import { createPool } from '../../services/kit/postgres.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { BOT_TOKEN, blockText, ONCALL, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';
import { TEST_SERVICE_TOKEN } from '../testing/tokens.js';

const APPROVALS = 'C0ACGSAPPRV';
const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const APPROVER3 = 'U0APPROVER3';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2, APPROVER3], admins: [] };

let testbed: EvolutionTestbed;
let client: EvolutionOversightClient;
let trail: TestTrail;
let cardsDb: TestDatabase;
const pools: pg.Pool[] = [];
let store: ReviewCardStore;
let t: BotUnderTest;

/** A store as one bot replica has it: its own pool on the shared database, its own instance name. */
function replicaStore(instance: string, claimLeaseMs?: number): ReviewCardStore {
  const pool = createPool({ databaseUrl: cardsDb.url, max: 2, applicationName: `acgs-review-cards-${instance}` });
  pools.push(pool);
  return createReviewCardStore({ pool, instance, ...(claimLeaseMs === undefined ? {} : { claimLeaseMs }) });
}

beforeAll(async () => {
  testbed = await startEvolutionTestbed('acgs_review_cards_eo');
  const url = await testbed.service.app.listen({ host: '127.0.0.1', port: 0 });
  client = createEvolutionOversightClient(url, 10_000, { serviceToken: TEST_SERVICE_TOKEN });
  trail = await openTestTrail({ prefix: 'acgs_review_cards_trail' });
  cardsDb = await createTestDatabase('acgs_review_cards');
  store = replicaStore('bot-1');
  await migrateEvolutionReviewCards(pools[0]!);
  const unused = await unusedLoopbackUrl();
  const services = {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': url, 'sandbox-controller': unused }, serviceToken: TEST_SERVICE_TOKEN, checkTimeoutMs: 1000 }),
    authorization: await testGate({ roles: ROLES }),
    trail: trail.trail,
  };
  t = await startBotWithStandIn({
    mode: 'http',
    registry: () => createCommandRegistry(),
    workspace: { users: [...DEFAULT_USERS, { id: APPROVER3, name: 'approver3', realName: 'Chen Approver', roleLabel: 'approver 3' }] },
    botOverrides: { services, reviewCards: store },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await cardsDb?.drop();
  await trail?.close();
  await testbed?.close();
});

async function humanReview(overrides: Parameters<typeof lowRiskProposal>[0] = {}): Promise<Evolution> {
  const evolution = await client.propose(
    lowRiskProposal({ agent_id: 'agent-cards', privilege_escalation: true, priority: 'high', requester_id: 'U-AGENT-OWNER', change_description: 'Give the agent <!channel> write access & a new tool', ...overrides }),
  );
  expect(evolution.status).toBe('human_review');
  return evolution;
}

const round = (options: { store?: ReviewCardStore; channel?: string } = {}) =>
  postReviewCards({ client, store: options.store ?? store, publisher: t.bot.reviewCardPublisher, channel: options.channel ?? APPROVALS });

const cardsOf = (id: string): StandInMessage[] => t.standIn.messages(APPROVALS).filter((message) => blockText(message.blocks).includes(`Evolution \`${id}\``));
const buttonsOf = (message: StandInMessage | undefined) => [...JSON.stringify(message?.blocks ?? []).matchAll(/"action_id":"(acgs_evolution_review_\w+)"/g)].map((match) => match[1]);
const current = (message: StandInMessage) => t.standIn.workspace.find(APPROVALS, message.ts)!;

async function postedCard(id: string): Promise<StandInMessage> {
  const report = await round();
  expect(report.failed).toEqual([]);
  const cards = cardsOf(id);
  expect(cards).toHaveLength(1);
  return cards[0]!;
}

function click(user: string, decision: 'approve' | 'reject', card: StandInMessage) {
  return t.standIn.clickButton({ userId: user, actionId: `acgs_evolution_review_${decision}`, channelId: APPROVALS, messageTs: card.ts });
}

async function untilCard(card: StandInMessage, text: string): Promise<string> {
  const message = await t.standIn.waitFor(() => (blockText(current(card).blocks).includes(text) ? current(card) : undefined), 8000, `the card to say "${text}"`);
  return blockText(message.blocks);
}

async function ephemeralTo(user: string, text: string): Promise<StandInMessage> {
  return t.standIn.waitFor(
    () => t.standIn.messages(APPROVALS, { includeEphemeralFor: user }).find((message) => message.visibleTo === user && `${message.text}\n${blockText(message.blocks)}`.includes(text)),
    8000,
    `an answer to ${user} saying "${text}"`,
  );
}

const transitionsOf = async (id: string) => (await client.get(id)).transitions.map((transition) => `${transition.transition} by ${transition.actor_id}`);

describe('posting', () => {
  it('posts a proposal waiting for review once, with its facts and Approve / Reject buttons carrying only its id', async () => {
    const auto = await client.propose(lowRiskProposal({ agent_id: 'agent-auto' }));
    const evolution = await humanReview({ rollback_plan: 'Redeploy 1.4.0' });
    const report = await round();
    expect(report.posted).toContain(evolution.id);
    expect(report.posted).not.toContain(auto.id);
    const [card] = cardsOf(evolution.id);
    const text = blockText(card!.blocks);
    for (const fact of ['agent-cards', '1.4.1', 'high', 'Risk score', 'Risk factors', 'Redeploy 1.4.0', 'U-AGENT-OWNER', 'Proposed at']) expect(text).toContain(fact);
    expect(text).toContain(evolution.policy.risk_score!.toFixed(2));
    expect(text).toContain('&lt;!channel&gt; write access &amp; a new tool');
    const actions = card!.blocks!.find((block) => (block as { type: string }).type === 'actions') as { elements: Array<{ action_id: string; value: string; confirm?: unknown }> };
    expect(actions.elements.map((button) => [button.action_id, button.value, button.confirm !== undefined])).toEqual([
      ['acgs_evolution_review_approve', evolution.id, true],
      ['acgs_evolution_review_reject', evolution.id, true],
    ]);
    expect((await store.get(evolution.id))?.ref).toEqual({ channel: APPROVALS, ts: card!.ts });

    expect((await round()).posted).toEqual([]);
    expect(cardsOf(evolution.id)).toHaveLength(1);
    expect(cardsOf(auto.id)).toHaveLength(0);
  });

  it('posts each proposal once when two replicas run their rounds at the same time on the shared table', async () => {
    await round();
    const proposals = await Promise.all(Array.from({ length: 6 }, (_, index) => humanReview({ agent_id: `agent-replica-${index}` })));
    const other = replicaStore('bot-2');
    const [first, second] = await Promise.all([round(), round({ store: other })]);
    const ids = proposals.map((evolution) => evolution.id).sort();
    expect([...first.posted, ...second.posted].sort()).toEqual(ids);
    for (const id of ids) expect(cardsOf(id)).toHaveLength(1);
  });

  it('posts nothing again after a restart: a new process with a new pool finds the cards in the table', async () => {
    const evolution = await humanReview({ agent_id: 'agent-restart' });
    await postedCard(evolution.id);
    const restarted = replicaStore('bot-1');
    expect((await round({ store: restarted })).posted).toEqual([]);
    expect(cardsOf(evolution.id)).toHaveLength(1);
  });

  it('gives a failed post\'s claim back, so the next round posts it', async () => {
    await round();
    const evolution = await humanReview({ agent_id: 'agent-retry' });
    const failed = await round({ channel: 'C0NOWHERE1' });
    expect(failed.failed).toEqual([evolution.id]);
    expect(await store.get(evolution.id)).toBeUndefined();
    expect(cardsOf(evolution.id)).toHaveLength(0);
    expect((await round()).posted).toEqual([evolution.id]);
    expect(cardsOf(evolution.id)).toHaveLength(1);
  });

  it('never posts a card twice when the database refuses to record where it went: the claim is kept and the place recorded once it can be', async () => {
    await round();
    const evolution = await humanReview({ agent_id: 'agent-unrecorded' });
    const cardsPool = pools[0]!;
    // The real PostgreSQL refuses the write that records a card's place, as a failing database would.
    const allow = () => cardsPool.query('DROP TRIGGER IF EXISTS refuse_card_refs ON evolution_review_cards; DROP FUNCTION IF EXISTS refuse_card_refs()');
    await cardsPool.query(`
      CREATE FUNCTION refuse_card_refs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the card store is failing (test)'; END $$;
      CREATE TRIGGER refuse_card_refs BEFORE UPDATE ON evolution_review_cards FOR EACH ROW WHEN (OLD.ts IS NULL AND NEW.ts IS NOT NULL) EXECUTE FUNCTION refuse_card_refs();`);
    const errors: string[] = [];
    const poster = startEvolutionReviewPoster({
      client,
      store,
      publisher: t.bot.reviewCardPublisher,
      channel: APPROVALS,
      intervalMs: 3_600_000,
      onError: (error, what) => errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`),
    });
    try {
      const first = await poster.runOnce();
      expect(first.posted).toEqual([evolution.id]);
      expect(first.unrecorded).toEqual([evolution.id]);
      expect(errors).toEqual([`recording the card of ${evolution.id}: the card store is failing (test)`]);
      expect(await store.get(evolution.id)).toMatchObject({ claimedBy: 'bot-1' });
      expect((await store.get(evolution.id))?.ref).toBeUndefined();

      // Later rounds, on this replica and on another, post nothing more while the place is unrecorded.
      const second = await poster.runOnce();
      expect(second.posted).toEqual([]);
      expect(second.unrecorded).toEqual([evolution.id]);
      expect((await round({ store: replicaStore('bot-2') })).posted).toEqual([]);
      expect(cardsOf(evolution.id)).toHaveLength(1);

      await allow();
      const third = await poster.runOnce();
      expect(third.posted).toEqual([]);
      expect(third.unrecorded).toEqual([]);
      expect((await store.get(evolution.id))?.ref).toEqual({ channel: APPROVALS, ts: cardsOf(evolution.id)[0]!.ts });
    } finally {
      await poster.stop();
      await allow();
    }
    expect((await round()).posted).toEqual([]);
    expect(cardsOf(evolution.id)).toHaveLength(1);
  });

  it('takes over a claim that never posted once its lease is over, and not before', async () => {
    await round();
    const evolution = await humanReview({ agent_id: 'agent-abandoned' });
    const crashed = replicaStore('bot-crashed');
    expect(await crashed.claim(evolution.id)).toBeDefined();
    expect((await round()).posted).toEqual([]);
    const shortLease = replicaStore('bot-3', 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await round({ store: shortLease })).posted).toEqual([evolution.id]);
    expect(cardsOf(evolution.id)).toHaveLength(1);
  });

  it('posts on its own at start and then every interval, until stopped', async () => {
    const evolution = await humanReview({ agent_id: 'agent-timer' });
    const errors: unknown[] = [];
    const poster = startEvolutionReviewPoster({ client, store, publisher: t.bot.reviewCardPublisher, channel: APPROVALS, intervalMs: 100, onError: (error) => errors.push(error) });
    try {
      await t.standIn.waitFor(() => cardsOf(evolution.id)[0], 5000, 'the card posted by the timer');
      const later = await humanReview({ agent_id: 'agent-timer-2' });
      await t.standIn.waitFor(() => cardsOf(later.id)[0], 5000, 'the card of a proposal made after the start');
    } finally {
      await poster.stop();
    }
    expect(errors).toEqual([]);
    const after = await humanReview({ agent_id: 'agent-after-stop' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cardsOf(after.id)).toHaveLength(0);
  });
});

describe('clicks on a card', () => {
  it('approves in Evolution Oversight as the approver who clicked, and the card shows the outcome, who and when, without buttons', async () => {
    const evolution = await humanReview();
    const card = await postedCard(evolution.id);
    await click(APPROVER1, 'approve', card);
    const text = await untilCard(card, 'Approved');
    expect(text).toMatch(new RegExp(`Approved\\* by <@${APPROVER1}> at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ: “Approved in Slack by approver1 \\(${APPROVER1}\\) from channel ${APPROVALS} with the review card's button”`));
    expect(buttonsOf(current(card))).toEqual([]);
    const after = await client.get(evolution.id);
    expect(after).toMatchObject({ status: 'approved', review: { reviewer_id: APPROVER1 } });
    expect(await store.get(evolution.id)).toMatchObject({ finalStatus: 'approved' });
    const { records } = await trail.trail.query({ user: APPROVER1, command: 'evolution review', limit: 5 });
    expect(records.find((record) => record.kind === 'command')).toMatchObject({ origin: 'button', channel: APPROVALS, args: { id: evolution.id, decision: 'approve' } });
    // Closed: the next round leaves it alone.
    expect((await round()).updated).not.toContain(evolution.id);
  });

  it('rejects with Reject', async () => {
    const evolution = await humanReview();
    const card = await postedCard(evolution.id);
    await click(APPROVER2, 'reject', card);
    await untilCard(card, `Rejected* by <@${APPROVER2}>`);
    expect((await client.get(evolution.id)).status).toBe('rejected');
    expect(buttonsOf(current(card))).toEqual([]);
  });

  it('refuses the requester\'s own click, only to them, changes nothing and leaves the buttons', async () => {
    const evolution = await humanReview({ requester_id: APPROVER2 });
    const card = await postedCard(evolution.id);
    await click(APPROVER2, 'approve', card);
    await ephemeralTo(APPROVER2, 'so you cannot review it: another approver must decide');
    expect(await transitionsOf(evolution.id)).toEqual([`created by ${APPROVER2}`]);
    expect(buttonsOf(current(card))).toEqual(['acgs_evolution_review_approve', 'acgs_evolution_review_reject']);
    expect(t.standIn.messages(APPROVALS, { includeEphemeralFor: APPROVER1 }).some((message) => message.visibleTo === APPROVER2)).toBe(false);
  });

  it('refuses a person without an approver role, only to them, and changes nothing', async () => {
    const evolution = await humanReview();
    const card = await postedCard(evolution.id);
    await click(ONCALL, 'approve', card);
    await ephemeralTo(ONCALL, 'the approvers or admins role may request; your roles: oncall');
    expect(await transitionsOf(evolution.id)).toEqual(['created by U-AGENT-OWNER']);
    expect(buttonsOf(current(card))).toEqual(['acgs_evolution_review_approve', 'acgs_evolution_review_reject']);
  });

  it('records one review when two approvers click at the same moment, and one approver double-clicks', async () => {
    const evolution = await humanReview();
    const card = await postedCard(evolution.id);
    await Promise.all([click(APPROVER1, 'approve', card), click(APPROVER3, 'reject', card), click(APPROVER1, 'approve', card)]);
    await t.standIn.waitFor(() => buttonsOf(current(card)).length === 0 || undefined, 8000, 'the card to lose its buttons');
    const transitions = await transitionsOf(evolution.id);
    expect(transitions).toHaveLength(2);
    const after = await client.get(evolution.id);
    const text = blockText(current(card).blocks);
    expect(text).toContain(after.status === 'approved' ? `Approved* by <@${APPROVER1}>` : `Rejected* by <@${APPROVER3}>`);
    // The click that lost is told who won, privately.
    const loser = after.status === 'approved' ? APPROVER3 : APPROVER1;
    await ephemeralTo(loser, 'is no longer waiting for review');
  });

  it('answers a refused click privately and closes the card even when one of its messages cannot be updated', async () => {
    const evolution = await humanReview();
    const stored = await postedCard(evolution.id);
    // A second copy of the card is clicked (as when a card was posted twice), and the recorded one
    // was deleted in Slack meanwhile, so updating it fails.
    const copyRef = await t.bot.reviewCardPublisher.post(APPROVALS, evolution);
    const slack = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: t.standIn.apiUrl });
    await slack.chat.delete({ channel: APPROVALS, ts: stored.ts });
    await client.reject(evolution.id, { reviewer_id: 'U0ELSEWHERE', justification: 'rejected over the REST API' });
    const copy = t.standIn.workspace.find(APPROVALS, copyRef.ts)!;
    await click(APPROVER1, 'approve', copy);
    await ephemeralTo(APPROVER1, 'is no longer waiting for review: it was rejected by U0ELSEWHERE');
    await untilCard(copy, 'Rejected* by <@U0ELSEWHERE>');
    expect(buttonsOf(current(copy))).toEqual([]);
    await expect.poll(async () => (await store.get(evolution.id))?.finalStatus, { timeout: 5000 }).toBe('rejected');
    expect(await transitionsOf(evolution.id)).toEqual(['created by U-AGENT-OWNER', 'rejected by U0ELSEWHERE']);
  });

  it('answers a button that names no proposal privately and runs nothing', async () => {
    const slack = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: t.standIn.apiUrl });
    const forged = await slack.chat.postMessage({
      channel: APPROVALS,
      text: 'forged card',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'acgs_evolution_review_approve', text: { type: 'plain_text', text: 'Approve' }, value: 'evolution review 4f1c2d3e approve' }] }],
    });
    const before = (await trail.trail.query({ command: 'evolution review', limit: 100 })).records.length;
    await t.standIn.clickButton({ userId: APPROVER1, actionId: 'acgs_evolution_review_approve', channelId: APPROVALS, messageTs: forged.ts! });
    await ephemeralTo(APPROVER1, 'This button names no proposal; nothing was reviewed.');
    expect((await trail.trail.query({ command: 'evolution review', limit: 100 })).records).toHaveLength(before);
  });

  it('shows a review done over the REST API on the card at the next round', async () => {
    const evolution = await humanReview();
    const card = await postedCard(evolution.id);
    await client.reject(evolution.id, { reviewer_id: 'U0ELSEWHERE', justification: 'rejected over the REST API' });
    const report = await round();
    expect(report.updated).toContain(evolution.id);
    const text = blockText(current(card).blocks);
    expect(text).toContain('Rejected* by <@U0ELSEWHERE>');
    expect(text).toContain('rejected over the REST API');
    expect(buttonsOf(current(card))).toEqual([]);
    expect((await round()).updated).not.toContain(evolution.id);
  });
});
