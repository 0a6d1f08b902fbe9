/**
 * The DR test on the real local stack of `npm start` (four supervised service processes on spare
 * ports, embedded PGlite) with its backups on the real PostgreSQL (backup-harness.ts: the backup
 * runbook's own dumps, restored by pg_restore --exit-on-error into scratch databases), and the real
 * deploy lock on the run store's database. Only the bot's side (trail, channels, approvals) is a
 * recorder here: bot/runbook-runs wires the real one; Level 1's reading of the stack is the bot's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConditions } from '../../bot/alerts/level-one-wiring.js';
import { decideLevelOne, type LevelOneDecision } from '../../bot/alerts/level-one-guards.js';
import { fixedModes } from '../../bot/command-path/command-gate.js';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { DeployLockError } from '../../commands/ports.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import type { Stack } from '../../services/stack/stack.js';
import { startTestLocalStack, type TestLocalStack } from '../../test/testing/local-stack.js';
import { waitFor } from '../../test/testing/wait-for.js';
import { backupHarness, type BackupHarness } from '../backup/testing/backup-harness.js';
import { attemptLines, stepOutput } from '../backup/testing/run-attempts.js';
import { backupRunbooks } from '../backup/index.js';
import { createReleaseRecords, migrateReleaseRecords } from '../deploy/release-records.js';
import type { DeploymentRecords, DrReport, DrTestPorts, DrTestRecord, GatePorts, GateRef, StepPorts } from '../engine/ports.js';
import { createRunbookRegistry } from '../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../engine/run-executor.js';
import type { RunRecord } from '../engine/run-store.js';
import { drTestRunbook, FAILOVER_ORDER, type ServiceFailover } from './index.js';
import { readServices } from './service-readings.js';

let h: BackupHarness;
let local: TestLocalStack;
let executor: RunExecutor;
let ports: StepPorts;
let stack: Stack;
let deployLock: DeploymentRecords;
const records: DrTestRecord[] = [];
const reports: DrReport[] = [];
const announcements: string[] = [];
const gatesOpened: GateRef[] = [];
let standing: DrTestPorts['standingApproval'];
let levelOne = false;
/** What a test does when the runbook records a figure or announces, before the runbook goes on. */
let onRecord: (entry: DrTestRecord) => Promise<void> = async () => undefined;
let onAnnounce: () => Promise<void> = async () => undefined;

const gates: GatePorts = {
  async open(gate) {
    gatesOpened.push(gate);
    return { state: 'refused', request: 'A1', why: 'denied by U0APPROVER' };
  },
  async check(_gate, request) {
    return { state: 'refused', request, why: 'denied' };
  },
};

beforeAll(async () => {
  h = await backupHarness();
  await h.freshBackup();
  local = await startTestLocalStack('acgs-dr-test');
  stack = local.stack;
  // Stops and starts go through `stack`, which a test may wrap; everything else is the local Stack's.
  const routed = new Proxy(local.stack, {
    get: (target, key) =>
      key === 'stop' ? (service: string) => stack.stop(service) : key === 'start' ? (service: string, options?: Parameters<Stack['start']>[1]) => stack.start(service, options) : Reflect.get(target, key),
  });
  const commands = createCommandDependencies({ endpoints: local.services.endpoints, adminToken: local.services.adminToken, stack: routed });
  await migrateReleaseRecords(h.t.pool);
  deployLock = createReleaseRecords({ pool: h.t.pool, stack: local.stack });
  const drTest: DrTestPorts = {
    async record(entry) {
      records.push(entry);
      await onRecord(entry);
    },
    async announce(text) {
      announcements.push(text);
      await onAnnounce();
      return 'C0OPS';
    },
    async postReport(report) {
      reports.push(report);
      return 'C0REPORTS';
    },
    async pastRestoreTimes() {
      return [{ runId: 'earlier', at: '2026-11-01T03:00:00.000Z', restoreMs: 1200 }];
    },
    get standingApproval() {
      return standing;
    },
    async levelOneAutoResolution() {
      return levelOne;
    },
    failoverTimings: { pollMs: 100, detectWithinMs: 20_000, recoverWithinMs: 60_000, levelOneWaitMs: 30_000 },
  };
  ports = { backup: h.ports, commands, deployments: deployLock, drTest, gates };
  executor = createRunExecutor({ store: h.t.store, registry: createRunbookRegistry([...backupRunbooks, drTestRunbook]), ports, leaseMs: 10_000, renewEveryMs: 1000 });
}, 240_000);

afterAll(async () => {
  await executor?.stop();
  await local?.close();
  await h?.close();
}, 120_000);

async function drTest(origin: string): Promise<RunRecord> {
  records.length = 0;
  reports.length = 0;
  announcements.length = 0;
  gatesOpened.length = 0;
  const run = await executor.submit({ runbook: 'dr-test', args: {}, requester: 'acgs-bot:scheduler', origin });
  await executor.scanNow();
  await executor.idle();
  return executor.get(run.id);
}

async function everyServiceHealthy(): Promise<boolean> {
  return (await readServices(ports, AbortSignal.timeout(10_000))).every((reading) => reading.condition === 'healthy');
}

/** A run of another runbook, unfinished: waiting for a person, so that no scan here runs it. */
async function otherRun(runbook: string, requester: string): Promise<string> {
  const { id } = await h.t.store.create({ runbook, version: 'v1', args: {}, requester, origin: 'typed' });
  await h.t.pool.query("UPDATE runbook_runs SET state = 'needs_decision', reason = 'a stand-in run of this test' WHERE id = $1", [id]);
  return id;
}

/** Ends such a run as a person's abort would, which frees any lock it holds. */
async function endRun(runId: string): Promise<void> {
  await h.t.pool.query("UPDATE runbook_runs SET state = 'aborted', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1", [runId]);
}

/** What Level 1 decides about restarting `service` now, reading the stack as the bot wires it. */
async function levelOneDecision(service: string): Promise<LevelOneDecision> {
  const conditions = await stackConditions(fixedModes({ strict: false, lockdown: false }), deployLock, { activeAndRecent: async () => [] })();
  const limits = { maxActionsPerServicePerHour: 3, backoffMs: 30_000, backoffMaxMs: 600_000, breakerFailures: 3, breakerOpenMs: 900_000, verifyMs: 60_000 };
  return decideLevelOne({ now: new Date(), service, episode: [], serviceActions: [], stack: conditions, limits });
}

/** A Stack that notes each service it is asked to stop, made the test's `stack`; returns the list. */
function countStops(): string[] {
  const stops: string[] = [];
  stack = new Proxy(local.stack, {
    get: (target, key) =>
      key === 'stop'
        ? async (service: string) => {
            stops.push(service);
            return target.stop(service);
          }
        : Reflect.get(target, key),
  });
  return stops;
}

/** A Stack whose stop of `service` first runs `during` (the test's look at the world mid-failover). */
function stopsWith(service: string, during: () => Promise<void>): Stack {
  return new Proxy(local.stack, {
    get: (target, key) =>
      key === 'stop'
        ? async (name: string) => {
            if (name === service) await during();
            return target.stop(name);
          }
        : Reflect.get(target, key),
  });
}

describe('dr-test on the local stack', () => {
  it('scheduled, with a standing approval: restores the latest backup, fails each service over and reports the figures', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test, change CR-42' };
    // Mid-failover: the deploy lock is the DR test's, so a deploy is refused, while Level 1 may bring the stopped service back (what the failover measures).
    let lockMeanwhile: Awaited<ReturnType<DeploymentRecords['lock']>> = null;
    let deployRefusal: unknown;
    let levelOneMeanwhile: LevelOneDecision | undefined;
    stack = stopsWith('audit-engine', async () => {
      lockMeanwhile = await deployLock.lock();
      const deployRun = await otherRun('deploy', 'U0DEV');
      deployRefusal = await deployLock.acquire(deployRun, 'deploy', 'U0DEV').catch((error: unknown) => error);
      // Ended at once: an unfinished deploy run would (rightly) stop the failover before its next service.
      await endRun(deployRun);
      levelOneMeanwhile = await levelOneDecision('audit-engine');
    });
    let run: RunRecord;
    try {
      run = await drTest('schedule');
    } finally {
      stack = local.stack;
    }
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(await attemptLines(h.t.store, run.id)).toEqual(['run restore-test#1 done', 'run check-safe#1 done', 'run approve-failover#1 done', 'run lock#1 done', 'run announce#1 done', 'run failover#1 done', 'run unlock#1 done', 'run report#1 done']);
    expect(lockMeanwhile).toMatchObject({ runId: run.id, runbook: 'dr-test', heldBy: 'acgs-bot:scheduler' });
    expect(deployRefusal).toBeInstanceOf(DeployLockError);
    expect((deployRefusal as DeployLockError).message).toMatch(new RegExp(`^The deploy lock is taken: acgs-bot:scheduler holds it since .+ for run ${run.id} \\(dr-test\\)\\.$`));
    expect(levelOneMeanwhile).toEqual({ act: true, attempt: 1 });
    // Once the run is over the lock is free, and a deploy's lock keeps Level 1 out as before.
    expect(await deployLock.lock()).toBeNull();
    const deployRun = await otherRun('deploy', 'U0DEV');
    await deployLock.acquire(deployRun, 'deploy', 'U0DEV');
    try {
      expect(await levelOneDecision('audit-engine')).toMatchObject({ act: false, code: 'deploy-lock' });
    } finally {
      await deployLock.release(deployRun);
      await endRun(deployRun);
    }
    expect(await levelOneDecision('audit-engine')).toEqual({ act: true, attempt: 1 });
    expect(records.every((entry) => entry.attempt === 1)).toBe(true);

    const restore = (await stepOutput(h.t.store, run.id, 'restore-test')) as { restoreMs: number; rows: Record<string, number> };
    expect(restore.rows).toEqual({ 'audit-engine.dump': 3000, 'bot.dump': 250 });
    expect(restore.restoreMs).toBeGreaterThan(0);
    expect(await h.scratchDatabasesLeft()).toEqual([]);

    expect(gatesOpened).toEqual([]);
    expect(records.find((entry) => entry.what === 'standing-approval')).toMatchObject({ outcome: 'used', details: { approved_by: 'U0HEAD', reason: 'monthly DR test, change CR-42' } });
    expect(announcements).toHaveLength(1);

    const failover = (await stepOutput(h.t.store, run.id, 'failover')) as { services: ServiceFailover[] };
    expect(failover.services.map((entry) => entry.service)).toEqual([...FAILOVER_ORDER]);
    for (const entry of failover.services) {
      expect(entry.recoveredBy).toBe('runbook');
      expect(entry.detectionMs).not.toBeNull();
      expect(entry.recoveryMs).toBeGreaterThanOrEqual(entry.detectionMs!);
    }
    expect(records.filter((entry) => entry.what === 'failover').map((entry) => entry.outcome)).toEqual(['recovered', 'recovered', 'recovered', 'recovered']);
    expect(await everyServiceHealthy()).toBe(true);

    expect(reports).toHaveLength(1);
    const text = reports[0]!.lines.join('\n');
    expect(text).toContain('against the median of 1 earlier test(s) (1.2 s)');
    for (const service of FAILOVER_ORDER) expect(text).toMatch(new RegExp(`• ${service}: detected in \\d+\\.\\d s, healthy again in \\d+\\.\\d s \\(restarted by the runbook\\)`));
    expect(run.reason).toMatch(/^Restore in \d+\.\d s; 4 services failed over, slowest back in \d+\.\d s\.$/);
  }, 300_000);

  it('asks an approver for the failover without a standing approval, and stops nothing when denied', async () => {
    standing = undefined;
    const scheduled = await drTest('schedule');
    expect(gatesOpened).toEqual([{ runId: scheduled.id, stepId: 'approve-failover' }]);
    expect(scheduled.state).toBe('needs_decision');
    expect(scheduled.reason).toContain('the gate was not passed: denied by U0APPROVER');
    expect(records.map((entry) => entry.what)).toEqual(['restore-test']);
    expect(announcements).toEqual([]);
    await executor.abort(scheduled.id, 'U0ONCALL');

    // A person's run asks too, even with a standing approval in the config: it is for the scheduler only.
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const typed = await drTest('typed');
    expect(gatesOpened).toEqual([{ runId: typed.id, stepId: 'approve-failover' }]);
    expect(typed.state).toBe('needs_decision');
    expect(records.map((entry) => entry.what)).toEqual(['restore-test']);
    await executor.abort(typed.id, 'U0ONCALL');
    await executor.idle();
    expect(await everyServiceHealthy()).toBe(true);
  }, 300_000);

  it('refuses the failover while a service is unwell, saying why, and still reports the restore', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    await local.stack.stop('sandbox-controller');
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(/^The failover test was refused, nothing was stopped: not every service is healthy: sandbox-controller [^;]+\. The restore test passed; the DR report went to C0REPORTS\.$/);
      expect(records.map((entry) => `${entry.what} ${entry.outcome}`)).toEqual(['restore-test passed', 'failover refused', 'report failover-not-run']);
      expect(reports[0]!.lines.join('\n')).toContain('*Failover test*: not run: not every service is healthy: sandbox-controller');
      expect(announcements).toEqual([]);
    } finally {
      await local.stack.start('sandbox-controller');
    }

    // A deployment that has not ended owns the services: refused too, naming its run.
    const unfinishedRuns = h.ports.unfinishedRuns;
    h.ports.unfinishedRuns = async (runbook) => (runbook === 'deploy' ? ['00000000-0000-4000-8000-00000000d3b1'] : []);
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toContain('nothing was stopped: a deploy run has not ended (00000000-0000-4000-8000-00000000d3b1).');
      expect(announcements).toEqual([]);
    } finally {
      h.ports.unfinishedRuns = unfinishedRuns;
    }
  }, 300_000);

  it('aborts at once when another service goes down during a failover, and starts the stopped one again', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    // The neighbour goes down right after the runbook stops the first service.
    stack = new Proxy(local.stack, {
      get: (target, key) =>
        key === 'stop'
          ? async (service: string) => {
              const report = await target.stop(service);
              if (service === 'sandbox-controller') await target.stop('evolution-oversight');
              return report;
            }
          : Reflect.get(target, key),
    });
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(/^The failover test was aborted: evolution-oversight [^;]+ while sandbox-controller was stopped; sandbox-controller was started again\. Done before: none\.$/);
      expect(records.map((entry) => `${entry.what} ${entry.outcome}`)).toEqual(['restore-test passed', 'standing-approval used', 'failover aborted']);
      expect((await readServices(ports, AbortSignal.timeout(10_000), ['sandbox-controller']))[0]!.condition).toBe('healthy');
    } finally {
      stack = local.stack;
      await local.stack.start('evolution-oversight');
    }
    await waitFor('every service healthy', async () => ((await everyServiceHealthy()) ? true : undefined), 60_000, () => 'still unwell');
  }, 300_000);

  it('reads the stack again right before the first stop: a lockdown engaged after the check stops nothing and says why', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const stops = countStops();
    // The gate may pass a day after check-safe: here the lockdown comes between the two.
    onAnnounce = async () => void (await ports.commands!.policyEngine!.setMode('emergency-lockdown', 'incident 42: containing'));
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toBe('The failover test was refused, nothing was stopped: the Policy Engine is in lockdown (`lockdown lift` ends it). The restore test passed; the DR report went to C0REPORTS.');
      expect(stops).toEqual([]);
      expect(records.map((entry) => `${entry.what} ${entry.outcome}`)).toEqual(['restore-test passed', 'standing-approval used', 'failover refused', 'report failover-not-run']);
      expect(reports[0]!.lines.join('\n')).toContain('*Failover test*: not run: the Policy Engine is in lockdown');
      expect(await deployLock.lock()).toBeNull();
    } finally {
      onAnnounce = async () => undefined;
      stack = local.stack;
      await ports.commands!.policyEngine!.setMode('lift-lockdown', 'incident 42 contained');
    }
    expect(await everyServiceHealthy()).toBe(true);
  }, 300_000);

  it('reads the stack again before each later stop: a rollback that took the deploy lock over ends the test there', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const stops = countStops();
    let rollbackRun = '';
    onRecord = async (entry) => {
      if (entry.what !== 'failover' || entry.outcome !== 'recovered' || entry.details.service !== 'sandbox-controller') return;
      rollbackRun = await otherRun('rollback', 'U0ONCALL');
      await deployLock.takeOver(rollbackRun, 'U0ONCALL');
    };
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toBe(`The failover test was stopped before evolution-oversight: a rollback run has not ended (${rollbackRun}). Nothing more was stopped. Done before: sandbox-controller.`);
      expect(stops).toEqual(['sandbox-controller']);
      expect(records.map((entry) => `${entry.what} ${entry.outcome}`)).toEqual(['restore-test passed', 'standing-approval used', 'failover recovered', 'failover refused']);
      expect(records.at(-1)!.details).toMatchObject({ service: 'evolution-oversight', deploy_lock: { runId: rollbackRun, runbook: 'rollback' } });
    } finally {
      onRecord = async () => undefined;
      stack = local.stack;
      if (rollbackRun) await endRun(rollbackRun);
    }
    expect(await everyServiceHealthy()).toBe(true);
  }, 300_000);

  it('is refused, naming the run, when another DR test holds the deploy lock: at its lock step, and at check-safe', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const stops = countStops();
    const first = await otherRun('dr-test', 'U0FIRST');
    // The other DR test takes the lock after this one's check-safe and before its own lock step.
    onRecord = async (entry) => {
      if (entry.what === 'standing-approval') await deployLock.acquire(first, 'dr-test', 'U0FIRST');
    };
    const heldByFirst = `the deploy lock is held by U0FIRST's dr-test run ${first} \\(since [^)]+\\)`;
    try {
      const atLock = await drTest('schedule');
      expect(atLock.state).toBe('failed');
      expect(atLock.reason).toMatch(new RegExp(`^The failover test was refused, nothing was stopped: ${heldByFirst}\\. The restore test passed; the DR report went to C0REPORTS\\.$`));
      expect(await attemptLines(h.t.store, atLock.id)).toEqual(['run restore-test#1 done', 'run check-safe#1 done', 'run approve-failover#1 done', 'run lock#1 failed']);
      expect(records.map((entry) => `${entry.what} ${entry.outcome}`)).toEqual(['restore-test passed', 'standing-approval used', 'failover refused', 'report failover-not-run']);
      expect(announcements).toEqual([]);

      const atCheck = await drTest('schedule');
      expect(atCheck.reason).toMatch(new RegExp(`^The failover test was refused, nothing was stopped: ${heldByFirst}\\. `));
      expect(await attemptLines(h.t.store, atCheck.id)).toEqual(['run restore-test#1 done', 'run check-safe#1 failed']);
      expect(stops).toEqual([]);
      expect(await deployLock.lock()).toMatchObject({ runId: first });
    } finally {
      onRecord = async () => undefined;
      stack = local.stack;
      await endRun(first);
    }
  }, 300_000);

  it('says the next service was not stopped when a neighbour is down before its stop', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const stops = countStops();
    onRecord = async (entry) => {
      if (entry.what === 'failover' && entry.outcome === 'recovered' && entry.details.service === 'sandbox-controller') await local.stack.stop('audit-engine');
    };
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(/^The failover test was aborted: audit-engine [^;]+ before evolution-oversight was stopped; evolution-oversight was not stopped\. Done before: sandbox-controller\.$/);
      expect(stops).toEqual(['sandbox-controller']);
      expect(records.at(-1)).toMatchObject({ what: 'failover', outcome: 'aborted', details: { service: 'evolution-oversight', service_left: { state: 'not-stopped' } } });
    } finally {
      onRecord = async () => undefined;
      stack = local.stack;
      await local.stack.start('audit-engine');
    }
    await waitFor('every service healthy', async () => ((await everyServiceHealthy()) ? true : undefined), 60_000, () => 'still unwell');
  }, 300_000);

  it('says so when the stopped service cannot be started again, waits for a person, and a retry starts every service before testing again', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    const starts: string[] = [];
    let startRefused = true;
    // A neighbour goes down with the first stop, and the Stack then refuses to start the stopped service.
    stack = new Proxy(local.stack, {
      get: (target, key) => {
        if (key === 'stop')
          return async (service: string) => {
            const report = await target.stop(service);
            if (service === 'sandbox-controller' && startRefused) await target.stop('evolution-oversight');
            return report;
          };
        if (key === 'start')
          return async (service: string, options?: Parameters<Stack['start']>[1]) => {
            starts.push(service);
            if (startRefused && service === 'sandbox-controller') throw new Error('the Stack could not start sandbox-controller: its working directory is gone');
            return target.start(service, options);
          };
        return Reflect.get(target, key);
      },
    });
    try {
      const run = await drTest('schedule');
      expect(run.state).toBe('needs_decision');
      expect(run.reason).toMatch(
        /The failover test was aborted: evolution-oversight [^;]+ while sandbox-controller was stopped; sandbox-controller could not be started again \(the Stack could not start sandbox-controller: its working directory is gone\)\. Done before: none\. Retry starts every service and tests again; abort starts every service\./,
      );
      expect(run.reason).not.toContain('was started again');
      expect(records.at(-1)).toMatchObject({ what: 'failover', outcome: 'aborted', attempt: 1, details: { service: 'sandbox-controller', service_left: { state: 'start-failed' } } });
      expect((await readServices(ports, AbortSignal.timeout(10_000), ['sandbox-controller']))[0]!.condition).toBe('down');

      // Retry: the step's second attempt starts every service first (sandbox-controller and the
      // neighbour are down), then fails each over again; its figures are recorded as attempt 2.
      startRefused = false;
      starts.length = 0;
      records.length = 0;
      await executor.decide(run.id, 'retry', 'U0ONCALL');
      await executor.scanNow();
      await executor.idle();
      const retried = await executor.get(run.id);
      expect(retried.state, retried.reason ?? '').toBe('succeeded');
      expect(starts.slice(0, SERVICE_NAMES.length)).toEqual([...SERVICE_NAMES]);
      expect(await attemptLines(h.t.store, run.id)).toEqual(expect.arrayContaining(['run failover#1 failed', 'run failover#2 done', 'run unlock#1 done', 'run report#1 done']));
      const failovers = records.filter((entry) => entry.what === 'failover');
      expect(failovers.map((entry) => `${entry.details.service} ${entry.outcome} #${entry.attempt}`)).toEqual(FAILOVER_ORDER.map((service) => `${service} recovered #2`));
    } finally {
      stack = local.stack;
    }
    expect(await everyServiceHealthy()).toBe(true);
  }, 300_000);

  it('broken part-way with a service stopped: waits for a person, and an abort starts that service again', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    // The Stack fails right after the first stop (as if the engine went away): not an abort of the
    // test's own making, so the step stops with sandbox-controller down and waits for a decision.
    stack = new Proxy(local.stack, {
      get: (target, key) =>
        key === 'stop'
          ? async (service: string) => {
              await target.stop(service);
              throw new Error(`the stack stopped answering after stopping ${service}`);
            }
          : Reflect.get(target, key),
    });
    let run: RunRecord;
    try {
      run = await drTest('schedule');
    } finally {
      stack = local.stack;
    }
    expect(run.state).toBe('needs_decision');
    expect((await readServices(ports, AbortSignal.timeout(10_000), ['sandbox-controller']))[0]!.condition).not.toBe('healthy');
    await executor.abort(run.id, 'U0ONCALL');
    // This executor has no timer of its own: the scan drives the abort's undo.
    await executor.scanNow();
    await executor.idle();
    expect((await executor.get(run.id)).state).toBe('aborted');
    expect(await attemptLines(h.t.store, run.id)).toContainEqual(expect.stringMatching(/^compensate failover#\d+ compensated$/));
    await waitFor('every service healthy', async () => ((await everyServiceHealthy()) ? true : undefined), 60_000, () => 'still unwell');
  }, 300_000);

  it('with Level 1 on, waits for it to bring a service back, and starts the ones it did not', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test' };
    levelOne = true;
    // A stand-in for Level 1's restart: the first service is started again by someone else once its health fails.
    stack = new Proxy(local.stack, {
      get: (target, key) =>
        key === 'stop'
          ? async (service: string) => {
              const report = await target.stop(service);
              if (service === 'sandbox-controller') {
                void waitFor('sandbox-controller down', async () => ((await readServices(ports, AbortSignal.timeout(5000), ['sandbox-controller']))[0]!.condition === 'down' ? true : undefined), 20_000, () => 'still up').then(() => target.start(service));
              }
              return report;
            }
          : Reflect.get(target, key),
    });
    ports.drTest!.failoverTimings = { pollMs: 100, detectWithinMs: 20_000, recoverWithinMs: 60_000, levelOneWaitMs: 3000 };
    try {
      const run = await drTest('schedule');
      expect(run.state, run.reason ?? '').toBe('succeeded');
      const failover = (await stepOutput(h.t.store, run.id, 'failover')) as { level_one: boolean; services: ServiceFailover[] };
      expect(failover.level_one).toBe(true);
      expect(failover.services.map((entry) => `${entry.service} ${entry.recoveredBy}`)).toEqual(['sandbox-controller level-1', 'evolution-oversight runbook', 'audit-engine runbook', 'policy-engine runbook']);
      // Those it started itself waited Level 1's turn first.
      for (const entry of failover.services.slice(1)) expect(entry.recoveryMs).toBeGreaterThanOrEqual(3000);
      expect(reports[0]!.lines.join('\n')).toMatch(/• sandbox-controller: detected in \d+\.\d s, healthy again in \d+\.\d s \(by Level 1 auto-resolution\)/);
    } finally {
      levelOne = false;
      stack = local.stack;
    }
    expect(await everyServiceHealthy()).toBe(true);
  }, 300_000);
});
