/**
 * The update reminder's timer on the real PostgreSQL, posting through the channel write queue
 * into the Slack stand-in, with an injected clock: due after the severity's interval without an
 * update and not before, once per interval across restarts and replicas, never for a resolved or
 * closed incident, a failed post tried again, and under two leader duties one reminder.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResultDocument } from '../../commands/result.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createLeaderDuty, createLeaseStore, migrateLeaseStore, type LeaderDuty } from '../leadership/index.js';
import { channelWriteQueue, type ChannelWriteQueue } from '../slack/channel-write-queue.js';
import { renderDocument } from '../slack/render.js';
import { startSlackStandIn, type SlackStandIn } from '../slack/stand-in/index.js';
import { createIncidentStore, INCIDENT_TABLES, migrateIncidentStore, type IncidentStore } from './incident-store.js';
import { createUpdateReminderLedger, startUpdateReminders, UPDATE_REMINDER_LEASE, type UpdateReminders, type UpdateRemindersOptions } from './update-reminder-duty.js';
import { updateReminderIntervals } from './update-reminders.js';

const BOT_TOKEN = 'xoxb-update-reminders-test';
const CHANNEL = 'C0INCREMIND';
const OTHER_CHANNEL = 'C0INCOTHER';
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
/** Long enough that only the first beat and the test's own checks run. */
const HOURLY = 3_600_000;

let db: TestDatabase;
let pools: pg.Pool[];
let stores: IncidentStore[];
let slack: SlackStandIn;
let queue: ChannelWriteQueue;
let now: Date;
const started: UpdateReminders[] = [];

beforeAll(async () => {
  db = await createTestDatabase('acgs_incident_reminders');
  pools = [0, 1].map((replica) => createPool({ databaseUrl: db.url, max: 4, applicationName: `acgs-incident-reminders-${replica}` }));
  await migrateIncidentStore(pools[0]!);
  await migrateLeaseStore(pools[0]!);
  stores = pools.map((pool) => createIncidentStore(pool));
}, 30_000);
afterAll(async () => {
  await Promise.all((pools ?? []).map((pool) => pool.end()));
  await db?.drop();
});
beforeEach(async () => {
  await pools[0]!.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')}, leadership_leases RESTART IDENTITY CASCADE`);
  now = T0;
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: CHANNEL, name: 'inc-2026-12-07-latency' }, { id: OTHER_CHANNEL, name: 'inc-2026-12-07-other' }] } });
  queue = channelWriteQueue(new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((reminders) => reminders.stop()));
  await slack?.close();
});

const postToSlack = async (channel: string, document: ResultDocument) => {
  const message = renderDocument(document);
  await queue.post(channel, { text: message.text, blocks: message.blocks });
};

/** One replica's timer on its own pool, with the test's clock. */
function reminders(replica = 0, options: Partial<UpdateRemindersOptions> = {}): UpdateReminders {
  const timer = startUpdateReminders({
    store: stores[replica]!,
    ledger: createUpdateReminderLedger(pools[replica]!),
    intervals: updateReminderIntervals(undefined),
    post: postToSlack,
    checkEveryMs: HOURLY,
    now: () => now,
    ...options,
  });
  started.push(timer);
  return timer;
}

async function declared(severity: 'sev1' | 'sev2' | 'sev3' | 'sev4' = 'sev2', channel = CHANNEL, title = 'Policy Engine latency above 5 s'): Promise<string> {
  const incident = await stores[0]!.declare({ title, severity, type: 'performance', declaredBy: 'U0ALICE', at: T0 });
  await stores[0]!.setChannel(incident.id, channel);
  return incident.id;
}

const keys = (posted: Awaited<ReturnType<UpdateReminders['check']>>) => posted.map((reminder) => reminder.incident.key);
const texts = (channel = CHANNEL) => slack.messages(channel).map((message) => message.text);

describe('incident update reminders', () => {
  it("reminds in the incident's channel once the interval passed without an update, not before, and once per interval", async () => {
    await declared();
    const timer = reminders();
    now = minutes(29);
    expect(await timer.check()).toEqual([]);
    now = minutes(30);
    expect(keys(await timer.check())).toEqual(['INC-1']);
    expect(texts()).toEqual([expect.stringContaining('INC-1: no status update for 30 min')]);
    expect(texts()[0]).toContain('/acgs incident update INC-1');
    now = minutes(45);
    expect(await timer.check()).toEqual([]);
    now = minutes(59);
    expect(await timer.check()).toEqual([]);
    now = minutes(61);
    expect(keys(await timer.check())).toEqual(['INC-1']);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain('INC-1: no status update for 61 min');
  });

  it('measures from the latest update: an update restarts the clock', async () => {
    const id = await declared();
    const timer = reminders();
    await stores[0]!.postUpdate(id, { author: 'U0ALICE', text: 'Scaled to 3 replicas', at: minutes(25) });
    now = minutes(40);
    expect(await timer.check()).toEqual([]);
    now = minutes(55);
    expect(keys(await timer.check())).toEqual(['INC-1']);
  });

  it('does not repeat a reminder after a restart, nor when two replicas check at once', async () => {
    await declared();
    now = minutes(31);
    const [a, b] = [reminders(0), reminders(1)];
    const posted = await Promise.all([a.check(), b.check(), a.check()]);
    expect(posted.flat()).toHaveLength(1);
    await a.stop();
    // A bot back after a restart (a new timer, its own ledger on the same database) finds it reminded.
    now = minutes(50);
    expect(await reminders(0).check()).toEqual([]);
    expect(texts()).toHaveLength(1);
  });

  it('never reminds of a resolved or closed incident', async () => {
    const resolved = await declared('sev2', CHANNEL, 'resolved one');
    const closed = await declared('sev2', OTHER_CHANNEL, 'closed one');
    await stores[0]!.resolve(resolved, 'U0ALICE', minutes(10));
    await stores[0]!.resolve(closed, 'U0ALICE', minutes(10));
    await stores[0]!.close(closed, 'U0ALICE', minutes(20));
    now = minutes(600);
    expect(await reminders().check()).toEqual([]);
    expect([...texts(), ...texts(OTHER_CHANNEL)]).toEqual([]);
  });

  it("keeps each severity's interval from the config", async () => {
    await declared('sev1', CHANNEL, 'sev1 one');
    await declared('sev3', OTHER_CHANNEL, 'sev3 one');
    const timer = reminders(0, { intervals: updateReminderIntervals({ update_reminder_minutes: { sev1: 15 } }) });
    now = minutes(16);
    expect(keys(await timer.check())).toEqual(['INC-1']);
    expect(texts()).toEqual([expect.stringContaining('INC-1: no status update for 16 min')]);
    expect(texts(OTHER_CHANNEL)).toEqual([]);
    now = minutes(30);
    expect(keys(await timer.check())).toEqual(['INC-1', 'INC-2']);
  });

  it('gives the claim back when the post fails, so the next check reminds', async () => {
    await declared();
    const errors: string[] = [];
    let refuse = true;
    const timer = reminders(0, {
      post: async (channel, document) => {
        if (refuse) throw new Error('channel_not_found');
        await postToSlack(channel, document);
      },
      onError: (error, what) => errors.push(`${what}: ${(error as Error).message}`),
    });
    now = minutes(31);
    expect(await timer.check()).toEqual([]);
    expect(errors).toEqual(['posting the update reminder of INC-1: channel_not_found']);
    refuse = false;
    expect(keys(await timer.check())).toEqual(['INC-1']);
    expect(texts()).toHaveLength(1);
  });

  it('under two leader duties, one replica reminds once, and the timer stops with its duty', async () => {
    await declared();
    now = minutes(31);
    const duties: LeaderDuty[] = [0, 1].map((replica) =>
      createLeaderDuty({
        leases: createLeaseStore(pools[replica]!),
        name: UPDATE_REMINDER_LEASE,
        holder: `replica-${replica}`,
        leaseMs: 3000,
        renewEveryMs: 200,
        start: () => reminders(replica, { checkEveryMs: 50 }),
        onError: () => undefined,
      }),
    );
    try {
      await slack.waitFor(() => texts().length === 1, 5000, 'the reminder');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(texts()).toHaveLength(1);
      expect(duties.filter((duty) => duty.leading() !== undefined)).toHaveLength(1);
    } finally {
      await Promise.all(duties.map((duty) => duty.stop()));
    }
    // Stopped: the next due point passes without a reminder.
    now = minutes(61);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(texts()).toHaveLength(1);
  });
});
