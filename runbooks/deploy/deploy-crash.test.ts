/**
 * The bot SIGKILLed mid-rollout on the embedded stack, for real: a runner process hosts the deploy
 * runbooks and the four services as `npm start` does (testing/deploy-runner-process.ts); it is
 * killed once the first service answers on the new release and before the last one does, its
 * services end with it, and a second runner started on the same state directory brings the
 * services back on what each was last deployed to and takes the run over once the lease runs out.
 * The rollout step is idempotent (it reads the stored plan and the stack), so it runs again and
 * finishes: every service on the release, one record each, one notice of each kind, the lock free.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { takenPorts } from '../../test/testing/npm-start.js';
import { unusedLoopbackPort } from '../../test/testing/loopback.js';
import { createReleaseRepo, type ReleaseRepo } from '../../test/testing/release-repo.js';
import { migrateNoticeLedger } from '../../bot/notices/index.js';
import { FINAL_RUN_STATES } from '../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../engine/testing/database.js';
import type { RunnerProcess } from '../engine/testing/runner-events.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { createReleaseRecords, migrateReleaseRecords } from './release-records.js';
import type { RolloutOutput } from './rollout.js';
import { NOTICES_TABLE_SQL, startDeployRunner, type DeployRunnerOptions } from './testing/deploy-runner.js';

/** Short, so the takeover comes within seconds; renewed often enough that a loaded machine keeps it. */
const LEASE_MS = 4000;

let t: RunbookTestDatabase;
let repo: ReleaseRepo;
let stateDir: string;
const servicePorts = {} as Record<ServiceName, number>;
const children: ChildProcessWithoutNullStreams[] = [];

function startRunner(owner: string): RunnerProcess {
  const options: DeployRunnerOptions = {
    databaseUrl: t.db.url,
    owner,
    leaseMs: LEASE_MS,
    renewEveryMs: 500,
    scanEveryMs: 250,
    stateDir,
    repository: repo.dir,
    servicePorts,
    settings: { watchMs: 3000, watchEveryMs: 500, healthTimeoutMs: 60_000 },
    channel: 'C0DEPLOYS',
    stakeholders: ['U0STAKEHOLDER'],
  };
  return startDeployRunner(options, { children, waitMs: 120_000 });
}

async function health(service: ServiceName): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${servicePorts[service]}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await response.json()) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  t = await runbookTestDatabase();
  await migrateReleaseRecords(t.pool);
  await migrateNoticeLedger(t.pool);
  await t.pool.query(NOTICES_TABLE_SQL);
  repo = createReleaseRepo();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-deploy-crash-'));
  for (const service of ROLLOUT_ORDER) servicePorts[service] = await unusedLoopbackPort();
}, 120_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGTERM: the runner stops its executor and its services.
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await t?.close();
  repo?.remove();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the bot SIGKILLed mid-rollout', () => {
  it('is taken over by the next runner, which finishes the rollout: one version everywhere, recorded once, announced once', async () => {
    const a = startRunner('runner-a');
    const versions = (await a.waitFor((event) => event.event === 'started')).versions!;
    const before = await health('policy-engine');
    const run = await t.store.create({ runbook: 'deploy', version: versions['deploy']!, args: { version: '9.1.0' }, requester: 'U0ONCALL', origin: 'test' });
    await a.waitFor((event) => event.event === 'stepStarted' && event.runId === run.id && event.stepId === 'rollout', 240_000);

    // The first service in the rollout order answers on the release: kill the bot at once.
    for (const deadline = Date.now() + 120_000; (await health(ROLLOUT_ORDER[0]!)) !== '9.1.0'; ) {
      expect(Date.now(), `${ROLLOUT_ORDER[0]} never answered on 9.1.0; ${a.errors().slice(-2000)}`).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await health(ROLLOUT_ORDER.at(-1)!)).toBe(before);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');
    // The run is still the dead runner's until its lease runs out: never a run without a holder.
    expect(await t.store.get(run.id)).toMatchObject({ state: 'running', leaseOwner: 'runner-a' });

    // Its services end by themselves once their supervisor is gone, freeing their ports.
    for (const deadline = Date.now() + 30_000; (await takenPorts(servicePorts)).length > 0; ) {
      expect(Date.now(), `ports still taken: ${(await takenPorts(servicePorts)).join(', ')}`).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const b = startRunner('runner-b');
    const takenOver = await b.waitFor((event) => event.event === 'stepStarted' && event.runId === run.id, 120_000);
    expect(takenOver).toMatchObject({ stepId: 'rollout', attempt: 2 });
    const ended = await b.waitFor((event) => event.event === 'runStateChanged' && event.runId === run.id && (FINAL_RUN_STATES as readonly string[]).concat('needs_decision').includes(event.state!), 240_000);
    const settled = (await t.store.get(run.id))!;
    expect(ended.state, settled.reason ?? '').toBe('succeeded');
    expect(settled.reason).toBe(`9.1.0 (v9.1.0) is live on ${ROLLOUT_ORDER.join(', ')}; the watch passed.`);

    const attempts = (await t.store.attempts(run.id)).filter((attempt) => attempt.action === 'run').map((attempt) => `${attempt.stepId}#${attempt.attempt} ${attempt.outcome} ${attempt.owner}`);
    expect(attempts).toEqual([
      ...['lock', 'health-now', 'headroom', 'prepare', 'validate', 'baseline', 'backup', 'notice-started'].map((step) => `${step}#1 done runner-a`),
      'rollout#1 interrupted runner-a',
      'rollout#2 done runner-b',
      ...['verify', 'watch', 'act-on-watch', 'notice-finished', 'unlock'].map((step) => `${step}#1 done runner-b`),
    ]);
    // The services the killed runner had put on the release were left alone; the rest were rolled out.
    const rollout = (await t.store.attempts(run.id)).find((attempt) => attempt.stepId === 'rollout' && attempt.outcome === 'done')!.output as RolloutOutput;
    expect(rollout.services.map((entry) => entry.service)).toEqual([...ROLLOUT_ORDER]);
    expect(rollout.services.at(-1)!.strategy).toBe('handover');

    // One version everywhere, and each service's records say so: one deploy record of this run.
    const records = createReleaseRecords({ pool: t.pool, stack: { kind: 'local', description: 'processes supervised by npm start' } });
    for (const service of ROLLOUT_ORDER) {
      expect(await health(service)).toBe('9.1.0');
      const mine = (await records.history(service, 20)).filter((record) => record.runId === run.id);
      expect(mine.map((record) => `${record.kind} ${record.version} ${record.outcome}`), service).toEqual(['deploy 9.1.0 live']);
      expect((await records.current(service))!.id).toBe(mine[0]!.id);
    }
    expect(await records.lock()).toBeNull();
    const { rows: lockEvents } = await t.pool.query('SELECT action, run_id FROM deploy_lock_events ORDER BY id');
    expect(lockEvents).toEqual([
      { action: 'acquire', run_id: run.id },
      { action: 'release', run_id: run.id },
    ]);

    // Each notice reached each target once: the start from the killed runner, the end from the next.
    const { rows: notices } = await t.pool.query('SELECT kind, target, owner FROM runbook_test_notices WHERE run_id = $1 ORDER BY id', [run.id]);
    expect(notices.map((row) => `${row.kind} ${row.target} ${row.owner}`).sort()).toEqual(
      ['started C0DEPLOYS runner-a', 'started U0STAKEHOLDER runner-a', 'finished C0DEPLOYS runner-b', 'finished U0STAKEHOLDER runner-b'].sort(),
    );
  }, 600_000);
});
