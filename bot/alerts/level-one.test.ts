/**
 * Level 1's runner with the alert store and its claims on the real PostgreSQL; the command path,
 * the health check and the stack's conditions are the test's, so that each guard rail is seen
 * from the alert's notes: exactly one action across two replicas, silenced and snoozed alerts left
 * alone, refusals noted with their reason, a failed restart retried after its backoff, and the
 * breaker escalating once.
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResultDocument } from '../../commands/result.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { defaultAuthorizationData } from '../authorization/data.js';
import { createAlertStore, migrateAlertStore, type AlertRecord, type AlertStore } from './alert-store.js';
import type { ReportedAlert } from './intake.js';
import { firingReport } from './testing/reported-alerts.js';
import { createLevelOneClaims } from './level-one-claims.js';
import { levelOneLimits, type StackConditions } from './level-one-guards.js';
import { createLevelOne, levelOnePlan, type LevelOne, type LevelOneOptions, type LevelOneRun } from './level-one.js';

let db: TestDatabase;
let pool: pg.Pool;
let otherReplica: pg.Pool;
let store: AlertStore;
let clock: Date;
const T0 = new Date('2026-12-07T03:00:00.000Z');
const started: LevelOne[] = [];

beforeAll(async () => {
  db = await createTestDatabase('acgs_level_one');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-level-one-a' });
  otherReplica = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-level-one-b' });
  await migrateAlertStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await otherReplica?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE alert_level_one_actions, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
  clock = T0;
  store = createAlertStore({ pool, now: () => clock });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((levelOne) => levelOne.stop()));
});

const OK_DOCUMENT: ResultDocument = { title: 'Restarted audit-engine', summary: '1 replica restarted, healthy', tone: 'ok', blocks: [] };
const CALM: StackConditions = { lockdown: false, deployLock: null };

function serviceDown(service = 'audit-engine', startsAt = T0): ReportedAlert {
  return firingReport({ labels: { service }, startsAt });
}

interface Harness {
  levelOne: LevelOne;
  lines: string[];
  escalations: string[];
  logged: string[];
}

function harness(overrides: Partial<LevelOneOptions> & { onPool?: pg.Pool } = {}): Harness {
  const lines: string[] = [];
  const escalations: string[] = [];
  const logged: string[] = [];
  const alerts = overrides.onPool ? createAlertStore({ pool: overrides.onPool, now: () => clock }) : store;
  const levelOne = createLevelOne({
    alerts,
    claims: createLevelOneClaims(overrides.onPool ?? pool),
    limits: levelOneLimits(defaultAuthorizationData().level_one),
    run: async (line): Promise<LevelOneRun> => {
      lines.push(line);
      return { outcome: 'ok', document: OK_DOCUMENT };
    },
    health: async () => ({ healthy: true, detail: 'healthy' }),
    condition: async () => ({ cleared: true, detail: 'the cache hit rate was 97.0 % (threshold 95 %)' }),
    conditions: async () => CALM,
    escalateNow: (alert: AlertRecord, reason: string) => void escalations.push(`${alert.id}: ${reason}`),
    holder: overrides.onPool ? 'replica-b' : 'replica-a',
    now: () => clock,
    verifyPollMs: 10,
    log: (message, error) => logged.push(error ? `${message}: ${(error as Error).message}` : message),
    ...overrides,
  });
  started.push(levelOne);
  return { levelOne, lines, escalations, logged };
}

async function fire(report = serviceDown()): Promise<AlertRecord> {
  await store.report([report]);
  return (await store.byFingerprint(report.fingerprint))!;
}

async function notes(alertId: string) {
  return (await store.history(new Date(0))).filter((entry) => entry.alertId === alertId && entry.kind === 'auto-action').map((entry) => entry.details);
}

describe('what Level 1 does for which rule', () => {
  it('restarts the service of ServiceDown, warms the cache for LowCacheHitRate, prunes sandboxes for SandboxFailures, and nothing else', () => {
    expect(levelOnePlan({ rule: 'ServiceDown', labels: { service: 'policy-engine' } })).toEqual({ action: 'restart-service', command: 'restart policy-engine', service: 'policy-engine' });
    expect(levelOnePlan({ rule: 'LowCacheHitRate', labels: {} })).toEqual({ action: 'cache-warm', command: 'cache warm', service: 'policy-engine' });
    expect(levelOnePlan({ rule: 'SandboxFailures', labels: {} })).toEqual({ action: 'prune-sandboxes', command: 'sandbox prune', service: 'sandbox-controller' });
    expect(levelOnePlan({ rule: 'HighP99Latency', labels: {} })).toBeUndefined();
    // A ServiceDown without a usable service name runs nothing (no `restart ; rm -rf`).
    expect(levelOnePlan({ rule: 'ServiceDown', labels: {} })).toBeUndefined();
    expect(levelOnePlan({ rule: 'ServiceDown', labels: { service: 'policy-engine; reboot' } })).toBeUndefined();
    expect(levelOnePlan({ rule: 'NoSuchRule', labels: { service: 'policy-engine' } })).toBeUndefined();
  });
});

describe('Level 1 on a fired alert', () => {
  it('acts once across two replicas that both consider it, and notes the action with its evidence', async () => {
    const a = harness();
    const b = harness({ onPool: otherReplica });
    const alert = await fire();
    await Promise.all([a.levelOne.consider(alert.id), b.levelOne.consider(alert.id)]);
    expect([...a.lines, ...b.lines]).toEqual(['restart audit-engine']);
    // The replica that looks after the other's action has finished notes its backoff (a refusal);
    // one that looks while it runs, or claims the same attempt, notes nothing. One action either way.
    const all = await notes(alert.id);
    const acted = all.filter((note) => note?.outcome !== 'refused');
    expect(acted).toHaveLength(1);
    const [note] = acted;
    expect(note).toMatchObject({ action: 'restart-service', command: 'restart audit-engine', outcome: 'succeeded', attempt: 1, service: 'audit-engine', evidence: 'audit-engine answered its health check healthy 0.0 s after Level 1 began the restart.' });
    expect(typeof note!.duration_ms).toBe('number');
    expect(all.filter((note) => note?.outcome === 'refused').every((refusal) => refusal?.refusal === 'backoff')).toBe(true);
  });

  it('is started by the store telling it an alert fired', async () => {
    const a = harness();
    store.onChange((change) => a.levelOne.onChange(change));
    const alert = await fire();
    await a.levelOne.idle();
    expect(a.lines).toEqual(['restart audit-engine']);
    expect(await notes(alert.id)).toHaveLength(1);
  });

  it('leaves silenced, snoozed, acknowledged and resolved alerts and rules without an action alone, noting nothing', async () => {
    const a = harness();
    await store.silence({ rule: 'LowCacheHitRate', until: new Date(T0.getTime() + 3_600_000), reason: 'load test', by: 'U0ONCALL' });
    const silenced = await fire(firingReport({ rule: 'LowCacheHitRate', startsAt: T0 }));
    const snoozed = await fire(serviceDown('policy-engine'));
    await store.snooze(snoozed.id, new Date(T0.getTime() + 3_600_000), 'U0ONCALL');
    const acknowledged = await fire(serviceDown('sandbox-controller'));
    await store.acknowledge(acknowledged.id, 'U0ONCALL');
    const resolved = await fire(serviceDown('evolution-oversight'));
    await store.resolve(resolved.id, 'U0ONCALL');
    const latency = await fire(firingReport({ rule: 'HighP99Latency', startsAt: T0 }));
    for (const alert of [silenced, snoozed, acknowledged, resolved, latency]) await a.levelOne.consider(alert.id);
    await a.levelOne.consider('999');
    expect(a.lines).toEqual([]);
    expect((await store.history(new Date(0))).filter((entry) => entry.kind === 'auto-action')).toEqual([]);
  });

  it('never acts in lockdown or while the deploy lock is held, and notes why once', async () => {
    let conditions: StackConditions = { lockdown: true, deployLock: null };
    const a = harness({ conditions: async () => conditions });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    await a.levelOne.consider(alert.id);
    conditions = { lockdown: false, deployLock: { runbook: 'deploy', heldBy: 'U0ONCALL', since: '2026-12-07T02:55:00.000Z' } };
    await a.levelOne.consider(alert.id);
    expect(a.lines).toEqual([]);
    expect(await notes(alert.id)).toEqual([
      expect.objectContaining({ outcome: 'refused', refusal: 'lockdown', reason: expect.stringContaining('emergency lockdown'), command: 'restart audit-engine', attempt: 1 }),
      expect.objectContaining({ outcome: 'refused', refusal: 'deploy-lock', reason: expect.stringContaining('the deploy run of U0ONCALL holds the deploy lock') }),
    ]);
    // The reason is the note's summary: the alert's message and thread show that sentence, not its fields.
    for (const refusal of await notes(alert.id)) expect(refusal?.summary).toBe(refusal?.reason);
    expect(a.escalations).toEqual([]);
  });

  const RESTORING: StackConditions = { ...CALM, stackRun: { runbook: 'restore', runId: 'run-1', requester: 'U0ONCALL' } };

  it('looks again as soon as the run that held it back ends, not a backoff later, and restarts the service still down', async () => {
    let conditions = RESTORING;
    let down = true;
    const a = harness({
      conditions: async () => conditions,
      health: async () => (down ? { healthy: false, detail: 'unreachable: timed out' } : { healthy: true, detail: 'healthy' }),
      run: async (line) => {
        a.lines.push(line);
        down = false;
        return { outcome: 'ok', document: OK_DOCUMENT };
      },
    });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    expect(await notes(alert.id)).toEqual([expect.objectContaining({ outcome: 'refused', refusal: 'runbook-running' })]);
    // The restore ends: its re-look would be 30 s away (real time here, which the test never waits).
    conditions = CALM;
    a.levelOne.stackChanged();
    await a.levelOne.idle();
    expect(a.lines).toEqual(['restart audit-engine']);
    expect((await notes(alert.id)).at(-1)).toMatchObject({ outcome: 'succeeded', attempt: 1 });
    // Told again, with nothing waiting on a run: nothing more.
    a.levelOne.stackChanged();
    await a.levelOne.idle();
    expect(a.lines).toEqual(['restart audit-engine']);
  });

  it('leaves a service that answers healthy when the run ends alone while its alert waits to resolve, and restarts it once it fails', async () => {
    let conditions = RESTORING;
    let answers = true;
    const asked: boolean[] = [];
    const a = harness({
      conditions: async () => conditions,
      health: async () => {
        asked.push(answers);
        return answers ? { healthy: true, detail: 'healthy' } : { healthy: false, detail: 'unreachable: timed out' };
      },
      run: async (line) => {
        a.lines.push(line);
        answers = true;
        return { outcome: 'ok', document: OK_DOCUMENT };
      },
    });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    conditions = CALM;
    // The restore brought the service back; its alert has yet to be resolved by its source.
    a.levelOne.stackChanged();
    await a.levelOne.idle();
    expect(a.lines).toEqual([]);
    expect(asked).toEqual([true]);
    // Asked again while the alert fires: it froze before its source saw it recover, so no new firing tells Level 1.
    answers = false;
    for (const deadline = Date.now() + 5000; a.lines.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    await a.levelOne.idle();
    expect(a.lines).toEqual(['restart audit-engine']);
    expect((await notes(alert.id)).map((note) => note?.outcome)).toEqual(['refused', 'succeeded']);
  });

  it('asks a service that answers healthy for verify_seconds at most: an alert its source still holds firing then gets its restart', async () => {
    let conditions = RESTORING;
    const a = harness({
      conditions: async () => conditions,
      health: async () => ({ healthy: true, detail: 'healthy' }),
      run: async (line) => {
        a.lines.push(line);
        return { outcome: 'ok', document: OK_DOCUMENT };
      },
    });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    conditions = CALM;
    a.levelOne.stackChanged();
    await a.levelOne.idle();
    expect(a.lines).toEqual([]);
    // The source keeps the alert firing past verify_seconds while /health answers: Level 1 acts as on any firing alert.
    clock = new Date(clock.getTime() + 31_000);
    for (const deadline = Date.now() + 5000; a.lines.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    await a.levelOne.idle();
    expect(a.lines).toEqual(['restart audit-engine']);
  });

  it('retries a restart that did not make the service healthy after its backoff, then opens the breaker and escalates once', async () => {
    // Each health check takes 5 s by the test's clock, so verifying gives up after six of them; the
    // clock moves only there, so a backoff's timer (real time, from the test's clock) never fires in
    // the middle of the test and a look never verifies with a clock that stands still.
    const a = harness({
      health: async () => {
        clock = new Date(clock.getTime() + 5000);
        return { healthy: false, detail: 'unreachable: connection refused' };
      },
    });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    const first = await notes(alert.id);
    expect(first[0]).toMatchObject({ outcome: 'failed', attempt: 1, evidence: 'audit-engine was still not healthy 30 s after Level 1 began the restart (last health check: unreachable: connection refused).' });
    // Looked at again at once: too early, the backoff is noted.
    await a.levelOne.idle();
    expect((await notes(alert.id))[1]).toMatchObject({ outcome: 'refused', refusal: 'backoff', attempt: 2 });
    expect(a.lines).toEqual(['restart audit-engine']);
    // Two more failures, each after its backoff: the third opens the breaker.
    const claims = createLevelOneClaims(pool);
    for (const attempt of [2, 3]) {
      clock = new Date(clock.getTime() + 10 * 60_000);
      await a.levelOne.consider(alert.id);
      await a.levelOne.idle();
      expect((await claims.ofEpisode(alert.id, alert.firedAt)).map((action) => action.outcome)).toHaveLength(attempt);
    }
    clock = new Date(clock.getTime() + 10 * 60_000);
    await a.levelOne.consider(alert.id);
    await a.levelOne.consider(alert.id);
    expect(a.lines).toEqual(['restart audit-engine', 'restart audit-engine', 'restart audit-engine']);
    const last = (await notes(alert.id)).at(-1);
    expect(last).toMatchObject({ outcome: 'refused', refusal: 'circuit-open', reason: expect.stringContaining('Level 1 stopped acting on audit-engine: its last 3 automatic actions failed') });
    expect(a.escalations).toEqual([`${alert.id}: ${last!.reason}`]);
  });

  it('leaves a line the policy sends to approvers to them, and notes it', async () => {
    const a = harness({ run: async () => ({ outcome: 'info', document: { title: 'Approval requested', tone: 'info', blocks: [] }, approval: { id: 'apr-1' } }) });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    expect(await notes(alert.id)).toEqual([expect.objectContaining({ outcome: 'awaiting-approval', evidence: expect.stringContaining('request apr-1') })]);
  });

  it('records a command the path refused as a failure with its reason, never as done', async () => {
    const a = harness({ run: async () => ({ outcome: 'rejected', document: { title: 'Not allowed', summary: '"restart" is refused in lockdown', tone: 'fail', blocks: [] } }) });
    const alert = await fire();
    await a.levelOne.consider(alert.id);
    expect((await notes(alert.id))[0]).toMatchObject({ outcome: 'failed', evidence: '`restart audit-engine` did not succeed: Not allowed: "restart" is refused in lockdown' });
  });
});

describe('Level 1 on alerts that fired before it started', () => {
  it('acts on the open alerts it may handle when swept, and leaves the others alone', async () => {
    const before = await fire();
    const acknowledged = await fire(serviceDown('sandbox-controller'));
    await store.acknowledge(acknowledged.id, 'U0ONCALL');
    const snoozed = await fire(serviceDown('policy-engine'));
    await store.snooze(snoozed.id, new Date(T0.getTime() + 3_600_000), 'U0ONCALL');
    await fire(firingReport({ rule: 'HighP99Latency', startsAt: T0 }));
    const a = harness();
    expect(await a.levelOne.sweep()).toBe(1);
    expect(a.lines).toEqual(['restart audit-engine']);
    expect(await notes(before.id)).toEqual([expect.objectContaining({ outcome: 'succeeded', attempt: 1 })]);
    // Swept again (a second start, the monitor's lease taken): an action that worked is not repeated
    // while its source has yet to see the alert resolve, and nothing new is noted.
    expect(await a.levelOne.sweep()).toBe(0);
    expect(a.lines).toEqual(['restart audit-engine']);
    expect(await notes(before.id)).toHaveLength(1);
  });

  it('acts once when swept twice at once (the start, then the monitor lease), noting no backoff', async () => {
    const alert = await fire();
    const a = harness();
    const [first, second] = await Promise.all([a.levelOne.sweep(), a.levelOne.sweep()]);
    expect([first, second]).toEqual([1, 0]);
    expect(a.lines).toEqual(['restart audit-engine']);
    expect(await notes(alert.id)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
  });

  it("leaves an alert another replica's unfinished attempt is on alone, noting nothing (that replica notes its outcome)", async () => {
    const alert = await fire();
    await createLevelOneClaims(otherReplica).claim({ alertId: alert.id, episode: alert.firedAt, attempt: 1, rule: 'ServiceDown', service: 'audit-engine', command: 'restart audit-engine', claimedBy: 'replica-b', at: T0 });
    const a = harness();
    expect(await a.levelOne.sweep()).toBe(1);
    expect(a.lines).toEqual([]);
    expect(await notes(alert.id)).toEqual([]);
  });

  it('acts once when two replicas sweep at once', async () => {
    const alert = await fire();
    const a = harness();
    const b = harness({ onPool: otherReplica });
    await Promise.all([a.levelOne.sweep(), b.levelOne.sweep()]);
    await Promise.all([a.levelOne.idle(), b.levelOne.idle()]);
    expect([...a.lines, ...b.lines]).toEqual(['restart audit-engine']);
    expect((await notes(alert.id)).filter((note) => note?.outcome !== 'refused')).toHaveLength(1);
  });

  it('tries again after the backoff of an attempt a stopped replica made, and notes a refusal another replica noted only once', async () => {
    const alert = await fire();
    const failing = { run: async (): Promise<LevelOneRun> => ({ outcome: 'fail', document: { title: 'Restart failed', summary: 'no such container', tone: 'fail', blocks: [] } }) } as const;
    const a = harness(failing);
    await a.levelOne.consider(alert.id);
    await a.levelOne.idle();
    await a.levelOne.stop();
    expect((await notes(alert.id)).map((note) => [note?.outcome, note?.refusal])).toEqual([
      ['failed', undefined],
      ['refused', 'backoff'],
    ]);
    // The other replica takes over while the backoff runs: it says nothing new and waits for it.
    const b = harness({ onPool: otherReplica });
    expect(await b.levelOne.sweep()).toBe(1);
    expect(b.lines).toEqual([]);
    expect(await notes(alert.id)).toHaveLength(2);
    // Once the backoff is over, its next sweep acts.
    clock = new Date(clock.getTime() + 60_000);
    await b.levelOne.stop();
    const c = harness({ onPool: otherReplica });
    await c.levelOne.sweep();
    expect(c.lines).toEqual(['restart audit-engine']);
    expect((await notes(alert.id)).at(-1)).toMatchObject({ outcome: 'succeeded', attempt: 2 });
  });

  it('does not escalate again for a breaker a stopped replica already escalated on', async () => {
    const alert = await fire();
    const failing = { run: async (): Promise<LevelOneRun> => ({ outcome: 'fail', document: { title: 'Restart failed', tone: 'fail', blocks: [] } }) } as const;
    const a = harness(failing);
    for (let attempt = 0; attempt < 3; attempt++) {
      await a.levelOne.consider(alert.id);
      await a.levelOne.idle();
      clock = new Date(clock.getTime() + 10 * 60_000);
    }
    await a.levelOne.consider(alert.id);
    expect(a.escalations).toHaveLength(1);
    await a.levelOne.stop();
    const b = harness({ ...failing, onPool: otherReplica });
    await b.levelOne.sweep();
    expect(b.lines).toEqual([]);
    expect(b.escalations).toEqual([]);
    expect((await notes(alert.id)).filter((note) => note?.refusal === 'circuit-open')).toHaveLength(1);
  });

  it('never acts on a sweep after it was stopped', async () => {
    await fire();
    const a = harness();
    await a.levelOne.stop();
    expect(await a.levelOne.sweep()).toBe(0);
    expect(a.lines).toEqual([]);
  });
});

describe("Level 1 verifying a cache warm or a prune by the alert's condition", () => {
  const lowCache = () => firingReport({ rule: 'LowCacheHitRate', labels: { service: 'policy-engine' }, startsAt: T0, value: 80 });
  const sandboxFailures = () => firingReport({ source: 'alertmanager', fingerprint: 'am/SandboxFailures', rule: 'SandboxFailures', startsAt: T0, value: 9 });
  const WARMED: LevelOneRun = { outcome: 'ok', document: { title: 'Policy Engine cache warmed', summary: '12 decisions were evaluated and cached', tone: 'ok', blocks: [] } };

  it('calls a warm that brought the hit rate back a success, with the reading as evidence', async () => {
    const readings = [80.4, 91.2, 96.5];
    const asked: string[] = [];
    const a = harness({
      run: async () => WARMED,
      condition: async (action) => {
        asked.push(action);
        const percent = readings.shift() ?? 96.5;
        return { cleared: percent >= 95, detail: `the cache hit rate was ${percent.toFixed(1)} % (threshold 95 %)` };
      },
    });
    const alert = await fire(lowCache());
    await a.levelOne.consider(alert.id);
    expect(asked).toEqual(['cache-warm', 'cache-warm', 'cache-warm']);
    expect(await notes(alert.id)).toEqual([
      expect.objectContaining({
        action: 'cache-warm',
        outcome: 'succeeded',
        evidence: expect.stringMatching(/^`cache warm` ran \(Policy Engine cache warmed: 12 decisions were evaluated and cached\); the cache hit rate was 96\.5 % \(threshold 95 %\) \d+\.\d s later\.$/),
        summary: 'Level 1 ran cache warm (cache warm): succeeded',
      }),
    ]);
  });

  it('says a warm that left the hit rate low did not help, counts it as failed and tries again after the backoff', async () => {
    // Each reading takes 10 s by the test's clock, so the 30 s of verify_seconds pass in four.
    const a = harness({
      run: async () => WARMED,
      condition: async () => {
        clock = new Date(clock.getTime() + 10_000);
        return { cleared: false, detail: 'the cache hit rate was 82.0 % (threshold 95 %)' };
      },
    });
    const alert = await fire(lowCache());
    await a.levelOne.consider(alert.id);
    await a.levelOne.idle();
    const [first, second] = await notes(alert.id);
    expect(first).toMatchObject({
      outcome: 'failed',
      evidence: '`cache warm` ran (Policy Engine cache warmed: 12 decisions were evaluated and cached) but did not help: the cache hit rate was 82.0 % (threshold 95 %) 30 s after Level 1 began.',
      summary: 'Level 1 ran cache warm (cache warm): did not help',
    });
    expect(second).toMatchObject({ outcome: 'refused', refusal: 'backoff', attempt: 2 });
    expect((await createLevelOneClaims(pool).ofEpisode(alert.id, alert.firedAt)).map((action) => action.outcome)).toEqual(['failed']);
  });

  it('says so when the condition could not be read, and does not call that a success', async () => {
    const a = harness({
      run: async () => WARMED,
      condition: async () => {
        clock = new Date(clock.getTime() + 10_000);
        throw new Error('connect ECONNREFUSED 127.0.0.1:8004');
      },
    });
    const alert = await fire(lowCache());
    await a.levelOne.consider(alert.id);
    expect((await notes(alert.id))[0]).toMatchObject({ outcome: 'failed', evidence: expect.stringContaining('did not help: its condition could not be read (connect ECONNREFUSED 127.0.0.1:8004) 30 s after') });
  });

  it('says a prune did not help while the alert stays firing through the wait', async () => {
    const a = harness({
      run: async () => ({ outcome: 'ok', document: { title: 'No sandbox containers to prune', summary: 'Removed 0 exited sandbox containers.', tone: 'ok', blocks: [] } }),
      condition: async () => {
        clock = new Date(clock.getTime() + 10_000);
        return undefined;
      },
    });
    const alert = await fire(sandboxFailures());
    await a.levelOne.consider(alert.id);
    expect((await notes(alert.id))[0]).toMatchObject({ outcome: 'failed', evidence: expect.stringMatching(/but did not help: the alert was still firing 30 s after Level 1 began\.$/), summary: 'Level 1 ran sandbox prune (sandbox prune): did not help' });
  });

  it("calls a prune a success when the alert's source resolves it within the wait, and not when a person does", async () => {
    let reads = 0;
    const prune = (resolveAs: 'source' | 'person') =>
      harness({
        run: async () => ({ outcome: 'ok', document: { title: 'Sandbox containers pruned', summary: 'Removed 4 exited sandbox containers.', tone: 'ok', blocks: [] } }),
        condition: async (action) => {
          expect(action).toBe('prune-sandboxes');
          reads += 1;
          clock = new Date(clock.getTime() + 5000);
          if (reads === 2 && resolveAs === 'source') await store.report([{ ...sandboxFailures(), status: 'resolved', endsAt: clock }]);
          if (reads === 2 && resolveAs === 'person') await store.resolve(alert.id, 'U0ONCALL');
          // Only Prometheus counts sandbox failures: nothing to read here.
          return undefined;
        },
      });
    let alert = await fire(sandboxFailures());
    await prune('source').levelOne.consider(alert.id);
    expect((await notes(alert.id))[0]).toMatchObject({ action: 'prune-sandboxes', outcome: 'succeeded', evidence: expect.stringMatching(/^`sandbox prune` ran \(Sandbox containers pruned: Removed 4 exited sandbox containers\.\); its source resolved the alert \d+\.\d s later\.$/) });

    await pool.query('TRUNCATE alert_level_one_actions, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
    reads = 0;
    alert = await fire(sandboxFailures());
    await prune('person').levelOne.consider(alert.id);
    expect((await notes(alert.id))[0]).toMatchObject({ outcome: 'failed', evidence: expect.stringMatching(/; U0ONCALL resolved the alert by hand \d+\.\d s later, before anything showed that it helped\.$/) });
  });
});
