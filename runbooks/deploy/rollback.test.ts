/**
 * The rollback runbook on the embedded stack of `npm start` (the four real services, PGlite) on
 * spare loopback ports, releases from the fixture repository (test/testing/release-repo.ts), the
 * deployment records and the run store on the real PostgreSQL, and a real RunExecutor. 9.0.0 then
 * 9.1.0 are deployed through the Stack and recorded as a deploy run records them; `rollback` puts
 * 9.0.0 back, taking the deploy lock over from a deploy run that is still running.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDecisionTraffic } from './testing/decision-traffic.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../../services/stack/local/local-services.js';
import { createLocalStack } from '../../services/stack/local/local-stack.js';
import { createLocalReleaseBuilder } from '../../services/stack/releases/local-releases.js';
import type { PreparedRelease, ReleaseBuilder } from '../../services/stack/releases/release.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import type { Stack } from '../../services/stack/stack.js';
import { unusedLoopbackPort } from '../../test/testing/loopback.js';
import { createReleaseRepo, type ReleaseRepo } from '../../test/testing/release-repo.js';
import { RunbookInputError } from '../engine/errors.js';
import { defineRunbook } from '../engine/definition.js';
import type { BackupPorts, DeploymentNotice, DeploymentRecords, StepPorts } from '../engine/ports.js';
import { createRunbookRegistry } from '../engine/registry.js';
import { validateRequest } from '../engine/requests.js';
import { createRunExecutor, type RunExecutor } from '../engine/run-executor.js';
import { FINAL_RUN_STATES, type RunRecord } from '../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../engine/testing/database.js';
import { DEFAULT_DEPLOY_SETTINGS } from './deploy-settings.js';
import { deployRunbooks } from './index.js';
import { createReleaseRecords, migrateReleaseRecords } from './release-records.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { z } from 'zod';
import { formatTimestamp } from '../../commands/format.js';

/** Stands in for a deploy run in its rollout: it holds the lock until it is aborted. */
const heldDeploy = defineRunbook({
  source: import.meta.url,
  name: 'held-deploy',
  summary: 'A deploy that takes the lock and then waits, for the rollback to take the lock over from',
  level: 1,
  args: z.object({}).strict(),
  steps: [
    {
      id: 'lock',
      kind: 'act',
      title: 'Take the deploy lock',
      timeoutMs: 30_000,
      idempotent: true,
      run: (context) => context.ports.deployments!.acquire(context.runId, 'deploy', context.requester),
      dryRun: async () => ({ mode: 'description', text: 'takes the lock' }),
    },
    {
      id: 'roll-out',
      kind: 'act',
      title: 'Roll out, slowly',
      timeoutMs: 10 * 60_000,
      idempotent: true,
      run: (context) => new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({ stopped: true }), { once: true })),
      dryRun: async () => ({ mode: 'description', text: 'waits' }),
    },
  ],
});

/**
 * Two samples: the watch runs for real, but a loaded test machine's p99 (an engine under tsx, just
 * started) is no production figure, so no verdict is drawn from it here; the slow release below
 * draws one on purpose.
 */
const SHORT_WATCH = { hotfixWatchMs: 2000, watchEveryMs: 1000, healthTimeoutMs: 60_000 };

let repo: ReleaseRepo;
let stateDir: string;
let services: LocalServices | undefined;
let stack: Stack;
let builder: ReleaseBuilder;
let t: RunbookTestDatabase;
let records: DeploymentRecords;
let ports: StepPorts;
let executor: RunExecutor;
const releases: Record<string, PreparedRelease> = {};
const notices: DeploymentNotice[] = [];

async function healthVersion(service: ServiceName): Promise<string> {
  const response = await fetch(`${services!.endpoints[service]}/health`);
  return ((await response.json()) as { version: string }).version;
}

/** Deploys a release to every service through the Stack and records it as a deploy run would. */
async function deployByHand(version: string): Promise<string> {
  const release = releases[version]!;
  const runId = randomUUID();
  for (const service of ROLLOUT_ORDER) {
    await stack.deploy(service, release.artifacts[service], { timeoutMs: 60_000 });
    await records.record({ service, version, ref: release.ref, commit: release.commit, artifact: release.artifacts[service], kind: 'deploy', runId, requestedBy: 'U0DEPLOYER', outcome: 'live' });
  }
  return runId;
}

async function waitFor(runId: string, done: (run: RunRecord) => boolean, timeoutMs = 240_000): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await executor.get(runId);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.state} (${run.reason ?? 'no reason'})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const ended = (run: RunRecord) => (FINAL_RUN_STATES as readonly string[]).includes(run.state) || run.state === 'needs_decision';

async function runCount(): Promise<number> {
  return Number((await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM runbook_runs')).rows[0]!.n);
}

async function refusal(runbook: string, args: unknown, withPorts: StepPorts = ports): Promise<RunbookInputError> {
  const before = await runCount();
  const error = await validateRequest(createRunbookRegistry([...deployRunbooks]), runbook, args, withPorts).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RunbookInputError);
  // Refused through the executor too, and nothing recorded either way.
  await expect(executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).rejects.toBeInstanceOf(RunbookInputError);
  expect(await runCount()).toBe(before);
  return error as RunbookInputError;
}

beforeAll(async () => {
  repo = createReleaseRepo();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-rollback-state-'));
  const servicePorts = {
    'sandbox-controller': await unusedLoopbackPort(),
    'evolution-oversight': await unusedLoopbackPort(),
    'audit-engine': await unusedLoopbackPort(),
    'policy-engine': await unusedLoopbackPort(),
  };
  builder = createLocalReleaseBuilder({ stateDir, source: createReleaseSource({ repo: repo.dir }) });
  for (const version of ['9.0.0', '9.1.0', '9.3.0-slow']) releases[version] = await builder.prepare(await builder.resolve(version));
  services = await startLocalServices({ stateDir, ports: servicePorts, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  for (const process of services.processes) expect(await process.waitUntilHealthy(60_000)).toBe(true);
  stack = createLocalStack({ processes: services.processes, stateDir });

  t = await runbookTestDatabase();
  await migrateReleaseRecords(t.pool);
  records = createReleaseRecords({ pool: t.pool, stack });
  ports = {
    commands: createCommandDependencies({ endpoints: services.endpoints, adminToken: services.adminToken, serviceToken: services.serviceToken, stack, checkTimeoutMs: 3000 }),
    deployments: records,
    releases: builder,
    notices: {
      async deploymentNotice(notice) {
        notices.push(notice);
        return { summary: 'posted to C0DEPLOYS (test)', delivered: 1, attempted: 1, targets: [{ kind: 'channel', target: 'C0DEPLOYS', delivered: true }] };
      },
    },
    deploySettings: { ...DEFAULT_DEPLOY_SETTINGS, ...SHORT_WATCH },
  };
  executor = createRunExecutor({ store: t.store, registry: createRunbookRegistry([...deployRunbooks, heldDeploy]), ports, leaseMs: 10_000, renewEveryMs: 1000 });
}, 300_000);

afterAll(async () => {
  await executor?.stop();
  await t?.close();
  await stack?.close();
  await services?.stop();
  repo?.remove();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe('rollback: refused before anything is recorded', () => {
  it('with no deployment on record: nothing to roll back to', async () => {
    const error = await refusal('rollback', {});
    expect(error.code).toBe('refused-by-runbook');
    expect(error.message).toBe(`Nothing to roll back to: ${ROLLOUT_ORDER.map((service) => `${service} has no deployment in the bot's records`).join('; ')}.`);
    expect(error.hint).toContain('--to <version>');
  });

  it('a service that has only ever run one version, an unknown service, an unknown version, a backup without rollback-restore', async () => {
    await deployByHand('9.0.0');
    expect((await refusal('rollback', { service: 'policy-engine' })).message).toBe("Nothing to roll back to: policy-engine has no previous version in the bot's records (it has only ever run 9.0.0 here).");
    const unknown = await refusal('rollback', { service: 'web' });
    expect(unknown.code).toBe('bad-arguments');
    expect(unknown.message).toContain(`the service to roll back is one of ${SERVICE_NAMES.join(', ')}`);
    const version = await refusal('rollback', { to: '7.7.7' });
    expect(version.code).toBe('refused-by-runbook');
    expect(version.message).toMatch(/7\.7\.7/);
    const backup = await refusal('rollback', { backup: '20261206T152000Z-a1b2c3' });
    expect(backup.message).toContain('restoring a backup with the rollback is `rollback-restore` (Level 3)');
  });

  it('rollback-restore: a malformed backup id, and one that is not there', async () => {
    const malformed = await refusal('rollback-restore', { backup: 'yesterday' });
    expect(malformed.code).toBe('bad-arguments');
    expect(malformed.message).toContain('a backup id looks like 20261206T152000Z-a1b2c3');
    const root = mkdtempSync(join(tmpdir(), 'acgs-rollback-backups-'));
    try {
      const withBackups = { ...ports, backup: { root } as BackupPorts };
      const error = await validateRequest(createRunbookRegistry([...deployRunbooks]), 'rollback-restore', { backup: '20261206T152000Z-a1b2c3' }, withBackups).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RunbookInputError);
      expect((error as RunbookInputError).message).toBe(`There is no backup "20261206T152000Z-a1b2c3" in ${root}.`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('rollback: 9.1.0 back to 9.0.0', () => {
  let deployRun: string;

  beforeAll(async () => {
    deployRun = await deployByHand('9.1.0');
    for (const service of ROLLOUT_ORDER) expect(await healthVersion(service)).toBe('9.1.0');
  }, 300_000);

  it('plans each service from what it runs to its previous version, in the reverse of the rollout order', async () => {
    const plan = await executor.plan('rollback', {}, { requester: 'U0ONCALL', origin: 'test' });
    const step = plan.steps.find((entry) => entry.id === 'plan')!;
    const commit = releases['9.0.0']!.commit;
    expect(step.dryRun.mode).toBe('read-only-check');
    expect(step.dryRun.text).toBe(`in this order (the reverse of the rollout): ${[...ROLLOUT_ORDER].reverse().map((service) => `${service} 9.1.0 → 9.0.0 (v9.0.0 at ${commit.slice(0, 12)})`).join(', ')}`);
    expect(step.dryRun.target).toBe(ROLLOUT_ORDER.map((service) => `${service} 9.1.0 → 9.0.0@${commit}`).join(', '));
    expect(plan.steps.find((entry) => entry.id === 'take-over-lock')!.dryRun.text).toBe('the deploy lock is free; would take it');
    expect(plan.level).toBe(2);
  });

  it('takes the lock over from a deploy still running, puts 9.0.0 back, records it, verifies, watches, tells, frees the lock', async () => {
    const held = await executor.submit({ runbook: 'held-deploy', args: {}, requester: 'U0DEPLOYER', origin: 'test' });
    await executor.scanNow();
    for (let tries = 0; !(await records.lock()); tries += 1) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const since = formatTimestamp((await records.lock())!.since);
    const dry = await executor.plan('rollback', {}, { requester: 'U0ONCALL', origin: 'test' });
    expect(dry.steps[0]!.dryRun.text).toBe(`would take the deploy lock over from U0DEPLOYER's deploy run ${held.id} (holding it since ${since})`);

    const submitted = await executor.submit({ runbook: 'rollback', args: {}, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    const run = await waitFor(submitted.id, ended);
    expect(run.state, run.reason ?? '').toBe('succeeded');
    const lockWords = `The deploy lock was taken over from U0DEPLOYER's deploy run ${held.id} (holding it since ${since}).`;
    expect(run.reason).toBe(`Rolled back: ${ROLLOUT_ORDER.map((service) => `${service} runs 9.0.0`).join(', ')}. ${lockWords}`);
    const lockStep = (await t.store.attempts(run.id)).find((attempt) => attempt.stepId === 'take-over-lock' && attempt.outcome === 'done');
    expect(lockStep!.output).toMatchObject({ summary: `took the deploy lock over from U0DEPLOYER's deploy run ${held.id} (holding it since ${since})`, took: { runId: held.id } });

    for (const service of ROLLOUT_ORDER) {
      expect(await healthVersion(service)).toBe('9.0.0');
      expect(await stack.running(service)).toEqual(releases['9.0.0']!.artifacts[service]);
      const [now, replaced] = await records.history(service, 2);
      expect(now).toMatchObject({ version: '9.0.0', kind: 'rollback', outcome: 'live', runId: run.id, requestedBy: 'U0ONCALL', replacedVersion: '9.1.0', commit: releases['9.0.0']!.commit });
      expect(replaced).toMatchObject({ version: '9.1.0', kind: 'deploy', outcome: 'rolled-back', runId: deployRun });
      expect((await records.current(service))!.id).toBe(now!.id);
    }
    const attempts = await t.store.attempts(run.id);
    expect(attempts.filter((attempt) => attempt.action === 'run').map((attempt) => `${attempt.stepId} ${attempt.outcome}`)).toEqual(
      ['take-over-lock', 'plan', 'roll-back', 'verify', 'notice-rolled-back', 'watch', 'unlock'].map((id) => `${id} done`),
    );
    expect((attempts.find((attempt) => attempt.stepId === 'roll-back')!.output as { services: Array<{ service: string }> }).services.map((entry) => entry.service)).toEqual([...ROLLOUT_ORDER].reverse());

    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      kind: 'rolled-back',
      release: 'rollback',
      runId: run.id,
      // What was rolled back: the services ran 9.1.0 (where they went is in services).
      version: '9.1.0',
      requester: 'U0ONCALL',
      reason: 'rolled back by hand by U0ONCALL',
      breaches: [],
      services: ROLLOUT_ORDER.map((service) => ({ service, from: '9.1.0', to: '9.0.0' })),
    });
    expect(notices[0]).not.toHaveProperty('commit');

    // The rollback freed the lock it took, though the deploy it took it from still runs.
    expect(await records.lock()).toBeNull();
    expect((await executor.get(held.id)).state).toBe('running');
    const { rows } = await t.pool.query('SELECT action, run_id, previous_run, previous_holder, actor FROM deploy_lock_events ORDER BY id');
    expect(rows).toEqual([
      { action: 'acquire', run_id: held.id, previous_run: null, previous_holder: null, actor: 'U0DEPLOYER' },
      { action: 'take-over', run_id: run.id, previous_run: held.id, previous_holder: 'U0DEPLOYER', actor: 'U0ONCALL' },
      { action: 'release', run_id: run.id, previous_run: null, previous_holder: null, actor: 'U0ONCALL' },
    ]);
    await executor.abort(held.id, 'U0ONCALL');
    await waitFor(held.id, (candidate) => (FINAL_RUN_STATES as readonly string[]).includes(candidate.state), 30_000);
  }, 300_000);

  it('rolls one service to a named version, leaving the others', async () => {
    const submitted = await executor.submit({ runbook: 'rollback', args: { service: 'policy-engine', to: '9.1.0' }, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    const run = await waitFor(submitted.id, ended);
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(run.reason).toBe('Rolled back: policy-engine runs 9.1.0.');
    expect(await healthVersion('policy-engine')).toBe('9.1.0');
    expect(await records.current('policy-engine')).toMatchObject({ version: '9.1.0', kind: 'rollback', runId: run.id, replacedVersion: '9.0.0' });
    for (const service of ROLLOUT_ORDER.filter((name) => name !== 'policy-engine')) expect(await healthVersion(service)).toBe('9.0.0');
  }, 300_000);

  it('asks a person when the stack still breaks its limits after the rollback', async () => {
    // Three samples in a row, each seeing slow decisions (every one waits 250 ms).
    ports.deploySettings = { ...ports.deploySettings!, hotfixWatchMs: 3000 };
    try {
      // Agents keep asking: the watch judges p99 only under traffic.
      const traffic = startDecisionTraffic(services!.endpoints['policy-engine']);
      let run;
      try {
        const submitted = await executor.submit({ runbook: 'rollback', args: { service: 'policy-engine', to: '9.3.0-slow' }, requester: 'U0ONCALL', origin: 'test' });
        await executor.scanNow();
        run = await waitFor(submitted.id, ended);
      } finally {
        await traffic.stop();
      }
      expect(run.state).toBe('needs_decision');
      expect(run.reason).toMatch(/^step "watch" \(Watch the critical metrics after the rollback\) failed: the stack still breaks its limits after the rollback: 3 breaching samples in a row \(Policy Engine p99 above 5 ms\).*; retry watches again$/);
      expect(await healthVersion('policy-engine')).toBe('9.3.0');
      expect((await records.lock())?.runId).toBe(run.id);
      const aborted = await executor.abort(run.id, 'U0ONCALL');
      // A run waiting for a decision has no runner: the next claim runs its compensations.
      await executor.scanNow();
      await waitFor(aborted.id, (candidate) => candidate.state === 'aborted', 60_000);
      // Aborting gives the lock back; the service stays where the rollback put it (nothing undoes a rollback).
      expect(await records.lock()).toBeNull();
      expect(await records.current('policy-engine')).toMatchObject({ version: '9.3.0-slow', kind: 'rollback', outcome: 'live' });
    } finally {
      ports.deploySettings = { ...ports.deploySettings!, ...SHORT_WATCH };
    }
  }, 300_000);

  it('leaves a service already on the version named alone: no deploy, no record', async () => {
    const before = Object.fromEntries(await Promise.all(ROLLOUT_ORDER.map(async (service) => [service, (await records.current(service))!.id] as const)));
    const submitted = await executor.submit({ runbook: 'rollback', args: { to: '9.0.0' }, requester: 'U0ONCALL', origin: 'test' });
    await executor.scanNow();
    const run = await waitFor(submitted.id, ended);
    expect(run.state, run.reason ?? '').toBe('succeeded');
    const others = ROLLOUT_ORDER.filter((name) => name !== 'policy-engine');
    expect(run.reason).toBe(`Rolled back: ${others.map((service) => `${service} runs 9.0.0 (it ran it already)`).join(', ')}, policy-engine runs 9.0.0.`);
    for (const service of others) expect((await records.current(service))!.id).toBe(before[service]);
    expect(await records.current('policy-engine')).toMatchObject({ version: '9.0.0', kind: 'rollback', runId: run.id, replacedVersion: '9.3.0-slow' });
    expect(await healthVersion('policy-engine')).toBe('9.0.0');
  }, 300_000);
});
