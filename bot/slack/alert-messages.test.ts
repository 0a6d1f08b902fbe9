/**
 * Alerts shown in the Slack stand-in from the alert store's changes, on the real PostgreSQL, with
 * the context read from a real local stack (supervised fixture processes): one message per alert
 * edited in place, its thread, flapping told once, a storm's summary, silence, a lost message
 * posted again, two replicas posting one message, and Slack refusing without a word about it in
 * Slack.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAlertContext } from '../alerts/alert-context.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../alerts/alert-store.js';
import type { ReportedAlert } from '../alerts/intake.js';
import { firingReport } from '../alerts/testing/reported-alerts.js';
import { createPool } from '../../services/kit/postgres.js';
import { startFixtureProcesses, type FixtureProcesses } from '../../test/testing/fixture-processes.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { blockText, BOT_TOKEN } from '../../test/testing/slack-harness.js';
import { createAlertMessageStore, migrateAlertMessageStore } from './alert-message-store.js';
import { createAlertMessages, stormThresholdFromEnv, type AlertMessages } from './alert-messages.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { startSlackStandIn, type SlackStandIn, type StandInMessage } from './stand-in/index.js';

const ALERTS = 'C0ACGSALERT';
const OPS = 'C0ACGSOPS01';
const T0 = new Date('2026-12-07T03:12:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let db: TestDatabase;
let pool: pg.Pool;
let otherReplicaPool: pg.Pool;
let stack: FixtureProcesses;
let slack: SlackStandIn;
let clock: Date;
let logged: Array<{ message: string; error?: unknown }>;

beforeAll(async () => {
  db = await createTestDatabase('acgs_alert_messages');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-alert-messages-test' });
  otherReplicaPool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-alert-messages-test-2' });
  await migrateAlertStore(pool);
  expect(await migrateAlertMessageStore(pool)).toEqual(['1767300000000_slack-alert-messages']);
  expect(await migrateAlertMessageStore(pool)).toEqual([]);
  stack = await startFixtureProcesses({ logCapacity: 50 });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await pool?.end();
  await otherReplicaPool?.end();
  await db?.drop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE bot_slack_alert_messages, bot_slack_alert_storms, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, transport: 'http', signingSecret: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });
  clock = T0;
  logged = [];
});

afterEach(async () => {
  await slack?.close();
});

interface Replica {
  store: AlertStore;
  shown: AlertMessages;
}

/** `paced` keeps the write queue's own pace (Slack's limits); the other tests edit faster so they run quickly. */
function replica(options: { channel?: string; stormThreshold?: number; client?: WebClient; pool?: pg.Pool; paced?: boolean } = {}): Replica {
  const client = options.client ?? new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, minTimeout: 50, maxTimeout: 1500 } });
  const store = createAlertStore({ pool: options.pool ?? pool, settings: { flappingChanges: 2, flappingWindowMs: 60_000 }, now: () => clock });
  const shown = createAlertMessages({
    queue: channelWriteQueue(client, options.paced ? {} : { minEditIntervalMs: 10 }),
    alerts: store,
    messages: createAlertMessageStore({ pool: options.pool ?? pool }),
    channel: options.channel ?? ALERTS,
    stormThreshold: options.stormThreshold ?? 10,
    context: (alert) => readAlertContext(alert, { stack: stack.stack, logLines: 5 }),
    log: (message, error) => logged.push({ message, error }),
  });
  store.onChange((change) => shown.changed(change));
  return { store, shown };
}

function firing(service: string, overrides: Partial<ReportedAlert> = {}): ReportedAlert {
  return firingReport({ fingerprint: `monitor:ServiceDown:${service}`, labels: { service }, startsAt: T0, ...overrides });
}
const resolvedReport = (service: string, startsAt: Date, endsAt: Date) => firing(service, { status: 'resolved', startsAt, endsAt, value: 0 });

const parents = (channel = ALERTS): StandInMessage[] => slack.messages(channel).filter((message) => !message.threadTs);
const header = (message: StandInMessage | undefined) => ((message?.blocks?.[0] as { text?: { text?: string } } | undefined)?.text?.text ?? '');
const replies = (ts: string, channel = ALERTS) => slack.thread(channel, ts).slice(1).map((reply) => blockText(reply.blocks));
const buttonIds = (message: StandInMessage) =>
  (message.blocks ?? []).filter((block) => (block as { type: string }).type === 'actions').flatMap((block) => (block as { elements: Array<{ action_id: string }> }).elements.map((element) => element.action_id));

describe('an alert in Slack', () => {
  it('is posted when it fires, with its context in the thread, and edited in place to acknowledged, snoozed, what the bot did and resolved', async () => {
    const { store, shown } = replica();
    await store.report([firing('alpha')]);
    await shown.idle();
    const [message] = parents();
    expect(parents()).toHaveLength(1);
    expect(header(message)).toBe(':rotating_light: ServiceDown: alpha: firing');
    expect(buttonIds(message!)).toEqual(['acgs_alert_ack', 'acgs_alert_snooze_1h', 'acgs_alert_snooze_4h', 'acgs_alert_snooze_tomorrow', 'acgs_alert_resolve', 'acgs_alert_respond']);
    const [context] = replies(message!.ts);
    expect(context).toContain('Context for alpha');
    expect(context).toContain('Restarted on its own 0 times');
    // The supervisor's own log lines of the fixture service, as code.
    expect(context).toMatch(/```[\s\S]*alpha[\s\S]*```/);

    const [alert] = await store.listOpen();
    clock = later(30);
    await store.acknowledge(alert!.id, 'U0ONCALL');
    clock = later(40);
    await store.snooze(alert!.id, later(3600 + 40), 'U0ONCALL');
    clock = later(50);
    await store.note(alert!.id, { kind: 'auto-action', actor: 'bot', details: { summary: 'Restarted alpha at 03:12:50; healthy again after 4 s' } });
    await shown.idle();
    const acknowledged = parents()[0]!;
    expect(acknowledged.ts).toBe(message!.ts);
    expect(header(acknowledged)).toBe(':eyes: ServiceDown: alpha: acknowledged');
    expect(blockText(acknowledged.blocks)).toContain('Acknowledged by <@U0ONCALL> at 03:12:30 UTC');
    expect(blockText(acknowledged.blocks)).toContain('Snoozed until 2026-12-07 04:12:40 UTC by <@U0ONCALL>');
    expect(blockText(acknowledged.blocks)).toContain('Restarted alpha at 03:12:50; healthy again after 4 s');

    clock = later(60);
    await store.report([resolvedReport('alpha', T0, later(58))]);
    await shown.idle();
    const resolved = parents()[0]!;
    expect(parents()).toHaveLength(1);
    expect(header(resolved)).toBe(':white_check_mark: ServiceDown: alpha: resolved');
    expect(blockText(resolved.blocks)).toContain('*Resolved*: the built-in monitor saw it healthy again at 2026-12-07 03:12:58 UTC');
    expect(buttonIds(resolved)).toEqual([]);
    expect(replies(message!.ts).slice(1)).toEqual([
      ':eyes: Acknowledged by <@U0ONCALL> at 03:12:30 UTC',
      ':zzz: Snoozed until 2026-12-07 04:12:40 UTC by <@U0ONCALL> (at 03:12:40 UTC)',
      ':robot_face: Restarted alpha at 03:12:50; healthy again after 4 s',
      ':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:13:00 UTC',
    ]);
    expect(logged).toEqual([]);
  }, 30_000);

  it('says in words in its context reply what the stack could not tell (a service it does not have), and posts nothing about it elsewhere', async () => {
    const { store, shown } = replica();
    await store.report([firing('nosuch')]);
    await shown.idle();
    const [message] = parents();
    const [context] = replies(message!.ts);
    expect(context).toContain('Context for nosuch');
    expect(context).toMatch(/_Log lines could not be read: .*nosuch/);
    expect(context).toContain('_The stack has no service nosuch_');
    expect(parents()).toHaveLength(1);
    expect(logged).toEqual([]);
  }, 30_000);

  it('tells flapping once in the thread; while it flaps, firings and resolutions only edit the message, until it settles', async () => {
    const { store, shown } = replica();
    await store.report([firing('beta')]);
    clock = later(10);
    await store.report([resolvedReport('beta', T0, later(9))]);
    clock = later(20);
    await store.report([firing('beta', { startsAt: later(19) })]);
    await shown.idle();
    const ts = parents()[0]!.ts;
    expect(header(parents()[0])).toBe(':rotating_light: ServiceDown: beta: firing (flapping)');
    const before = replies(ts).slice(1);
    expect(before).toEqual([
      ':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:12:10 UTC',
      ':rotating_light: Fired again at 03:12:20 UTC: 1 failing health check',
      expect.stringMatching(/^:warning: Flapping: 3 changes within 1 min/),
    ]);

    clock = later(30);
    await store.report([resolvedReport('beta', later(19), later(29))]);
    await shown.idle();
    expect(header(parents()[0])).toBe(':white_check_mark: ServiceDown: beta: resolved (flapping)');
    clock = later(40);
    await store.report([firing('beta', { startsAt: later(39) })]);
    await shown.idle();
    expect(header(parents()[0])).toBe(':rotating_light: ServiceDown: beta: firing (flapping)');
    expect(replies(ts).slice(1)).toEqual(before);

    clock = later(40 + 61);
    expect(await store.settleFlapping()).toHaveLength(1);
    await shown.idle();
    expect(header(parents()[0])).toBe(':rotating_light: ServiceDown: beta: firing');
    expect(replies(ts).slice(1)).toEqual(before);
    clock = later(120);
    await store.report([resolvedReport('beta', later(39), later(119))]);
    await shown.idle();
    expect(replies(ts).at(-1)).toBe(':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:14:00 UTC');
    expect(parents()).toHaveLength(1);
  }, 30_000);

  it('posts nothing for a report under silence', async () => {
    const { store, shown } = replica();
    await store.silence({ rule: 'ServiceDown', until: later(3600), reason: 'maintenance', by: 'U0ONCALL' });
    await store.report([firing('alpha')]);
    clock = later(10);
    await store.report([resolvedReport('alpha', T0, later(9))]);
    await shown.idle();
    expect(slack.calls('chat.postMessage')).toEqual([]);
    expect(slack.calls('chat.update')).toEqual([]);
  });

  it('replaces the messages beyond N alerts within a minute with one summary, edited as more arrive', async () => {
    const { store, shown } = replica({ stormThreshold: 3 });
    const services = Array.from({ length: 8 }, (_, index) => `svc-${index}`);
    for (const service of services) await store.report([firing(service)]);
    await shown.idle();
    expect(parents()).toHaveLength(4);
    const summary = parents().find((message) => header(message).startsWith(':thunder_cloud_and_rain:'))!;
    expect(header(summary)).toMatch(/^:thunder_cloud_and_rain: Alert storm: 5 more alerts since \d\d:\d\d:\d\d UTC$/);
    expect(blockText(summary.blocks)).toContain('• ServiceDown: 5');
    expect(blockText(summary.blocks)).toContain('`/acgs alerts`');

    // Several at once, as a webhook batch brings them: the same summary counts them.
    await store.report([firing('svc-8', { rule: 'HighCpu', fingerprint: 'cpu-8', labels: { service: 'svc-8' } }), firing('svc-9')]);
    await shown.idle();
    expect(parents()).toHaveLength(4);
    const edited = parents().find((message) => message.ts === summary.ts)!;
    expect(header(edited)).toMatch(/Alert storm: 7 more alerts/);
    expect(blockText(edited.blocks)).toContain('• HighCpu: 1');
    expect(blockText(edited.blocks)).toContain('• svc-9: 1');
    // A member's later change posts nothing of its own.
    const member = (await store.byFingerprint('monitor:ServiceDown:svc-9'))!;
    await store.acknowledge(member.id, 'U0ONCALL');
    await shown.idle();
    expect(parents()).toHaveLength(4);
    expect(slack.thread(ALERTS, summary.ts)).toHaveLength(1);
  }, 30_000);

  it('is posted again at the next change after it was deleted in Slack, and edited from then on', async () => {
    const { store, shown } = replica();
    await store.report([firing('alpha')]);
    await shown.idle();
    const first = parents()[0]!;
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    await client.chat.delete({ channel: ALERTS, ts: first.ts });
    expect(parents()).toEqual([]);

    const [alert] = await store.listOpen();
    await store.acknowledge(alert!.id, 'U0ONCALL');
    await shown.idle();
    const again = parents();
    expect(again).toHaveLength(1);
    expect(again[0]!.ts).not.toBe(first.ts);
    expect(header(again[0])).toBe(':eyes: ServiceDown: alpha: acknowledged');
    expect((await createAlertMessageStore({ pool }).get(alert!.id))!.ts).toBe(again[0]!.ts);
    expect(replies(again[0]!.ts)).toEqual([':eyes: Acknowledged by <@U0ONCALL> at 03:12:00 UTC']);

    await store.resolve(alert!.id, 'U0APPROVER1');
    await shown.idle();
    expect(parents()).toHaveLength(1);
    expect(header(parents()[0])).toBe(':white_check_mark: ServiceDown: alpha: resolved');
  }, 30_000);

  it('is posted once by two replicas on one database, and edited by whichever one sees the next change', async () => {
    const a = replica();
    const b = replica({ pool: otherReplicaPool });
    // Both monitors report the same firing at once: one alert, one message.
    await Promise.all([a.store.report([firing('alpha')]), b.store.report([firing('alpha')])]);
    await Promise.all([a.shown.idle(), b.shown.idle()]);
    expect(parents()).toHaveLength(1);
    // Both replicas handed the same change (a replayed listener): still one message, one context reply.
    const [alert] = await a.store.listOpen();
    const fired = (await a.store.events(alert!.id))[0]!;
    a.shown.changed({ event: fired, alert: alert! });
    b.shown.changed({ event: fired, alert: alert! });
    await Promise.all([a.shown.idle(), b.shown.idle()]);
    expect(parents()).toHaveLength(1);
    const ts = parents()[0]!.ts;
    expect(slack.thread(ALERTS, ts)).toHaveLength(2);

    await b.store.acknowledge(alert!.id, 'U0ONCALL');
    await b.shown.idle();
    expect(parents()).toHaveLength(1);
    expect(header(parents()[0])).toBe(':eyes: ServiceDown: alpha: acknowledged');
    expect(replies(ts).slice(1)).toEqual([':eyes: Acknowledged by <@U0ONCALL> at 03:12:00 UTC']);
  }, 30_000);

  it("shows a change another replica made while the first post was still on its way, in the one message and its thread", async () => {
    const a = replica();
    const b = replica({ pool: otherReplicaPool });
    // A's post waits out a 429; meanwhile B acknowledges the alert and finds no message to edit.
    slack.rateLimitNext('chat.postMessage', 1, 1);
    await a.store.report([firing('alpha')]);
    const [alert] = await b.store.listOpen();
    await b.store.acknowledge(alert!.id, 'U0ONCALL');
    await b.shown.idle();
    await a.shown.idle();
    expect(parents()).toHaveLength(1);
    const message = parents()[0]!;
    expect(header(message)).toBe(':eyes: ServiceDown: alpha: acknowledged');
    expect(replies(message.ts).slice(1)).toEqual([':eyes: Acknowledged by <@U0ONCALL> at 03:12:00 UTC']);
  }, 30_000);

  it("posts a storm's burst at Slack's pace against the stand-in's real limits: no 429, nothing logged, every thread in order, the summary's edits coalesced", async () => {
    const { store, shown } = replica({ stormThreshold: 10, paced: true });
    const services = Array.from({ length: 40 }, (_, index) => `svc-${index}`);
    for (let index = 0; index < services.length; index += 5) await store.report(services.slice(index, index + 5).map((service) => firing(service)));
    // Three of the first ones change while their posts still wait for the channel's pace.
    for (const service of ['svc-0', 'svc-1', 'svc-2']) {
      const alert = (await store.byFingerprint(`monitor:ServiceDown:${service}`))!;
      clock = later(20);
      await store.acknowledge(alert.id, 'U0ONCALL');
      clock = later(30);
      await store.report([resolvedReport(service, T0, later(25))]);
    }
    await shown.idle();

    expect(slack.rateLimitedCount()).toBe(0);
    expect(logged).toEqual([]);
    // 10 messages, their 10 context replies, the summary, and an acknowledged and a resolved reply for three:
    // more than the 20 posts into one channel Slack lets through at once.
    const posts = slack.calls('chat.postMessage').filter((call) => call.args.channel === ALERTS);
    expect(posts.map((call) => call.status)).toEqual(Array.from({ length: 27 }, () => 200));
    // A burst of 10, then one a second: n posts never within less than (n - 10) s.
    for (let index = 10; index < posts.length; index += 1) expect(posts[index]!.at - posts[0]!.at).toBeGreaterThanOrEqual((index + 1 - 10) * 1000 - 100);
    expect(parents()).toHaveLength(11);
    for (const service of ['svc-0', 'svc-1', 'svc-2']) {
      const message = parents().find((parent) => header(parent).includes(`ServiceDown: ${service}:`))!;
      expect(header(message)).toBe(`:white_check_mark: ServiceDown: ${service}: resolved`);
      const thread = replies(message.ts);
      expect(thread[0]).toContain(`Context for ${service}`);
      expect(thread.slice(1)).toEqual([':eyes: Acknowledged by <@U0ONCALL> at 03:12:20 UTC', ':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:12:30 UTC']);
    }
    const summary = parents().find((message) => header(message).startsWith(':thunder_cloud_and_rain:'))!;
    expect(header(summary)).toMatch(/Alert storm: 30 more alerts/);
    // 30 members joined one by one; the summary was edited far fewer times, at most once a second.
    const summaryEdits = slack.calls('chat.update').filter((call) => call.args.ts === summary.ts);
    expect(summaryEdits.length).toBeLessThan(15);
    for (let index = 1; index < summaryEdits.length; index += 1) expect(summaryEdits[index]!.at - summaryEdits[index - 1]!.at).toBeGreaterThanOrEqual(900);
  }, 90_000);

  it('waits out a rate limit through the WebClient and posts the message once', async () => {
    const { store, shown } = replica();
    slack.rateLimitNext('chat.postMessage', 1, 1);
    await store.report([firing('alpha')]);
    await shown.idle();
    expect(slack.rateLimitedCount('chat.postMessage')).toBe(1);
    expect(parents()).toHaveLength(1);
    expect(logged).toEqual([]);
  }, 30_000);

  it('says nothing in Slack when Slack refuses (channel_not_found, ratelimited): it logs, and the next change tries again', async () => {
    const nowhere = replica({ channel: 'C0NOSUCHCHAN' });
    await nowhere.store.report([firing('alpha')]);
    await nowhere.shown.idle();
    expect(slack.calls('chat.postMessage').map((call) => [call.args.channel, call.ok ? 'ok' : call.error])).toEqual([['C0NOSUCHCHAN', 'channel_not_found']]);
    expect(logged.map((entry) => entry.message)).toEqual([expect.stringContaining('Slack refused to post alert 1')]);

    // A client that does not wait out 429 (as Slack's limits would make one give up): refused, logged, retried later.
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    const limited = replica({ client: impatient });
    slack.rateLimitNext('chat.postMessage', 1, 30);
    await limited.store.report([firing('beta')]);
    await limited.shown.idle();
    expect(parents(ALERTS)).toEqual([]);
    expect(logged.at(-1)!.message).toContain('Slack refused to post alert 2');
    await limited.store.acknowledge((await limited.store.byFingerprint('monitor:ServiceDown:beta'))!.id, 'U0ONCALL');
    await limited.shown.idle();
    expect(parents(ALERTS)).toHaveLength(1);
    expect(header(parents(ALERTS)[0])).toBe(':eyes: ServiceDown: beta: acknowledged');
    // Nothing anywhere said a word about the refusals.
    for (const channel of [ALERTS, OPS]) expect(slack.messages(channel).filter((message) => /refus|error|channel_not_found|ratelimit/i.test(JSON.stringify(message)))).toEqual([]);
  }, 30_000);

  it('posts a thread reply Slack refused at the next change, before the newer ones, once each', async () => {
    // A client that does not wait out 429: the reply is refused, as Slack's limits make one give up.
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    const { store, shown } = replica({ client: impatient });
    await store.report([firing('alpha')]);
    await shown.idle();
    const [message] = parents();
    const [alert] = await store.listOpen();
    clock = later(30);
    slack.rateLimitNext('chat.postMessage', 1, 30);
    await store.acknowledge(alert!.id, 'U0ONCALL');
    await shown.idle();
    expect(slack.rateLimitedCount('chat.postMessage')).toBe(1);
    expect(replies(message!.ts).slice(1)).toEqual([]);
    expect(logged.map((entry) => entry.message)).toEqual([expect.stringMatching(/Slack refused the reply of alert 1's acknowledged; the next change tries again$/)]);
    // The message itself shows the state all along.
    expect(header(parents()[0])).toBe(':eyes: ServiceDown: alpha: acknowledged');

    clock = later(40);
    await store.snooze(alert!.id, later(3600 + 40), 'U0ONCALL');
    await shown.idle();
    clock = later(50);
    await store.note(alert!.id, { kind: 'note', actor: 'U0ONCALL', details: { summary: 'looking at it' } });
    await shown.idle();
    expect(replies(message!.ts).slice(1)).toEqual([
      ':eyes: Acknowledged by <@U0ONCALL> at 03:12:30 UTC',
      ':zzz: Snoozed until 2026-12-07 04:12:40 UTC by <@U0ONCALL> (at 03:12:40 UTC)',
      expect.stringContaining('looking at it'),
    ]);
    for (const channel of [ALERTS, OPS]) expect(slack.messages(channel).filter((posted) => /refus|ratelimit/i.test(JSON.stringify(posted)))).toEqual([]);
  }, 30_000);

  it('keeps "fired again" out of the thread while the alert is snoozed, showing it in the message, and tells it again once the snooze ended', async () => {
    // The changes are minutes apart: a flapping alert would keep its firings quiet anyway.
    const { store, shown } = replica();
    await store.report([firing('alpha')]);
    await shown.idle();
    const [message] = parents();
    const [alert] = await store.listOpen();
    clock = later(10);
    await store.snooze(alert!.id, later(3600), 'U0ONCALL');
    clock = later(100);
    await store.report([resolvedReport('alpha', T0, later(100))]);
    clock = later(200);
    await store.report([firing('alpha', { startsAt: later(200) })]);
    await shown.idle();
    expect(header(parents()[0])).toBe(':rotating_light: ServiceDown: alpha: firing');
    expect(blockText(parents()[0]!.blocks)).toContain('Snoozed until 2026-12-07 04:12:00 UTC');
    expect(replies(message!.ts).slice(1)).toEqual([':zzz: Snoozed until 2026-12-07 04:12:00 UTC by <@U0ONCALL> (at 03:12:10 UTC)', ':white_check_mark: Resolved: the built-in monitor saw it healthy again at 03:13:40 UTC']);

    // After the snooze: a firing is told again.
    clock = later(3700);
    await store.report([resolvedReport('alpha', later(200), later(3700))]);
    clock = later(3800);
    await store.report([firing('alpha', { startsAt: later(3800) })]);
    await shown.idle();
    expect(replies(message!.ts).slice(-2)).toEqual([':white_check_mark: Resolved: the built-in monitor saw it healthy again at 04:13:40 UTC', expect.stringMatching(/^:rotating_light: Fired again at 04:15:20 UTC/)]);
    expect(logged).toEqual([]);
  }, 30_000);

  it('gives a storm member that fires again after its storm ended a message of its own; during the storm it stays in the summary', async () => {
    const { store, shown } = replica({ stormThreshold: 2 });
    for (const service of ['svc-0', 'svc-1', 'svc-2', 'svc-3']) await store.report([firing(service)]);
    await shown.idle();
    expect(parents()).toHaveLength(3);
    const summary = parents().find((message) => header(message).startsWith(':thunder_cloud_and_rain:'))!;
    expect(header(summary)).toMatch(/Alert storm: 2 more alerts/);

    // While the storm goes on, a member firing again stays in it.
    clock = later(20);
    await store.report([resolvedReport('svc-2', T0, later(20))]);
    clock = later(30);
    await store.report([firing('svc-2', { startsAt: later(30) })]);
    await shown.idle();
    expect(parents()).toHaveLength(3);

    // A minute without a new member: the storm is over (the window is PostgreSQL's clock).
    await pool.query(`UPDATE bot_slack_alert_storms SET last_member_at = now() - interval '2 minutes'`);
    await pool.query(`UPDATE bot_slack_alert_messages SET decided_at = now() - interval '2 minutes'`);
    clock = later(200);
    await store.report([resolvedReport('svc-3', T0, later(200))]);
    clock = later(210);
    await store.report([firing('svc-3', { startsAt: later(210) })]);
    await shown.idle();
    expect(parents()).toHaveLength(4);
    const own = parents().find((message) => header(message) === ':rotating_light: ServiceDown: svc-3: firing')!;
    expect(own).toBeDefined();
    expect(replies(own.ts)[0]).toContain('Context for svc-3');
    // The summary counts the one left in the storm; the member's later changes edit its own message.
    expect(header(parents().find((message) => message.ts === summary.ts))).toMatch(/Alert storm: 1 more alert /);
    const member = (await store.byFingerprint('monitor:ServiceDown:svc-3'))!;
    await store.acknowledge(member.id, 'U0ONCALL');
    await shown.idle();
    expect(header(parents().find((message) => message.ts === own.ts))).toBe(':eyes: ServiceDown: svc-3: acknowledged');
    expect(logged).toEqual([]);
  }, 30_000);

  it('does not wait for Slack: the store\'s report resolves while the post is still held up', async () => {
    const { store, shown } = replica();
    slack.rateLimitNext('chat.postMessage', 1, 1);
    const reported = await store.report([firing('alpha')]);
    expect(reported).toEqual({ stored: 1, duplicates: 0 });
    // Answered before Slack took the message: the 1 s Retry-After still holds it.
    expect(parents()).toEqual([]);
    await shown.idle();
    expect(parents()).toHaveLength(1);
  }, 30_000);

  it('reads the storm threshold from ACGS_ALERT_STORM_THRESHOLD, refusing a bad value by name', () => {
    expect(stormThresholdFromEnv({})).toBe(10);
    expect(stormThresholdFromEnv({ ACGS_ALERT_STORM_THRESHOLD: '25' })).toBe(25);
    expect(() => stormThresholdFromEnv({ ACGS_ALERT_STORM_THRESHOLD: 'ten' })).toThrow(/ACGS_ALERT_STORM_THRESHOLD/);
    expect(() => stormThresholdFromEnv({ ACGS_ALERT_STORM_THRESHOLD: '0' })).toThrow(/ACGS_ALERT_STORM_THRESHOLD/);
  });
});
