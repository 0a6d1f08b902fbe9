/**
 * The scheduled report jobs end to end: the scheduler on the real PostgreSQL, the `report daily`
 * command through the command path as the scheduler (real policy and trail), the report posted to
 * the Slack stand-in through the reports' poster. A replica that dies after posting leaves a retry
 * that does not post again; a claim never confirmed posts again saying so; no channel fails the
 * run saying nothing was posted; a data source really down costs only its part.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { blockText } from '../../test/testing/slack-harness.js';
import { createCommandPathDependencies, type ExecutionDeps } from '../command-path/index.js';
import { createSampleStore, migrateMetricsHistory, type MetricsHistory } from '../metrics-history/index.js';
import type { ReportPoster } from '../reports/report-posting.js';
import { scheduledReports, type ReportPostLedger } from '../reports/scheduled-report-posts.js';
import { channelWriteQueue } from '../slack/channel-write-queue.js';
import { postDailyReport } from '../slack/post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from '../slack/stand-in/index.js';
import { dailyReportJob, withSchedulerActor, type ScheduledReportsFor } from './maintenance-jobs.js';
import { createReportPostLedger } from './report-post-ledger.js';
import { createScheduleStore, migrateScheduleStore } from './schedule-store.js';
import { createScheduler, type ScheduledJob, type Scheduler, type SchedulerOptions } from './scheduler.js';

const BOT_TOKEN = 'xoxb-report-jobs-test';
const REPORTS = 'C0ACGSREPORTS';
/** Nothing listens on port 1 of loopback: a database there is really down. */
const DOWN_DATABASE = 'postgres://postgres@127.0.0.1:1/none';

let trail: TestTrail;
let pool: pg.Pool;
let slack: SlackStandIn;
let poster: ReportPoster;
let history: MetricsHistory;
let execution: ExecutionDeps;
const started: Scheduler[] = [];
const pools: pg.Pool[] = [];

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_report_jobs' });
  pool = createPool({ databaseUrl: trail.db.url, max: 6, applicationName: 'acgs-report-jobs-test' });
  await migrateScheduleStore(pool);
  await migrateMetricsHistory(pool);
  history = createSampleStore({ pool });
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: REPORTS, name: 'acgs-reports' }] } });
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const queue = channelWriteQueue(client);
  poster = { channel: REPORTS, post: (report, hooks) => postDailyReport({ client, queue }, { channel: REPORTS }, report, hooks) };
  const nowhere = await unusedLoopbackUrl();
  const services = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 500, callTimeoutMs: 500 });
  execution = { registry: createCommandRegistry(), services: { ...services, authorization: await testGate({ roles: withSchedulerActor({}) }), trail: trail.trail } };
}, 60_000);

afterAll(async () => {
  for (const scheduler of started) await scheduler.stop();
  for (const extra of pools) await extra.end().catch(() => undefined);
  await slack?.close();
  await pool?.end();
  await trail?.close();
});

beforeEach(async () => {
  for (const scheduler of started.splice(0)) await scheduler.stop();
  await pool.query('TRUNCATE schedule_runs, schedule_jobs, schedule_report_posts');
});

function extraPool(databaseUrl = trail.db.url): pg.Pool {
  const made = createPool({ databaseUrl, max: 2, applicationName: 'acgs-report-jobs-extra' });
  pools.push(made);
  return made;
}

/** A clock the test moves. */
function testClock(iso: string) {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (next: string) => void (now = new Date(next)) };
}

const reportsFor = (options: { ledger: ReportPostLedger; poster?: ReportPoster; history?: MetricsHistory }): ScheduledReportsFor => (key) =>
  scheduledReports({ services: execution.services, history: options.history ?? history, ledger: options.ledger, ...(options.poster ? { poster: options.poster } : {}) }, key);

const dailyReport = (run: ScheduledJob['run']): ScheduledJob => ({ name: 'daily-report', summary: 'the daily report', cron: '0 5 * * *', timeoutMs: 60_000, missed: 'run-once', enabled: true, run });

function scheduler(options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'jobs' | 'clock'>, storePool = pool): Scheduler {
  const made = createScheduler({
    store: createScheduleStore(storePool),
    timezone: 'UTC',
    holder: `replica-${started.length}`,
    onError: (error, what) => {
      throw new Error(`${what}: ${(error as Error).message}`);
    },
    ...options,
  });
  started.push(made);
  return made;
}

const reportMessages = () => slack.messages(REPORTS).filter((message) => blockText(message.blocks).includes('Daily health report'));
const runsOf = async () => (await createScheduleStore(pool).runs('daily-report', 100)).reverse();

it('does not post the report again when a replica died after posting it and the run-once retry runs it', async () => {
  const before = reportMessages().length;
  const clock = testClock('2026-06-01T04:59:00Z');
  // Replica A has its own pool: ending it is the replica dying (no renewals, no end recorded).
  const poolDying = extraPool();
  let posted = false;
  const postThenDie: ScheduledJob['run'] = async (context) => {
    await dailyReportJob(execution, reportsFor({ ledger: createReportPostLedger(poolDying), poster }))(context);
    posted = true;
    return new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));
  };
  const dying = scheduler({ clock: clock.now, leaseMs: 300, holder: 'replica-dying', onError: () => undefined, jobs: [dailyReport(postThenDie)] }, poolDying);
  await dying.declare();
  clock.set('2026-06-01T05:00:00Z');
  await dying.wake();
  await expect.poll(() => posted, { timeout: 30_000 }).toBe(true);
  await poolDying.end();
  await expect.poll(async () => (await pool.query("SELECT count(*)::int AS n FROM schedule_runs WHERE outcome = 'running' AND lease_expires_at > clock_timestamp()")).rows[0].n, { timeout: 5_000 }).toBe(0);

  const live = scheduler({ clock: clock.now, jobs: [dailyReport(dailyReportJob(execution, reportsFor({ ledger: createReportPostLedger(pool), poster })))] });
  clock.set('2026-06-01T05:10:00Z');
  await live.wake();
  await live.idle();

  expect(reportMessages().length - before).toBe(1);
  const runs = await runsOf();
  expect(runs.map((run) => [run.trigger, run.outcome])).toEqual([
    ['schedule', 'abandoned'],
    ['retry', 'ok'],
  ]);
  expect(runs[1]!.dueAt).toEqual(new Date('2026-06-01T05:00:00Z'));
  expect(runs[1]!.detail).toMatch(new RegExp(`^daily report not posted again: an earlier attempt posted it at \\S+ \\(channel ${REPORTS}, message ${reportMessages().at(-1)!.ts.replace('.', '\\.')}\\)$`));
}, 90_000);

it('posts again, saying it may be there twice, when an earlier attempt claimed the post and never recorded Slack answering', async () => {
  const before = reportMessages().length;
  const ledger = createReportPostLedger(pool);
  const clock = testClock('2026-06-02T04:59:00Z');
  const s = scheduler({ clock: clock.now, jobs: [dailyReport(dailyReportJob(execution, reportsFor({ ledger, poster })))] });
  await s.declare();
  // What a replica that died between sending and recording leaves: a claim without a ts.
  const dueAt = new Date('2026-06-02T05:00:00Z');
  expect(await ledger.claim({ job: 'daily-report', dueAt, runId: 'dead' }, REPORTS)).toEqual({ kind: 'claimed' });
  clock.set('2026-06-02T05:00:00Z');
  await s.wake();
  await s.idle();
  const posted = reportMessages().slice(before);
  expect(posted).toHaveLength(1);
  expect(blockText(posted[0]!.blocks)).toMatch(/Posted again: an earlier attempt at \S+ stopped before Slack's answer was recorded; it may be in this channel twice\./);
  const [run] = await runsOf();
  expect(run).toMatchObject({ outcome: 'ok', detail: expect.stringMatching(/; posted again: an earlier attempt at \S+ stopped before Slack's answer was recorded$/) });
  // Now confirmed: a further attempt finds it posted.
  expect(await ledger.claim({ job: 'daily-report', dueAt, runId: 'later' }, REPORTS)).toMatchObject({ kind: 'posted', channel: REPORTS, ts: posted[0]!.ts });
}, 60_000);

it('posts without its ledger when the ledger cannot be read, and says so in the run record', async () => {
  const before = reportMessages().length;
  const s = scheduler({ clock: () => new Date('2026-06-03T06:00:00Z'), jobs: [dailyReport(dailyReportJob(execution, reportsFor({ ledger: createReportPostLedger(extraPool(DOWN_DATABASE)), poster })))] });
  await s.declare();
  const result = await s.runNow('daily-report', 'U0ONCALL');
  if (result.kind !== 'started') throw new Error(`not started: ${result.kind}`);
  await result.ended;
  expect(reportMessages().length - before).toBe(1);
  const [run] = await runsOf();
  expect(run).toMatchObject({ outcome: 'ok', detail: expect.stringMatching(/; posted again: the record of earlier posts could not be read \(.+\)$/) });
}, 60_000);

it('fails the run, saying nothing was posted and why, when no reports channel is configured', async () => {
  const before = slack.messages(REPORTS).length;
  const s = scheduler({ clock: () => new Date('2026-06-04T06:00:00Z'), jobs: [dailyReport(dailyReportJob(execution, reportsFor({ ledger: createReportPostLedger(pool) })))] });
  await s.declare();
  const result = await s.runNow('daily-report', 'U0ONCALL');
  if (result.kind !== 'started') throw new Error(`not started: ${result.kind}`);
  await result.ended;
  const [run] = await runsOf();
  expect(run).toMatchObject({ outcome: 'failed', detail: 'daily report made but nothing posted: no reports channel is configured (channels.reports, else channels.ops, in ACGS_CONFIG)' });
  expect(slack.messages(REPORTS)).toHaveLength(before);
  expect((await pool.query('SELECT 1 FROM schedule_report_posts')).rowCount).toBe(0);
}, 60_000);

it('still posts the rest of the report when its metrics history is really down, the report and the run record naming the missing part', async () => {
  const before = reportMessages().length;
  const downHistory = createSampleStore({ pool: extraPool(DOWN_DATABASE) });
  const s = scheduler({ clock: () => new Date('2026-06-05T06:00:00Z'), jobs: [dailyReport(dailyReportJob(execution, reportsFor({ ledger: createReportPostLedger(pool), poster, history: downHistory })))] });
  await s.declare();
  const result = await s.runNow('daily-report', 'U0ONCALL');
  if (result.kind !== 'started') throw new Error(`not started: ${result.kind}`);
  await result.ended;
  const posted = reportMessages().slice(before);
  expect(posted).toHaveLength(1);
  const text = blockText(posted[0]!.blocks);
  expect(text).toContain('metrics history unavailable');
  // The parts from other sources are there: the services' health (down here, so each one named).
  for (const service of SERVICE_NAMES) expect(text).toContain(service);
  const [run] = await runsOf();
  expect(run).toMatchObject({ outcome: 'ok', detail: expect.stringMatching(new RegExp(`^daily report posted to channel ${REPORTS} \\(message \\S+\\): .*; missing: .*metrics history unavailable: `)) });
}, 60_000);
