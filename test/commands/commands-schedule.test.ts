/**
 * `schedule` and `schedule run <job>` through the command path every surface uses (parse,
 * authorize, record, run): the real authorization policy and trail, the scheduler on the real
 * PostgreSQL. A run asked by hand is recorded as the person's; an unknown job, a job turned off,
 * one still running and a person without the role run nothing.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { commandSchedules, createScheduler, createScheduleStore, migrateScheduleStore, type ScheduledJob, type Scheduler } from '../../bot/schedules/index.js';
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
  const services: CommandPathDependencies = { ...base, authorization: await testGate({ roles: { oncall: [ONCALL] } }), trail: trail.trail, schedules: commandSchedules(scheduler, jobs, 'Europe/Berlin') };
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
  await trail.pool.query('TRUNCATE schedule_runs, schedule_jobs');
  await scheduler.declare();
});

const text = (outcome: Awaited<ReturnType<CommandRunner>>) => renderText(outcome.document);

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
