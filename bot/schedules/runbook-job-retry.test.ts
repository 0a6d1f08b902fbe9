/**
 * A scheduled backup whose replica died after starting the backup run: the job's retry (or a
 * second start for the same due time) follows that run instead of starting a second backup. The
 * real command path, authorization policy, trail and runbook engine on PostgreSQL; the backup
 * runbook is a one-step stand-in that holds until the test lets it end.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createCommandPathDependencies, type CommandPathDependencies } from '../command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../runbook-runs/runbook-engine.js';
import { createCommandRegistry } from '../../commands/index.js';
import { defineRunbook } from '../../runbooks/engine/definition.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { backupJob, SCHEDULER_ACTOR, withSchedulerActor } from './maintenance-jobs.js';
import type { RunTrigger, ScheduleRun } from './schedule-store.js';

let trail: TestTrail;
let engine: RunbookEngine;
let services: CommandPathDependencies;
/** Each held backup step's way to end, in the order they started. */
const holding: Array<() => void> = [];
/** Ends the oldest backup step holding, once one is. */
async function release(): Promise<void> {
  await expect.poll(() => holding.length, { timeout: 20_000 }).toBeGreaterThan(0);
  holding.shift()!();
}

const heldBackup = defineRunbook({
  source: import.meta.url,
  name: 'backup',
  summary: 'a backup that ends when the test says',
  level: 1,
  args: z.object({}),
  steps: [
    {
      id: 'write',
      kind: 'act',
      title: 'Write the backup',
      timeoutMs: 60_000,
      idempotent: true,
      run: () => new Promise<unknown>((resolve) => void holding.push(() => resolve({ written: true }))),
      dryRun: async () => ({ mode: 'description', text: 'would write the backup' }),
    },
  ],
});

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_job_retry' });
  engine = await startRunbookEngine({ pool: trail.pool, trail: trail.trail, runbooks: [heldBackup], ports: {}, executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 } });
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 1000 });
  services = { ...base, authorization: await testGate({ roles: withSchedulerActor({}) }), trail: trail.trail, runs: engine.runs };
}, 30_000);

afterAll(async () => {
  for (const end of holding.splice(0)) end();
  await engine?.stop();
  await trail?.close();
});

const jobRun = (trigger: RunTrigger, dueAt: Date): ScheduleRun => ({
  id: `${trigger}-${dueAt.getTime()}`,
  job: 'backup',
  scheduledFor: dueAt,
  dueAt,
  trigger,
  requestedBy: undefined,
  holder: 'replica-a',
  startedAt: new Date(),
  endedAt: undefined,
  outcome: 'running',
  detail: undefined,
});

const backupRuns = async () => (await engine.runs.activeAndRecent(50)).filter((run) => run.runbook === 'backup');

it('a retry for the same due time follows the backup the dead attempt started; the next due time starts its own', { timeout: 60_000 }, async () => {
  const job = backupJob({ registry: createCommandRegistry(), services }, 50);
  const dueAt = new Date(Date.now() - 1000);

  // The first attempt starts the backup, then its replica dies (its wait is cut short).
  const dying = new AbortController();
  const first = job({ signal: dying.signal, run: jobRun('schedule', dueAt) });
  await expect.poll(async () => (await backupRuns()).length, { timeout: 20_000 }).toBe(1);
  const [started] = await backupRuns();
  expect(started).toMatchObject({ requester: SCHEDULER_ACTOR.id, origin: 'schedule' });
  dying.abort();
  await expect(first).rejects.toThrow();

  const retry = job({ signal: new AbortController().signal, run: jobRun('retry', dueAt) });
  await expect.poll(() => engine.runs.get(started!.id).then(({ run }) => run.state), { timeout: 10_000 }).toBe('running');
  await release();
  await expect(retry).resolves.toMatch(new RegExp(`^backup run ${started!.id} \\(started .+ for this due time by an earlier attempt, followed rather than started again\\) succeeded$`));
  expect(await backupRuns()).toHaveLength(1);

  // Tomorrow's due time is after that run started: its own backup.
  const tomorrow = job({ signal: new AbortController().signal, run: jobRun('schedule', new Date(Date.now() + 61_000)) });
  await expect.poll(async () => (await backupRuns()).length, { timeout: 20_000 }).toBe(2);
  await release();
  const next = await tomorrow;
  expect(next).toMatch(/^backup run [0-9a-f-]+ succeeded$/);
  expect(next).not.toContain(started!.id);
});

it('a person asking for a backup now (`schedule run backup`) gets a new one even when the scheduled one ran', { timeout: 60_000 }, async () => {
  const before = (await backupRuns()).length;
  const job = backupJob({ registry: createCommandRegistry(), services }, 50);
  const asked = job({ signal: new AbortController().signal, run: jobRun('manual', new Date(Date.now() - 120_000)) });
  await expect.poll(async () => (await backupRuns()).length, { timeout: 20_000 }).toBe(before + 1);
  await release();
  await expect(asked).resolves.toMatch(/^backup run [0-9a-f-]+ succeeded$/);
});
