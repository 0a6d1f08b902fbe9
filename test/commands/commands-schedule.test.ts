/**
 * `schedule` and `schedule run <job>` through the command path every surface uses (parse,
 * authorize, record, run): the real authorization policy and trail, the scheduler on the real
 * PostgreSQL. A run asked by hand is recorded as the person's; an unknown job, a job turned off,
 * one still running and a person without the role run nothing.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { NO_REPORTS_CHANNEL, type ScheduledPostKey, type ScheduledPostOutcome } from '../../bot/reports/scheduled-report-posts.js';
import { commandSchedules, createScheduler, createScheduleStore, migrateScheduleStore, type ScheduledJob, type ScheduleRun, type Scheduler } from '../../bot/schedules/index.js';
import { backupJob, capacityReportJob, cleanupJob, dailyReportJob, SCHEDULER_ACTOR, weeklyPerformanceReportJob, weeklySecurityReportJob, withSchedulerActor } from '../../bot/schedules/maintenance-jobs.js';
import { BUILT_IN_JOBS } from '../../bot/schedules/scheduled-jobs.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { Reports } from '../../commands/ports.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';

const ONCALL = 'U0ONCALL';
/** In the workspace, with no role. */
const VIEWER = 'U0VIEWER';

let trail: TestTrail;
let scheduler: Scheduler;
let run: CommandRunner;
let services: CommandPathDependencies;
let release: () => void = () => undefined;
let backupRuns = 0;
const now = new Date('2026-03-28T23:10:00Z');

const jobs: ScheduledJob[] = [
  {
    name: 'backup',
    summary: 'the daily backup',
    cron: '0 2 * * *',
    timeoutMs: 5_000,
    missed: 'run-once',
    enabled: true,
    run: async () => {
      backupRuns++;
      await new Promise<void>((resolve) => (release = resolve));
      return 'backup 20260329 written';
    },
  },
  { name: 'cleanup', summary: 'removes old run records', cron: '0 4 * * *', timeoutMs: 5_000, missed: 'skip', enabled: false, run: async () => 'nothing' },
];

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_schedule_cmds' });
  await migrateScheduleStore(trail.pool);
  scheduler = createScheduler({
    store: createScheduleStore(trail.pool),
    jobs,
    timezone: 'Europe/Berlin',
    holder: 'test-replica',
    clock: () => now,
    onError: (error) => {
      throw error;
    },
  });
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 1000 });
  services = { ...base, authorization: await testGate({ roles: withSchedulerActor({ oncall: [ONCALL] }) }), trail: trail.trail, schedules: commandSchedules(scheduler, jobs, 'Europe/Berlin') };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  release();
  await scheduler?.stop();
  await trail?.close();
});

beforeEach(async () => {
  release();
  await scheduler.idle();
  backupRuns = 0;
  await trail.pool.query('TRUNCATE schedule_runs, schedule_jobs, schedule_report_posts');
  await scheduler.declare();
});

const text = (outcome: Awaited<ReturnType<CommandRunner>>) => renderText(outcome.document);

/** A report job's scheduled run, as the scheduler hands it over. */
const scheduledRun = (job: string): ScheduleRun => ({
  id: '7',
  job,
  scheduledFor: new Date('2026-03-29T05:00:00Z'),
  dueAt: new Date('2026-03-29T05:00:00Z'),
  trigger: 'schedule',
  requestedBy: undefined,
  holder: 'test-replica',
  startedAt: new Date('2026-03-29T05:00:01Z'),
  endedAt: undefined,
  outcome: 'running',
  detail: undefined,
});

it('lists the jobs with their next run in the config timezone, and one turned off as disabled', async () => {
  const listed = await run('schedule', { user: VIEWER });
  expect(listed.outcome).toBe('ok');
  // 02:00 on the spring-forward day does not exist in Berlin: the run is right after the jump.
  expect(text(listed)).toContain('`0 2 * * *`, next 2026-03-29 03:00 Europe/Berlin (01:00Z); never run yet');
  expect(text(listed)).toContain('disabled (schedules.cleanup.enabled in the config)');
});

it('runs a job now as the person, shows it running, and refuses a second run while the first goes on', async () => {
  const started = await run('schedule run backup');
  expect(started.outcome).toBe('info');
  expect(text(started)).toMatch(/Scheduled job backup: run \d+ started/);
  const again = await run('schedule run backup');
  expect(again.outcome).toBe('rejected');
  expect(text(again)).toContain('`backup` is already running');
  expect(text(await run('schedule'))).toContain(`last: running 2026-03-29 00:10 Europe/Berlin (23:10Z), by hand (${ONCALL})`);
  release();
  await scheduler.idle();
  expect(backupRuns).toBe(1);
  expect(text(await run('schedule'))).toContain(`last: ok 2026-03-29 00:10 Europe/Berlin (23:10Z), by hand (${ONCALL}): backup 20260329 written`);
  const recorded = await trail.pool.query<{ kind: string; actor: string }>("SELECT kind, actor FROM bot_audit_trail WHERE command = 'schedule run' AND kind = 'execution'");
  // Both asks were allowed and recorded; the handler refused the second.
  expect(recorded.rows).toEqual([
    { kind: 'execution', actor: ONCALL },
    { kind: 'execution', actor: ONCALL },
  ]);
});

it('names an unknown job with the ones there are, and runs nothing', async () => {
  const unknown = await run('schedule run bakup');
  expect(unknown.outcome).toBe('rejected');
  expect(text(unknown)).toContain('There is no scheduled job `bakup`; did you mean `backup`?');
  expect(text(unknown)).toContain('The jobs are `backup`, `cleanup`; nothing was run.');
  expect((await trail.pool.query('SELECT 1 FROM schedule_runs')).rowCount).toBe(0);
});

it('refuses a job turned off, a job name that is not a word, a missing one, and a person without the role', async () => {
  expect(text(await run('schedule run cleanup'))).toContain('turned off in the config');
  const bad = await run('schedule run "backup; rm -rf"');
  expect(bad.outcome).toBe('rejected');
  expect(text(bad)).toContain('a job name is a lower-case word');
  expect((await run('schedule run')).outcome).toBe('rejected');
  const refused = await run('schedule run backup', { user: VIEWER });
  expect(refused.outcome).toBe('rejected');
  expect((await trail.pool.query('SELECT 1 FROM schedule_runs')).rowCount).toBe(0);
  expect(backupRuns).toBe(0);
});

it('fails the scheduled backup, saying why, when the command path does not start it (no runbook engine here), and records it as the scheduler', async () => {
  const job = backupJob({ registry: createCommandRegistry(), services });
  await expect(job({ signal: new AbortController().signal, run: undefined as never })).rejects.toThrow(/^backup not started: /);
  const recorded = await trail.pool.query<{ actor: string; origin: string }>("SELECT actor, origin FROM bot_audit_trail WHERE command = 'backup' AND kind = 'execution'");
  expect(recorded.rows).toEqual([{ actor: SCHEDULER_ACTOR.id, origin: 'schedule' }]);
});

it.each([
  ['daily-report', { job: dailyReportJob, what: 'daily report', method: 'daily', title: 'Daily health report: 2 things need a human today' }],
  ['weekly-performance-report', { job: weeklyPerformanceReportJob, what: 'weekly performance report', method: 'weeklyPerformance', title: 'Weekly performance report' }],
  ['weekly-security-report', { job: weeklySecurityReportJob, what: 'weekly security report', method: 'security', title: 'Weekly security report' }],
  ['monthly-capacity-report', { job: capacityReportJob, what: 'capacity report', method: 'capacity', title: 'Monthly capacity report' }],
] as const)('the job %s runs its command as the scheduler, which posts the report, and fails saying why when nothing was posted', async (jobName, { job: reportJob, what, method, title }) => {
  // The command the job says it runs (the one scheduler.commands must hold) is the one it runs.
  const line = BUILT_IN_JOBS.find((job) => job.name === jobName)!.command;
  const asked: Array<{ method: string; post: boolean }> = [];
  const answer = (name: string, answered: string) => async (options: { post: boolean }) => {
    asked.push({ method: name, ...options });
    return { title: answered, tone: 'warn' as const, blocks: [] };
  };
  const reports: Reports = { daily: answer('daily', 'Daily health report: 2 things need a human today'), weeklyPerformance: answer('weeklyPerformance', 'Weekly performance report'), security: answer('security', 'Weekly security report'), capacity: answer('capacity', 'Monthly capacity report') };
  const keys: ScheduledPostKey[] = [];
  const reportsFor = (outcome: ScheduledPostOutcome) => (key: ScheduledPostKey) => (keys.push(key), { reports, outcome: () => outcome });
  const job = reportJob({ registry: createCommandRegistry(), services }, reportsFor({ kind: 'posted', channel: 'C0ACGSREPORTS', ts: '1765000000.000100', missing: [] }));
  expect(await job({ signal: new AbortController().signal, run: scheduledRun(jobName) })).toBe(`${what} posted to channel C0ACGSREPORTS (message 1765000000.000100): ${title}`);
  expect(asked).toEqual([{ method, post: true }]);
  expect(keys).toEqual([{ job: jobName, dueAt: new Date('2026-03-29T05:00:00Z'), runId: '7' }]);
  const unposted = reportJob({ registry: createCommandRegistry(), services }, reportsFor({ kind: 'not-posted', reason: NO_REPORTS_CHANNEL }));
  await expect(unposted({ signal: new AbortController().signal, run: scheduledRun(jobName) })).rejects.toThrow(`${what} made but nothing posted: no reports channel is configured (channels.reports, else channels.ops, in ACGS_CONFIG)`);
  const recorded = await trail.pool.query<{ actor: string; origin: string }>("SELECT actor, origin FROM bot_audit_trail WHERE command = $1 AND kind = 'execution'", [line]);
  expect(recorded.rows).toEqual([
    { actor: SCHEDULER_ACTOR.id, origin: 'schedule' },
    { actor: SCHEDULER_ACTOR.id, origin: 'schedule' },
  ]);
});

it("the scheduler acts with its own role, which holds its jobs' commands; a config that takes one away fails that job saying why", async () => {
  const answer = (title: string) => async () => ({ title, tone: 'ok' as const, blocks: [] });
  const reports: Reports = { daily: answer('Daily health report'), weeklyPerformance: answer('Weekly performance report'), security: answer('Weekly security report'), capacity: answer('Monthly capacity report') };
  // The scheduler's actor is in no person's role: only `scheduler` lets it run the report.
  expect(withSchedulerActor({ oncall: [ONCALL] })).toEqual({ oncall: [ONCALL], scheduler: [SCHEDULER_ACTOR.id] });
  const reportsFor = () => ({ reports, outcome: () => ({ kind: 'posted' as const, channel: 'C0ACGSREPORTS', ts: '1765000000.000100', missing: [] }) });
  const job = dailyReportJob({ registry: createCommandRegistry(), services }, reportsFor);
  await job({ signal: new AbortController().signal, run: scheduledRun('daily-report') });
  const recorded = await trail.pool.query<{ details: string }>("SELECT coalesce(details::text, '') AS details FROM bot_audit_trail WHERE command = 'report daily' AND actor = $1 ORDER BY sequence DESC LIMIT 3", [SCHEDULER_ACTOR.id]);
  expect(recorded.rows.map((row) => row.details).join('\n')).toContain('your role scheduler may run at once');

  const withoutReport = await testGate({ roles: withSchedulerActor({ oncall: [ONCALL] }), overrides: { scheduler: { commands: ['backup'] } } });
  const refusedJob = dailyReportJob({ registry: createCommandRegistry(), services: { ...services, authorization: withoutReport } }, reportsFor);
  await expect(refusedJob({ signal: new AbortController().signal, run: scheduledRun('daily-report') })).rejects.toThrow(/^daily report not made: .*the oncall or admins role may request; your roles: scheduler\./);
  await expect(testGate({ roles: {}, overrides: { scheduler: { commands: ['report yearly'] } } })).rejects.toThrow(/authorization\.scheduler\.commands\[0\]: "report yearly" is not a command under commands/);
});

it('cleanup removes ended run records and report posts older than 90 days and keeps newer ones', async () => {
  const store = createScheduleStore(trail.pool);
  for (const [startedAt, outcome] of [['2025-12-01T02:00:00Z', 'ok'], ['2026-03-01T02:00:00Z', 'failed']] as const) {
    await trail.pool.query("INSERT INTO schedule_runs (job, scheduled_for, trigger, holder, started_at, ended_at, outcome) VALUES ('backup', $1, 'schedule', 'r', $1, $1, $2)", [startedAt, outcome]);
  }
  for (const dueAt of ['2025-12-01T05:00:00Z', '2026-03-01T05:00:00Z']) {
    await trail.pool.query("INSERT INTO schedule_report_posts (job, due_at, channel, run_id, ts, posted_at) VALUES ('daily-report', $1, 'C0ACGSREPORTS', '1', '1.1', $1)", [dueAt]);
  }
  expect(await cleanupJob(store, () => now)({ signal: new AbortController().signal, run: undefined as never })).toBe('removed 1 run record(s) older than 90 days');
  expect((await trail.pool.query('SELECT started_at FROM schedule_runs')).rows).toEqual([{ started_at: new Date('2026-03-01T02:00:00Z') }]);
  // The report jobs' ledger goes with the runs it answers for.
  expect((await trail.pool.query('SELECT due_at FROM schedule_report_posts')).rows).toEqual([{ due_at: new Date('2026-03-01T05:00:00Z') }]);
});
