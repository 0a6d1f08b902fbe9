/**
 * The DR test on the real local stack of `npm start` (four supervised service processes on spare
 * ports, embedded PGlite) with its backups on the real PostgreSQL (backup-harness.ts: the backup
 * runbook's own dumps, restored by pg_restore --exit-on-error into scratch databases). Only the
 * bot's side (trail, channels, approvals) is a recorder here: bot/runbook-runs wires the real one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import type { Stack } from '../../services/stack/stack.js';
import { startTestLocalStack, type TestLocalStack } from '../../test/testing/local-stack.js';
import { waitFor } from '../../test/testing/wait-for.js';
import { backupHarness, type BackupHarness } from '../backup/testing/backup-harness.js';
import { attemptLines, stepOutput } from '../backup/testing/run-attempts.js';
import { backupRunbooks } from '../backup/index.js';
import type { DrReport, DrTestPorts, DrTestRecord, GatePorts, GateRef, StepPorts } from '../engine/ports.js';
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
const records: DrTestRecord[] = [];
const reports: DrReport[] = [];
const announcements: string[] = [];
const gatesOpened: GateRef[] = [];
let standing: DrTestPorts['standingApproval'];
let levelOne = false;

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
  // Stops go through `stack`, which a test may wrap; everything else is the local Stack's.
  const routed = new Proxy(local.stack, { get: (target, key) => (key === 'stop' ? (service: string) => stack.stop(service) : Reflect.get(target, key)) });
  const commands = createCommandDependencies({ endpoints: local.services.endpoints, adminToken: local.services.adminToken, stack: routed });
  const drTest: DrTestPorts = {
    async record(entry) {
      records.push(entry);
    },
    async announce(text) {
      announcements.push(text);
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
  ports = { backup: h.ports, commands, drTest, gates };
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

describe('dr-test on the local stack', () => {
  it('scheduled, with a standing approval: restores the latest backup, fails each service over and reports the figures', async () => {
    standing = { approvedBy: 'U0HEAD', reason: 'monthly DR test, change CR-42' };
    const run = await drTest('schedule');
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect(await attemptLines(h.t.store, run.id)).toEqual(['run restore-test#1 done', 'run check-safe#1 done', 'run approve-failover#1 done', 'run announce#1 done', 'run failover#1 done', 'run report#1 done']);

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
