/**
 * The scheduler on the real PostgreSQL with an injected clock: once per scheduled time across
 * two replicas and across DST changes, a missed time run once after a restart (or skipped), the
 * overdue alert through the real alert store, overlap, timeout and failure recorded.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import type { SchedulerEvent } from './scheduler.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../alerts/index.js';
import { createScheduleStore, migrateScheduleStore } from './schedule-store.js';
import { createScheduler, type ScheduledJob, type Scheduler, type SchedulerOptions } from './scheduler.js';

let db: TestDatabase;
let poolA: pg.Pool;
let poolB: pg.Pool;
let alerts: AlertStore;
const started: Scheduler[] = [];

beforeAll(async () => {
  db = await createTestDatabase('acgs_schedules');
  poolA = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-schedules-a' });
  poolB = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-schedules-b' });
  expect(await migrateScheduleStore(poolA)).toEqual(['1767400000000_schedules', '1767500000000_schedule_retries', '1767600000000_schedule_report_posts']);
  expect(await migrateScheduleStore(poolB)).toEqual([]);
  await migrateAlertStore(poolA);
  alerts = createAlertStore({ pool: poolA });
});
afterAll(async () => {
  for (const scheduler of started) await scheduler.stop();
  await poolA?.end();
  await poolB?.end();
  await db?.drop();
});
beforeEach(async () => {
  for (const scheduler of started.splice(0)) await scheduler.stop();
  await poolA.query('TRUNCATE schedule_runs, schedule_jobs, alerts, alert_reports CASCADE');
});

/** A clock the test moves. */
function testClock(iso: string) {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (next: string | Date) => void (now = new Date(next)), advance: (ms: number) => void (now = new Date(now.getTime() + ms)) };
}

function job(name: string, cron: string, run: ScheduledJob['run'], more: Partial<ScheduledJob> = {}): ScheduledJob {
  return { name, summary: name, cron, timeoutMs: 5_000, missed: 'run-once', enabled: true, run, ...more };
}

function scheduler(options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'jobs' | 'clock'>, pool = poolA): Scheduler {
  const made = createScheduler({
    store: createScheduleStore(pool),
    timezone: 'UTC',
    holder: `replica-${started.length}`,
    alerts,
    onError: (error, what) => {
      throw new Error(`${what}: ${(error as Error).message}`);
    },
    ...options,
  });
  started.push(made);
  return made;
}

async function runsOf(name: string) {
  return (await createScheduleStore(poolA).runs(name, 100)).reverse();
}

describe('across a DST change (Europe/Berlin), with an injected clock', () => {
  for (const day of ['2026-03-29', '2026-10-25']) {
    it(`runs a 02:30 job and a 02:00 job once each on ${day}`, async () => {
      const clock = testClock(`${day}T00:00:00+02:00`);
      clock.advance(-4 * 3_600_000);
      const ran: string[] = [];
      const s = scheduler({
        clock: clock.now,
        timezone: 'Europe/Berlin',
        lateAfterMs: 20 * 60_000,
        jobs: [job('half-past-two', '30 2 * * *', async () => void ran.push('02:30')), job('two', '0 2 * * *', async () => void ran.push('02:00'))],
      });
      await s.declare();
      // Every 10 minutes through the night, the DST hour included.
      for (let step = 0; step < 6 * 12; step++) {
        clock.advance(10 * 60_000);
        await s.wake();
      }
      await s.idle();
      expect(ran.sort()).toEqual(['02:00', '02:30']);
      const times = [...(await runsOf('two')), ...(await runsOf('half-past-two'))].map((run) => [run.job, run.scheduledFor.toISOString(), run.outcome]);
      expect(times).toEqual(
        day === '2026-03-29'
          ? // Both in the gap: right after the jump to 03:00 CEST.
            [
              ['two', '2026-03-29T01:00:00.000Z', 'ok'],
              ['half-past-two', '2026-03-29T01:00:00.000Z', 'ok'],
            ]
          : // In the first of the two 02:00-03:00 hours (CEST), never again in the second.
            [
              ['two', '2026-10-25T00:00:00.000Z', 'ok'],
              ['half-past-two', '2026-10-25T00:30:00.000Z', 'ok'],
            ],
      );
    });
  }
});

it('runs a scheduled time once when two replicas on one database wake at once', async () => {
  const clock = testClock('2026-06-01T01:59:00Z');
  let runs = 0;
  const jobs = [job('backup', '0 2 * * *', async () => void runs++)];
  const a = scheduler({ clock: clock.now, jobs });
  const b = scheduler({ clock: clock.now, jobs }, poolB);
  await Promise.all([a.declare(), b.declare()]);
  clock.set('2026-06-01T02:00:01Z');
  for (let round = 0; round < 5; round++) await Promise.all([a.wake(), b.wake(), a.wake(), b.wake()]);
  await Promise.all([a.idle(), b.idle()]);
  expect(runs).toBe(1);
  const recorded = await runsOf('backup');
  expect(recorded.map((run) => [run.trigger, run.outcome, run.scheduledFor.toISOString()])).toEqual([['schedule', 'ok', '2026-06-01T02:00:00.000Z']]);
  expect((await a.jobs())[0]).toMatchObject({ name: 'backup', nextRunAt: new Date('2026-06-02T02:00:00Z'), lastRun: { outcome: 'ok' } });
});

it('runs a job missed while the bot was down once on start, skips one that declares skip, and raises then resolves the overdue alert', async () => {
  const clock = testClock('2026-06-01T01:00:00Z');
  const ran: string[] = [];
  const jobs = [job('backup', '0 2 * * *', async () => void ran.push('backup')), job('cleanup', '0 4 * * *', async () => void ran.push('cleanup'), { missed: 'skip' })];
  await scheduler({ clock: clock.now, jobs }).declare();
  // Down for three days; a new process starts at 10:00.
  clock.set('2026-06-04T10:00:00Z');
  const restarted = scheduler({ clock: clock.now, jobs });
  await restarted.declare();
  await restarted.wake();
  await restarted.idle();
  await restarted.wake();
  await restarted.idle();
  expect(ran).toEqual(['backup']);
  expect((await runsOf('backup')).map((run) => [run.trigger, run.outcome, run.scheduledFor.toISOString()])).toEqual([['catch-up', 'ok', '2026-06-01T02:00:00.000Z']]);
  expect((await runsOf('cleanup')).map((run) => [run.outcome, run.scheduledFor.toISOString()])).toEqual([['skipped', '2026-06-01T04:00:00.000Z']]);
  expect((await runsOf('cleanup'))[0]!.detail).toMatch(/missed: due at 2026-06-01T04:00:00.000Z/);
  const listed = await restarted.jobs();
  expect(listed.map((record) => [record.name, record.nextRunAt?.toISOString()])).toEqual([
    ['backup', '2026-06-05T02:00:00.000Z'],
    ['cleanup', '2026-06-05T04:00:00.000Z'],
  ]);
  // The backup owed a run for 80 h: the alert fired, and its catch-up run resolved it.
  const alert = await alerts.byFingerprint('monitor/ScheduledJobOverdue/job=backup');
  expect(alert).toMatchObject({ rule: 'ScheduledJobOverdue', state: 'resolved', labels: { alertname: 'ScheduledJobOverdue', job: 'backup' } });
  expect(alert!.annotations.summary).toMatch(/backup has not run since it was due at 2026-06-01T02:00:00.000Z \(80 h ago\)/);
  expect(await alerts.byFingerprint('monitor/ScheduledJobOverdue/job=cleanup')).toBeUndefined();
});

it('raises the overdue alert for a daily job whose runs fail, 26 h after its last good run, once', async () => {
  const clock = testClock('2026-06-01T01:59:00Z');
  let fail = false;
  const s = scheduler({
    clock: clock.now,
    jobs: [
      job('backup', '0 2 * * *', async () => {
        if (fail) throw new Error('disk full');
      }),
    ],
  });
  await s.declare();
  for (const [at, failing] of [['2026-06-01T02:00:00Z', false], ['2026-06-02T02:00:00Z', true], ['2026-06-02T03:59:00Z', true]] as const) {
    fail = failing;
    clock.set(at);
    await s.wake();
    await s.idle();
  }
  expect(await alerts.byFingerprint('monitor/ScheduledJobOverdue/job=backup')).toBeUndefined();
  clock.set('2026-06-02T04:01:00Z');
  await s.wake();
  const alert = await alerts.byFingerprint('monitor/ScheduledJobOverdue/job=backup');
  expect(alert).toMatchObject({ state: 'firing', firedAt: new Date('2026-06-02T04:00:00Z') });
  expect(alert!.annotations.summary).toMatch(/backup has not run since it was due at 2026-06-02T02:00:00.000Z \(2 h ago\); its last good run started 2026-06-01T02:00:00.000Z \(26 h ago\)/);
  // Raised once, not at every wake.
  await s.wake();
  expect((await poolA.query('SELECT count(*)::int AS n FROM alert_reports')).rows[0].n).toBe(1);
  expect((await runsOf('backup')).map((run) => [run.outcome, run.detail ?? null])).toEqual([
    ['ok', null],
    ['failed', 'disk full'],
  ]);
});

it('never runs two runs of one job at once: the scheduled time that comes while a run goes on is recorded as skipped', async () => {
  const clock = testClock('2026-06-01T01:59:00Z');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let runs = 0;
  const s = scheduler({ clock: clock.now, jobs: [job('backup', '0 2 * * *', async () => {
    runs++;
    await gate;
  })] });
  await s.declare();
  const manual = await s.runNow('backup', 'U0ONCALL');
  expect(manual.kind).toBe('started');
  clock.set('2026-06-01T02:00:00Z');
  await s.wake();
  const again = await s.runNow('backup', 'U0ONCALL');
  expect(again).toMatchObject({ kind: 'overlap', running: { trigger: 'manual' } });
  release();
  await s.idle();
  expect(runs).toBe(1);
  const recorded = await runsOf('backup');
  expect(recorded.map((run) => [run.trigger, run.outcome, run.requestedBy ?? null])).toEqual([
    ['manual', 'ok', 'U0ONCALL'],
    ['schedule', 'skipped', null],
    ['manual', 'skipped', 'U0ONCALL'],
  ]);
  expect(recorded[1]!.detail).toMatch(new RegExp(`overlap: run ${recorded[0]!.id} \\(started .*\\) is still running`));
  // The skipped time is done with: the job moved on to the next day.
  expect((await s.jobs())[0]!.nextRunAt).toEqual(new Date('2026-06-02T02:00:00Z'));
});

it('records a job that times out (its signal aborted) and one that throws as failed runs with their error', async () => {
  const clock = testClock('2026-06-01T10:00:00Z');
  let aborted: unknown;
  const s = scheduler({
    clock: clock.now,
    jobs: [
      job('slow', '0 2 * * *', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((aborted = signal.reason)))), { timeoutMs: 100 }),
      job('broken', '0 3 * * *', async () => {
        throw new TypeError('cannot read the backup directory');
      }),
    ],
  });
  await s.declare();
  const slow = await s.runNow('slow', 'U0ONCALL');
  const broken = await s.runNow('broken', 'U0ONCALL');
  await s.idle();
  expect(slow.kind).toBe('started');
  expect(broken.kind).toBe('started');
  expect(aborted).toBeInstanceOf(Error);
  expect((await runsOf('slow')).map((run) => [run.outcome, run.detail])).toEqual([['timed-out', 'timed out after 100 ms']]);
  expect((await runsOf('broken')).map((run) => [run.outcome, run.detail])).toEqual([['failed', 'cannot read the backup directory']]);
  expect((await s.jobs()).find((record) => record.name === 'slow')!.lastRun!.endedAt).toEqual(clock.now());
});

it('runs nothing for a job it does not know or one the config turned off', async () => {
  const clock = testClock('2026-06-01T10:00:00Z');
  let runs = 0;
  const s = scheduler({ clock: clock.now, jobs: [job('backup', '0 2 * * *', async () => void runs++), job('cleanup', '0 4 * * *', async () => void runs++, { enabled: false })] });
  await s.declare();
  expect(await s.runNow('bakup', 'U0ONCALL')).toEqual({ kind: 'unknown', known: ['backup', 'cleanup'] });
  expect(await s.runNow('cleanup', 'U0ONCALL')).toEqual({ kind: 'disabled' });
  clock.set('2026-06-02T04:00:00Z');
  await s.wake();
  await s.idle();
  expect(runs).toBe(1);
  expect((await poolA.query('SELECT job FROM schedule_runs')).rows).toEqual([{ job: 'backup' }]);
  expect((await s.jobs()).find((record) => record.name === 'cleanup')).toMatchObject({ enabled: false, nextRunAt: undefined });
});

it('marks a run whose replica stopped renewing its lease as abandoned, and then runs the job again', async () => {
  const clock = testClock('2026-06-01T10:00:00Z');
  const store = createScheduleStore(poolA);
  const s = scheduler({ clock: clock.now, jobs: [job('backup', '0 2 * * *', async () => 'done')] });
  await s.declare();
  // A replica that claimed a run and died: its lease (100 ms) runs out.
  const claim = await store.claim({ job: 'backup', scheduledFor: clock.now(), trigger: 'manual', holder: 'dead-replica', startedAt: clock.now(), leaseMs: 100 });
  expect(claim.kind).toBe('claimed');
  await poolA.query('SELECT pg_sleep(0.15)');
  const result = await s.runNow('backup', 'U0ONCALL');
  expect(result.kind).toBe('started');
  await s.idle();
  expect((await runsOf('backup')).map((run) => [run.holder, run.outcome, run.detail])).toEqual([
    ['dead-replica', 'abandoned', expect.stringMatching(/stopped renewing its lease/)],
    [expect.stringMatching(/^replica-/), 'ok', 'done'],
  ]);
});

it('stops a job whose run was marked abandoned while it went on (its lease lost), so it does not run beside the retry', async () => {
  const clock = testClock('2026-06-01T10:00:00Z');
  let signalled: unknown;
  // A job that never looks at its signal: it must still end when the lease is lost.
  const stuck: ScheduledJob['run'] = ({ signal }) => {
    signal.addEventListener('abort', () => (signalled = signal.reason), { once: true });
    return new Promise(() => undefined);
  };
  const events: SchedulerEvent[] = [];
  const s = scheduler({ clock: clock.now, leaseMs: 300, onEvent: (event) => void events.push(event), jobs: [job('backup', '0 2 * * *', stuck)] });
  await s.declare();
  expect((await s.runNow('backup', 'U0ONCALL')).kind).toBe('started');
  // Another replica found its lease run out (this one stalled) and marked it abandoned.
  await poolA.query("UPDATE schedule_runs SET outcome = 'abandoned', ended_at = clock_timestamp(), detail = 'its replica stopped renewing its lease', lease_expires_at = NULL WHERE job = 'backup'");
  await s.idle();
  expect(String(signalled)).toMatch(/its lease ran out \(the run was marked abandoned while it went on here\), so it stopped/);
  expect(events.find((event) => event.kind === 'ended')).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/its lease ran out/) });
  // The record stays as the other replica wrote it.
  expect((await runsOf('backup')).map((run) => [run.outcome, run.detail])).toEqual([['abandoned', 'its replica stopped renewing its lease']]);
});

it('detects a scheduled run its dead replica abandoned once its lease ran out, retries a run-once job once, and raises the overdue alert once', async () => {
  const clock = testClock('2026-06-01T01:59:00Z');
  // Replica A has its own pool: ending it is the replica dying (no more renewals, no end recorded).
  const poolDying = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-schedules-dying' });
  const hang: ScheduledJob['run'] = ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));
  const dying = scheduler({ clock: clock.now, leaseMs: 300, onError: () => undefined, jobs: [job('backup', '0 2 * * *', hang), job('cleanup', '0 2 * * *', hang, { missed: 'skip' })] }, poolDying);
  await dying.declare();
  clock.set('2026-06-01T02:00:00Z');
  await dying.wake();
  expect((await runsOf('backup')).map((run) => run.outcome)).toEqual(['running']);
  await poolDying.end();
  // Its leases run out by the database's clock: wait for that, not for a fixed time.
  await expect.poll(async () => (await poolA.query("SELECT count(*)::int AS n FROM schedule_runs WHERE outcome = 'running' AND lease_expires_at > clock_timestamp()")).rows[0].n, { timeout: 5_000 }).toBe(0);
  const { rows: leases } = await poolA.query<{ job: string; lease_expires_at: Date }>('SELECT job, lease_expires_at FROM schedule_runs ORDER BY job');

  // Two live replicas wake 2.5 h after the time: more than the 2 h a job may owe its run.
  const ran: string[] = [];
  const events: SchedulerEvent[] = [];
  const live = (pool: pg.Pool) =>
    scheduler({ clock: clock.now, onEvent: (event) => void events.push(event), jobs: [job('backup', '0 2 * * *', async () => void ran.push('backup')), job('cleanup', '0 2 * * *', async () => void ran.push('cleanup'), { missed: 'skip' })] }, pool);
  const [b, c] = [live(poolA), live(poolB)];
  clock.set('2026-06-01T04:30:00Z');
  await Promise.all([b.wake(), c.wake()]);
  await Promise.all([b.idle(), c.idle()]);
  await Promise.all([b.wake(), c.wake()]);
  await Promise.all([b.idle(), c.idle()]);

  expect(ran).toEqual(['backup']);
  const backupRuns = await runsOf('backup');
  expect(backupRuns.map((run) => [run.trigger, run.outcome])).toEqual([
    ['schedule', 'abandoned'],
    ['retry', 'ok'],
  ]);
  // Recorded with its time: when its lease ran out, whichever replica noticed.
  expect(backupRuns[0]!.endedAt).toEqual(leases.find((lease) => lease.job === 'backup')!.lease_expires_at);
  expect(backupRuns[0]!.detail).toMatch(/stopped renewing its lease/);
  expect(backupRuns[1]!.detail).toBeUndefined();
  // A job that skips missed times waits for its next one.
  expect((await runsOf('cleanup')).map((run) => [run.trigger, run.outcome])).toEqual([['schedule', 'abandoned']]);
  // The backup's overdue alert: raised once between the two replicas, then resolved by the retry.
  expect(events.filter((event) => event.kind === 'overdue' && event.job === 'backup')).toHaveLength(1);
  expect(await alerts.byFingerprint('monitor/ScheduledJobOverdue/job=backup')).toMatchObject({ state: 'resolved', firedAt: new Date('2026-06-01T04:00:00Z') });
  expect((await b.jobs()).find((record) => record.name === 'backup')).toMatchObject({ owedSince: undefined, overdueSince: undefined, nextRunAt: new Date('2026-06-02T02:00:00Z') });
});

it("wakes by its own timer at a job's next time and runs it, and stops the timer on stop", async () => {
  // A clock 300 ms before a minute's start, running at real speed: the timer's sleep is real.
  const realNow = Date.now();
  const offset = new Date('2026-06-01T01:59:59.700Z').getTime() - realNow;
  let runs = 0;
  let ended!: () => void;
  const ran = new Promise<void>((resolve) => (ended = resolve));
  const s = scheduler({
    clock: () => new Date(Date.now() + offset),
    jobs: [job('minutely', '* * * * *', async () => void runs++)],
    onEvent: (event) => {
      if (event.kind === 'ended') ended();
    },
  });
  await s.declare();
  const timer = s.startTimer();
  await ran;
  await timer.stop();
  await s.idle();
  expect(runs).toBe(1);
  expect((await runsOf('minutely')).map((run) => [run.trigger, run.outcome, run.scheduledFor.toISOString()])).toEqual([['schedule', 'ok', '2026-06-01T02:00:00.000Z']]);
});
