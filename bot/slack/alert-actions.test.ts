/**
 * An alert's buttons in the Slack stand-in, through the real bot (Bolt's HTTP receiver), the real
 * commands, the real authorization policy and the bot's audit trail on the real PostgreSQL, with a
 * real local stack (supervised fixture processes): Acknowledge, Snooze and Resolve clicked by the
 * on-call engineer and refused to someone without the role, the message following each; the
 * rule's response run the same way; buttons of an alert that no longer exists, and forged ones,
 * answered privately with nothing run.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import { commandAlerts } from '../alerts/alert-commands.js';
import { readAlertContext } from '../alerts/alert-context.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../alerts/alert-store.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { startFixtureProcesses, type FixtureProcesses } from '../../test/testing/fixture-processes.js';
import { servicesNowhere } from '../../test/testing/services-nowhere.js';
import { blockText, BOT_TOKEN, ONCALL, standInClient, startBotWithStandIn, type BotUnderTest } from '../../test/testing/slack-harness.js';
import { createAlertMessageStore, migrateAlertMessageStore } from './alert-message-store.js';
import { createAlertMessages, type AlertMessages } from './alert-messages.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { firingReport } from '../alerts/testing/reported-alerts.js';

const ALERTS = 'C0ACGSALERT';
/** In the stand-in's workspace, with no role here. */
const VIEWER = 'U0APPROVER2';

let trail: TestTrail;
let fixtures: FixtureProcesses;
let bot: BotUnderTest;
let store: AlertStore;
let shown: AlertMessages;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_alert_slack' });
  await migrateAlertStore(trail.pool);
  await migrateAlertMessageStore(trail.pool);
  fixtures = await startFixtureProcesses({ logCapacity: 50 });
  const services = await servicesNowhere({ authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [], admins: [] } }), trail: trail.trail, stack: fixtures.stack });
  store = createAlertStore({ pool: trail.pool });
  services.alerts = commandAlerts(store, { timezone: 'UTC' });
  bot = await startBotWithStandIn({ mode: 'http', registry: () => createCommandRegistry(), botOverrides: { services, alerts: store } });
  shown = createAlertMessages({ queue: channelWriteQueue(standInClient(bot.standIn), { minEditIntervalMs: 50 }), alerts: store, messages: createAlertMessageStore({ pool: trail.pool }),
    channel: ALERTS,
    context: (alert) => readAlertContext(alert, { stack: fixtures.stack }),
  });
  store.onChange((change) => shown.changed(change));
}, 60_000);

afterAll(async () => {
  await shown?.idle();
  await bot?.close();
  await fixtures?.close();
  await trail?.close();
});

const privateTo = (user: string, since: number) => bot.standIn.messages(ALERTS, { includeEphemeralFor: user }).filter((message) => message.visibleTo === user).slice(since);
const waitForPrivate = (user: string, since: number) => bot.standIn.waitFor(() => privateTo(user, since)[0], 10_000, `a private answer to ${user}`);
const trailOf = async (command: string) => (await trail.trail.query({ command, limit: 200 })).records;

async function alertMessage(service: string) {
  await store.report([firingReport({ fingerprint: `monitor:ServiceDown:${service}`, labels: { service }, startsAt: new Date() })]);
  await shown.idle();
  const alert = (await store.byFingerprint(`monitor:ServiceDown:${service}`))!;
  const message = bot.standIn.messages(ALERTS).find((candidate) => JSON.stringify(candidate.blocks).includes(`"block_id":"acgs_alert_${alert.id}"`))!;
  return { alert, message };
}

describe("an alert's buttons", () => {
  const messageOf = (alertId: string) => bot.standIn.messages(ALERTS).find((candidate) => JSON.stringify(candidate.blocks).includes(`Alert ${alertId} ·`));
  const waitForMessage = (alertId: string, words: string) =>
    bot.standIn.waitFor(() => {
      const message = messageOf(alertId);
      return message && blockText(message.blocks).includes(words) ? message : undefined;
    }, 10_000, `alert ${alertId}'s message to say ${words}`);

  it('acknowledge, snooze and resolve as the on-call engineer through the command path; the message and its thread follow, and the trail says it came from the buttons', async () => {
    const { alert, message } = await alertMessage('beta');
    const stale = structuredClone(message.blocks);
    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_ack' });
    await vi.waitFor(async () => expect(await store.get(alert.id)).toMatchObject({ state: 'acknowledged', acknowledgedBy: ONCALL }), { timeout: 10_000, interval: 50 });
    await shown.idle();
    const acknowledged = await waitForMessage(alert.id, `Acknowledged by <@${ONCALL}>`);
    expect(acknowledged.ts).toBe(message.ts);
    expect(JSON.stringify(acknowledged.blocks)).not.toContain('acgs_alert_ack');

    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_snooze_4h' });
    await vi.waitFor(async () => expect((await store.get(alert.id))!.snoozedUntil).not.toBeNull(), { timeout: 10_000, interval: 50 });
    await shown.idle();
    await waitForMessage(alert.id, 'Snoozed until');

    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_resolve' });
    await vi.waitFor(async () => expect(await store.get(alert.id)).toMatchObject({ state: 'resolved', resolvedBy: ONCALL }), { timeout: 10_000, interval: 50 });
    await shown.idle();
    const resolved = await waitForMessage(alert.id, `Resolved by <@${ONCALL}>`);
    expect(JSON.stringify(resolved.blocks)).not.toContain('acgs_alert_');
    const thread = bot.standIn.thread(ALERTS, message.ts).slice(1).map((reply) => blockText(reply.blocks));
    expect(thread.slice(1).map((line) => line.split(' at ')[0]!.replace(/ until .*/, ''))).toEqual([`:eyes: Acknowledged by <@${ONCALL}>`, ':zzz: Snoozed', `:white_check_mark: Resolved by <@${ONCALL}>`]);
    for (const command of ['alerts ack', 'alerts snooze', 'alerts resolve']) {
      const records = await vi.waitFor(async () => {
        const found = await trailOf(command);
        expect(found.map((record) => record.kind).sort()).toEqual(['command', 'execution', 'result']);
        return found;
      }, { timeout: 5000, interval: 50 });
      for (const record of records) expect(record).toMatchObject({ actor: ONCALL, origin: 'button', channel: ALERTS });
    }

    // The stale buttons of the message as it was: a resolved alert is not acknowledged again.
    bot.standIn.workspace.edit(ALERTS, message.ts, { blocks: stale }, 'test');
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_snooze_1h' });
    const answer = await waitForPrivate(ONCALL, privateBefore);
    expect(blockText(answer.blocks)).toMatch(/resolved/);
    expect(await store.get(alert.id)).toMatchObject({ state: 'resolved', resolvedBy: ONCALL });
  }, 30_000);

  it('refuse Acknowledge and Resolve to someone without the role, privately, recording the refusal and changing nothing', async () => {
    const { alert, message } = await alertMessage('sick');
    for (const actionId of ['acgs_alert_ack', 'acgs_alert_resolve']) {
      const privateBefore = privateTo(VIEWER, 0).length;
      await bot.standIn.clickButton({ userId: VIEWER, channelId: ALERTS, messageTs: message.ts, actionId });
      const answer = await waitForPrivate(VIEWER, privateBefore);
      expect(blockText(answer.blocks)).toMatch(/alerts (ack|resolve): refused/);
    }
    const refused = [...(await trailOf('alerts ack')), ...(await trailOf('alerts resolve'))].filter((record) => record.actor === VIEWER);
    expect(refused.map((record) => [record.kind, record.decision, record.origin])).toEqual([
      ['command', 'deny', 'button'],
      ['command', 'deny', 'button'],
    ]);
    expect(await store.get(alert.id)).toMatchObject({ state: 'firing', acknowledgedBy: null, resolvedBy: null });
    await shown.idle();
    expect(bot.standIn.thread(ALERTS, message.ts)).toHaveLength(2);
  }, 30_000);

  it("refuse the rule's response to someone without the role, privately, recording the refusal and running nothing", async () => {
    const { alert, message } = await alertMessage('alpha');
    const startedBefore = (await fixtures.stack.list()).find((service) => service.name === 'alpha')!.replicas[0]!.startedAt;
    const privateBefore = privateTo(VIEWER, 0).length;
    await bot.standIn.clickButton({ userId: VIEWER, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_respond' });
    const answer = await waitForPrivate(VIEWER, privateBefore);
    expect(blockText(answer.blocks)).toContain('restart: refused');
    const refused = (await trailOf('restart')).filter((record) => record.actor === VIEWER);
    expect(refused.map((record) => [record.kind, record.decision, record.origin])).toEqual([['command', 'deny', 'button']]);
    expect((await fixtures.stack.list()).find((service) => service.name === 'alpha')!.replicas[0]!.startedAt).toBe(startedBefore);
    expect(await store.get(alert.id)).toMatchObject({ state: 'firing', acknowledgedBy: null });
  }, 30_000);

  it("run the rule's response as the on-call engineer through the command path: the service is restarted, answered in the alert's thread and its history, and the trail says it came from the button", async () => {
    const { alert, message } = await alertMessage('alpha');
    const startedBefore = (await fixtures.stack.list()).find((service) => service.name === 'alpha')!.replicas[0]!.startedAt;
    const privateBefore = privateTo(ONCALL, 0).length;
    const channelBefore = bot.standIn.messages(ALERTS).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_respond' });
    // The restart's report in the alert's thread, for everyone following the alert; not in the channel.
    const answer = await bot.standIn.waitFor(() => bot.standIn.thread(ALERTS, message.ts).find((reply) => blockText(reply.blocks).includes('Restarted alpha')), 20_000, "the restart's answer in the alert's thread");
    expect(answer.visibleTo).toBeUndefined();
    expect(bot.standIn.messages(ALERTS).length).toBe(channelBefore);
    expect(privateTo(ONCALL, privateBefore)).toEqual([]);
    // In the alert's history, who ran what, as Level 1's actions are; told once in the thread (the answer).
    const noted = await vi.waitFor(async () => {
      const notes = (await store.events(alert.id)).filter((event) => event.kind === 'note');
      expect(notes).toHaveLength(1);
      return notes[0]!;
    }, { timeout: 10_000, interval: 50 });
    expect(noted).toMatchObject({ actor: ONCALL, details: { command: 'restart alpha', outcome: 'ok', origin: 'button', answered_in_thread: true } });
    expect(noted.details!.summary).toMatch(new RegExp(`^<@${ONCALL}> ran restart alpha \\(Run: service down\\): succeeded`));
    await shown.idle();
    expect(bot.standIn.thread(ALERTS, message.ts).map((reply) => blockText(reply.blocks)).filter((text) => text.startsWith(':memo:'))).toEqual([]);
    const records = await vi.waitFor(async () => {
      const found = (await trailOf('restart')).filter((record) => record.actor === ONCALL);
      expect(found.map((record) => record.kind).sort()).toEqual(['command', 'execution', 'result']);
      return found;
    }, { timeout: 10_000, interval: 50 });
    for (const record of records) expect(record).toMatchObject({ origin: 'button', channel: ALERTS, args: { service: 'alpha' } });
    expect((await fixtures.stack.list()).find((service) => service.name === 'alpha')!.replicas[0]!.startedAt).not.toBe(startedBefore);
  }, 30_000);
  it('answers a "Show:" response (it only reads) to the clicker alone, and notes nothing', async () => {
    const labels = { service: 'alpha', replica: 'alpha', restarted_at: new Date().toISOString() };
    await store.report([firingReport({ rule: 'ServiceRestarted', fingerprint: 'monitor:ServiceRestarted:alpha', labels, startsAt: new Date() })]);
    await shown.idle();
    const alert = (await store.byFingerprint('monitor:ServiceRestarted:alpha'))!;
    const message = bot.standIn.messages(ALERTS).find((candidate) => JSON.stringify(candidate.blocks).includes(`"block_id":"acgs_alert_${alert.id}"`))!;
    const privateBefore = privateTo(ONCALL, 0).length;
    const threadBefore = bot.standIn.thread(ALERTS, message.ts).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: message.ts, actionId: 'acgs_alert_respond' });
    await waitForPrivate(ONCALL, privateBefore);
    // Its trail written to the end (the answer may come first), so that the next test counts only its own.
    await vi.waitFor(async () => expect((await trailOf('logs')).filter((record) => record.actor === ONCALL).map((record) => record.kind).sort()).toEqual(['command', 'result']), { timeout: 10_000, interval: 50 });
    await shown.idle();
    expect(bot.standIn.thread(ALERTS, message.ts)).toHaveLength(threadBefore);
    expect((await store.events(alert.id)).filter((event) => event.kind === 'note')).toEqual([]);
  }, 30_000);
});

describe('bad input', () => {
  const forgedButton = async (actionId: string, value: string) => {
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: bot.standIn.apiUrl });
    const posted = await client.chat.postMessage({
      channel: ALERTS,
      text: 'an alert message of a database that started afresh',
      blocks: [{ type: 'actions', block_id: 'stale', elements: [{ type: 'button', action_id: actionId, text: { type: 'plain_text', text: 'Click' }, value }] }],
    });
    return posted.ts!;
  };

  it('answers a button of an alert that no longer exists privately, and runs nothing', async () => {
    for (const actionId of ['acgs_alert_ack', 'acgs_alert_snooze_4h', 'acgs_alert_resolve', 'acgs_alert_respond']) {
      const ts = await forgedButton(actionId, '999999');
      const recorded = (await trail.trail.query({ limit: 200 })).records.length;
      const privateBefore = privateTo(ONCALL, 0).length;
      await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: ts, actionId });
      const answer = await waitForPrivate(ONCALL, privateBefore);
      expect(answer.text).toBe('Alert 999999 no longer exists; nothing was done.');
      expect((await trail.trail.query({ limit: 200 })).records.length).toBe(recorded);
    }
  }, 30_000);

  it('answers a forged value privately and runs no command', async () => {
    for (const value of ['1; restart policy-engine', 'abc', '0', '']) {
      const ts = await forgedButton('acgs_alert_respond', value || ' ');
      const recorded = (await trail.trail.query({ limit: 200 })).records.length;
      const privateBefore = privateTo(ONCALL, 0).length;
      await bot.standIn.clickButton({ userId: ONCALL, channelId: ALERTS, messageTs: ts, actionId: 'acgs_alert_respond' });
      const answer = await waitForPrivate(ONCALL, privateBefore);
      expect(answer.text).toBe('This button names no alert; nothing was done.');
      expect((await trail.trail.query({ limit: 200 })).records.length).toBe(recorded);
    }
  }, 30_000);
});
