/**
 * Messages people mark for an incident's timeline, with the real bot (Bolt's HTTP receiver) on the
 * Slack stand-in and the real PostgreSQL: a :pushpin: on a message in the incident's channel puts
 * it on the timeline once (at the time it was posted, its author and text, its permalink), however
 * many people pin it and if Slack delivers the event twice; another emoji, a channel that is no
 * incident's and a closed incident's channel put nothing; the emoji is the config's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotConfig } from '../../bot/config.js';
import { commandIncidents, createIncidentStore, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { messageTime } from '../../bot/incidents/marked-messages.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { ONCALL, OPS, startBotWithStandIn } from '../testing/slack-harness.js';

const APPROVER = 'U0APPROVER1';
/** Another channel of the stand-in's workspace, no incident's. */
const ELSEWHERE = 'C0ACGSALERT';

let gov: GovernanceBot;
let incidents: IncidentStore;

beforeAll(async () => {
  gov = await startGovernanceBot({
    roles: { oncall: [ONCALL], approvers: [APPROVER], admins: [] },
    modesTtlMs: 0,
    prefix: 'acgs_marked_message',
    botOverrides: { incidents: { addToTimeline: (...args) => incidents.addToTimeline(...args), inChannel: (channel) => incidents.inChannel(channel) } },
  });
  await migrateIncidentStore(gov.trail.pool);
  incidents = createIncidentStore(gov.trail.pool);
  gov.services.incidents = commandIncidents(incidents, { timezone: 'UTC' });
}, 60_000);
afterAll(async () => {
  await gov?.close();
});

const marked = async (key: string) => (await incidents.timeline(key)).filter((entry) => entry.kind === 'marked-message');

async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a reaction marks a message for the timeline', () => {
  it('pinned in the incident channel: on the timeline once, at its time, with its author, text and permalink', async () => {
    await channelPeople(gov.t, OPS).type(ONCALL, 'incident declare sev2 Audit engine down', 'INC-1 declared');
    const { message } = await gov.t.standIn.postUserMessage({ userId: APPROVER, channelId: OPS, text: 'audit-engine OOM-killed at 03:12, restarting it now' });
    const reply = await gov.t.standIn.addReaction({ userId: ONCALL, channelId: OPS, ts: message.ts, reaction: 'pushpin' });
    expect(reply?.status).toBe(200);
    const [entry] = await until(async () => ((await marked('INC-1')).length > 0 ? marked('INC-1') : undefined), 'the marked message');
    expect(entry).toMatchObject({ actor: ONCALL, text: `${APPROVER}: audit-engine OOM-killed at 03:12, restarting it now`, occurredAt: messageTime(message.ts) });
    expect(entry!.reference).toMatch(new RegExp(`[?&]channel=${OPS}&message=${message.ts.replace('.', '\\.')}$`));

    // Someone else pins it too, and Slack delivers that event twice: still one entry.
    const second = await gov.t.standIn.addReaction({ userId: APPROVER, channelId: OPS, ts: message.ts, reaction: 'pushpin' });
    await second!.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await marked('INC-1')).toHaveLength(1);
  }, 60_000);

  it('another emoji, or a channel that is no incident\'s, puts nothing on any timeline', async () => {
    const { message } = await gov.t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: 'looking at the dashboards' });
    await gov.t.standIn.addReaction({ userId: APPROVER, channelId: OPS, ts: message.ts, reaction: 'eyes' });
    const elsewhere = await gov.t.standIn.postUserMessage({ userId: ONCALL, channelId: ELSEWHERE, text: 'unrelated' });
    await gov.t.standIn.addReaction({ userId: APPROVER, channelId: ELSEWHERE, ts: elsewhere.message.ts, reaction: 'pushpin' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await marked('INC-1')).toHaveLength(1);
    expect(gov.t.standIn.calls('conversations.history').filter((call) => call.args.channel === ELSEWHERE)).toEqual([]);
  }, 60_000);

  it('once the incident is closed, a pin in its channel records nothing', async () => {
    const people = channelPeople(gov.t, OPS);
    await people.type(ONCALL, 'incident resolve INC-1', 'resolved');
    await people.type(ONCALL, 'incident close INC-1', 'closed');
    const { message } = await gov.t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: 'afterwards' });
    await gov.t.standIn.addReaction({ userId: APPROVER, channelId: OPS, ts: message.ts, reaction: 'pushpin' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await marked('INC-1')).toHaveLength(1);
  }, 60_000);
});

describe('the mark emoji in the config', () => {
  it('another emoji when the config names one: that one marks, the pushpin no longer does', async () => {
    const other = await startBotWithStandIn({ mode: 'http', botOverrides: { incidents: { addToTimeline: (...args) => incidents.addToTimeline(...args), inChannel: (channel) => incidents.inChannel(channel) }, markEmoji: 'memo' } });
    try {
      const declared = await incidents.declare({ title: 'Cache degraded', severity: 'sev3', type: 'performance', declaredBy: ONCALL, at: new Date() });
      await incidents.setChannel(declared.key, OPS);
      const pinned = await other.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: 'pinned, not memo' });
      await other.standIn.addReaction({ userId: APPROVER, channelId: OPS, ts: pinned.message.ts, reaction: 'pushpin' });
      const memo = await other.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: 'hit rate back at 92 %' });
      await other.standIn.addReaction({ userId: APPROVER, channelId: OPS, ts: memo.message.ts, reaction: 'memo' });
      const [entry] = await until(async () => ((await marked(declared.key)).length > 0 ? marked(declared.key) : undefined), 'the memo-marked message');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await marked(declared.key)).map((candidate) => candidate.text)).toEqual([`${ONCALL}: hit rate back at 92 %`]);
      expect(entry!.actor).toBe(APPROVER);
    } finally {
      await other.close();
    }
  }, 60_000);


  it('takes `incidents.mark_emoji` with or without colons and refuses what is no emoji name', () => {
    expect(BotConfig.parse({ incidents: { mark_emoji: ':round_pushpin:' } }).incidents?.mark_emoji).toBe('round_pushpin');
    expect(BotConfig.parse({ incidents: { mark_emoji: 'memo' } }).incidents?.mark_emoji).toBe('memo');
    expect(BotConfig.safeParse({ incidents: { mark_emoji: 'Push Pin' } }).success).toBe(false);
    expect(BotConfig.safeParse({ incidents: { mark_emoji: '' } }).success).toBe(false);
  });
});
