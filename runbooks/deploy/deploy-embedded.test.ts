/**
 * The deploy and hotfix runbooks on the embedded stack of `npm start` (deploy-harness.ts): a good
 * release goes live with its records, notices and watch; a release that is bad on its own never
 * reaches a service; a release that passes validation but fails on the real stack is rolled back
 * during the rollout; a slow release that breaches the watch is rolled back by the watch; a
 * second deployment is refused while one holds the lock; bad input is refused before any run.
 * One stack for the whole file: each test starts from what the one before left (9.0.0 live).
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunbookInputError } from '../engine/errors.js';
import { FRAGILE_RELEASE_TRIGGER } from '../../test/testing/release-repo.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { ReleasePlan } from './release-plan.js';
import { failedFigures, healthFigures } from './verification.js';
import type { RolloutOutput } from './rollout.js';
import type { WatchVerdict } from './watch.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';
import { startDecisionTraffic } from './testing/decision-traffic.js';

let h: DeployHarness;
const ALL: ServiceName[] = ['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine'];

beforeAll(async () => {
  h = await deployHarness({ settings: { healthTimeoutMs: 15_000 } });
}, 240_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

async function versions(): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const service of ALL) seen[service] = (await h.health(service)).version;
  return seen;
}

const everyService = (version: string) => Object.fromEntries(ALL.map((service) => [service, version]));

async function currentVersions(): Promise<Record<string, string | undefined>> {
  const seen: Record<string, string | undefined> = {};
  for (const service of ALL) seen[service] = (await h.records.current(service))?.version;
  return seen;
}

async function refusalOf(promise: Promise<unknown>): Promise<RunbookInputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RunbookInputError);
  return error as RunbookInputError;
}

describe('deploy on the embedded stack', () => {
  it('deploys a good release service by service: live, recorded, verified, watched, announced, unlocked', async () => {
    const run = await h.run('deploy', { version: '9.0.0' });
    expect(run.reason).toBe('9.0.0 (v9.0.0) is live on audit-engine, evolution-oversight, sandbox-controller, policy-engine; the watch passed.');
    expect(run.state).toBe('succeeded');
    expect(await versions()).toEqual(everyService('9.0.0'));
    expect(await currentVersions()).toEqual(everyService('9.0.0'));
    const record = await h.records.current('policy-engine');
    expect(record).toMatchObject({ kind: 'deploy', runId: run.id, requestedBy: 'U0ONCALL', ref: 'v9.0.0', commit: h.repo.commits['v9.0.0'], outcome: 'live' });

    const rollout = (await h.output(run.id, 'rollout')) as RolloutOutput;
    expect(rollout.services.map((entry) => entry.service)).toEqual(ALL);
    expect(rollout.services.every((entry) => entry.strategy === 'handover' && entry.verification.every((figure) => figure.ok))).toBe(true);
    const verify = (await h.output(run.id, 'verify')) as { figures: Array<{ name: string; value: string; ok: boolean }> };
    expect(verify.figures).toEqual(
      expect.arrayContaining([
        { name: 'known allowed request', value: 'allowed', limit: 'allowed', ok: true },
        { name: 'known denied request', value: 'denied', limit: 'denied', ok: true },
        expect.objectContaining({ name: 'audit chain', ok: true }),
      ]),
    );
    expect(await h.output(run.id, 'backup')).toMatchObject({ id: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/) });
    expect(await h.output(run.id, 'watch')).toMatchObject({ verdict: 'passed' });

    expect(h.notices.map((notice) => `${notice.kind} ${notice.version}`)).toEqual(['started 9.0.0', 'finished 9.0.0']);
    const finished = h.notices[1]!;
    expect(finished).toMatchObject({ runId: run.id, requester: 'U0ONCALL', commit: h.repo.commits['v9.0.0'] });
    expect(finished.services.map((change) => change.to)).toEqual(['9.0.0', '9.0.0', '9.0.0', '9.0.0']);
    expect(finished.kind === 'finished' && finished.verification.some((figure) => figure.name === 'watch')).toBe(true);
    expect(await h.records.lock()).toBeNull();
  }, 240_000);

  it("shows the plan an approval binds to: each service's version from and to, in rollout order, and the watch rules", async () => {
    const plan = await h.executor.plan('deploy', { version: '9.1.0' });
    expect(plan.level).toBe(2);
    const prepare = plan.steps.find((step) => step.id === 'prepare')!;
    expect(prepare.dryRun).toMatchObject({
      mode: 'read-only-check',
      text: `9.1.0 is v9.1.0 at ${h.repo.commits['v9.1.0'].slice(0, 12)}; in this order: audit-engine 9.0.0 → 9.1.0, evolution-oversight 9.0.0 → 9.1.0, sandbox-controller 9.0.0 → 9.1.0, policy-engine 9.0.0 → 9.1.0`,
      target: `${h.repo.commits['v9.1.0']}: audit-engine 9.0.0 → 9.1.0, evolution-oversight 9.0.0 → 9.1.0, sandbox-controller 9.0.0 → 9.1.0, policy-engine 9.0.0 → 9.1.0`,
    });
    expect(plan.steps.find((step) => step.id === 'watch')!.dryRun.target).toBe('watch 3 s every 500 ms, rollback after 3');
    expect(plan.steps.find((step) => step.id === 'health-now')!.dryRun.mode).toBe('read-only-check');
    // A plan only reads: nothing was prepared, nothing deployed.
    expect(await versions()).toEqual(everyService('9.0.0'));
  }, 60_000);

  it.each([
    [{ version: '7.7.7' }, /7\.7\.7/],
    [{ version: 'v9.0.0; rm -rf /' }, /not a version|is not/],
    [{ version: '9.1.0', services: 'web' }, /`web` is not a service of the stack: the services are /],
    [{ version: '9.1.0', extra: 'x' }, /extra|Unrecognized/i],
    [{}, /version/],
  ])('refuses %j before any run is recorded', async (args, words) => {
    const before = (await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows[0].n;
    const refusal = await refusalOf(h.executor.submit({ runbook: 'deploy', args, requester: 'U0ONCALL', origin: 'test' }));
    expect(refusal.message).toMatch(words);
    expect((await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows[0].n).toBe(before);
  });

  it('never lets a release that is unhealthy on its own reach a service: the run ends failed, nothing changed', async () => {
    const run = await h.run('deploy', { version: '9.2.0-bad' });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^9\.2\.0-bad is not healthy on its own, so nothing was deployed: policy-engine: /);
    expect(await versions()).toEqual(everyService('9.0.0'));
    expect(await currentVersions()).toEqual(everyService('9.0.0'));
    expect(await h.output(run.id, 'rollout')).toBeUndefined();
    expect(h.notices.filter((notice) => notice.runId === run.id)).toEqual([]);
    expect(await h.records.lock()).toBeNull();
  }, 240_000);

  it('rolls a release that fails on the real stack back during the rollout: the failing service and those before it', async () => {
    // Healthy in validation (scratch state), unhealthy on this stack's state.
    writeFileSync(join(h.stateDir, 'policy-engine', FRAGILE_RELEASE_TRIGGER), 'break');
    try {
      const run = await h.run('deploy', { version: '9.4.0-fragile' });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(
        /^9\.4\.0-fragile was rolled back: policy-engine's new replica was not healthy within 15 s \(The new policy-engine from .* did not become healthy: .*answered 503\)\)\. Every service runs what it ran before \(audit-engine 9\.0\.0, evolution-oversight 9\.0\.0, sandbox-controller 9\.0\.0, policy-engine 9\.0\.0\)\.$/,
      );
    } finally {
      rmSync(join(h.stateDir, 'policy-engine', FRAGILE_RELEASE_TRIGGER), { force: true });
    }
    expect(await versions()).toEqual(everyService('9.0.0'));
    expect(await currentVersions()).toEqual(everyService('9.0.0'));
    const auditHistory = await h.records.history('audit-engine', 1);
    // Recorded under the version word as typed: the name people gave the release.
    expect(auditHistory[0]).toMatchObject({ version: '9.4.0-fragile', outcome: 'rolled-back' });
    expect((await h.records.history('policy-engine', 1))[0]).toMatchObject({ version: '9.4.0-fragile', outcome: 'failed' });
    // The stack is healthy again: what the next deploy checks first.
    expect(failedFigures(await healthFigures(h.stepPorts, ALL, new AbortController().signal))).toEqual([]);
    const rolledBack = h.notices.at(-1)!;
    expect(rolledBack).toMatchObject({ kind: 'rolled-back', version: '9.4.0-fragile', reason: expect.stringContaining("policy-engine's new replica was not healthy") });
    expect(await h.records.lock()).toBeNull();
  }, 300_000);

  it('refuses a second deployment while one holds the lock, naming who holds it; hotfix too', async () => {
    const holder = await h.t.store.create({ runbook: 'deploy', version: 'held-by-test', args: { version: '9.1.0' }, requester: 'U0OTHER', origin: 'test' });
    await h.records.acquire(holder.id, 'deploy', 'U0OTHER');
    try {
      for (const [runbook, args] of [
        ['deploy', { version: '9.1.0' }],
        ['hotfix', { service: 'policy-engine', version: '9.1.0' }],
      ] as const) {
        const refusal = await refusalOf(h.executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' }));
        expect(refusal.message).toMatch(new RegExp(`^A deployment is in progress: U0OTHER holds the deploy lock since .* for run ${holder.id} \\(deploy\\)\\.$`));
        expect(refusal.hint).toContain('/acgs rollback');
      }
    } finally {
      await h.t.pool.query("UPDATE runbook_runs SET state = 'aborted' WHERE id = $1", [holder.id]);
    }
    expect(await h.records.lock()).toBeNull();
  });

  it('hotfixes one service: only it changes, with an emergency backup and the shorter watch', async () => {
    const run = await h.run('hotfix', { service: 'policy-engine', version: '9.1.0' });
    expect(run.state).toBe('succeeded');
    expect(run.reason).toBe('9.1.0 (v9.1.0) is live on policy-engine (hotfix); the watch passed.');
    expect(await versions()).toEqual({ ...everyService('9.0.0'), 'policy-engine': '9.1.0' });
    expect(await h.records.current('policy-engine')).toMatchObject({ version: '9.1.0', kind: 'hotfix', runId: run.id });
    const plan = (await h.output(run.id, 'prepare')) as ReleasePlan;
    expect(plan.services.map((change) => change.service)).toEqual(['policy-engine']);
    expect(await h.output(run.id, 'backup')).toMatchObject({ id: expect.any(String) });
  }, 240_000);

  it('stops a deployment whose lock a rollback took over: it deploys nothing more and leaves the stack to the taker', async () => {
    const run = await h.executor.submit({ runbook: 'deploy', args: { version: '9.1.0', services: 'audit-engine,evolution-oversight,sandbox-controller' }, requester: 'U0ONCALL', origin: 'test' });
    await h.executor.scanNow();
    await vi.waitFor(
      async () => expect((await h.t.store.attempts(run.id)).some((attempt) => attempt.stepId === 'rollout' && attempt.outcome === 'running'), (await h.executor.get(run.id)).reason ?? '').toBe(true),
      { timeout: 180_000, interval: 100 },
    );
    const taker = await h.t.store.create({ runbook: 'rollback', version: 'held-by-test', args: {}, requester: 'U0LEAD', origin: 'test' });
    try {
      await h.records.takeOver(taker.id, 'U0LEAD');
      const ended = await h.settle(run.id);
      expect(ended.state).toBe('failed');
      expect(ended.reason).toBe(`The deploy lock was taken over by run ${taker.id} (rollback, U0LEAD): this rollback decides what the stack runs now, so this deployment stops here and changes nothing more.`);
      // No finished or rolled-back notice of the stopped run: the stack is the taker's to announce.
      expect(h.notices.filter((notice) => notice.runId === run.id).map((notice) => notice.kind)).toEqual(['started']);
      expect(await h.records.lock()).toMatchObject({ runId: taker.id });
    } finally {
      await h.t.pool.query("UPDATE runbook_runs SET state = 'aborted' WHERE id = $1", [taker.id]);
    }
    expect((await h.health('policy-engine')).version).toBe('9.1.0');
  }, 300_000);

  it('rolls a release that breaches the watch back by itself under traffic, with the samples that breached', async () => {
    // Agents keep asking for decisions throughout, ten at a time: the watch judges p99 only under traffic.
    const traffic = startDecisionTraffic(`http://127.0.0.1:${h.ports['policy-engine']}`);
    let run;
    try {
      run = await h.run('deploy', { version: '9.3.0-slow', services: 'policy-engine' });
    } finally {
      await traffic.stop();
    }
    expect(run.state, run.reason ?? '').toBe('failed');
    expect(run.reason).toMatch(/^9\.3\.0-slow was rolled back: the watch saw .*p99.*Every service runs what it ran before \(policy-engine 9\.1\.0\)\.$/);
    expect((await h.health('policy-engine')).version).toBe('9.1.0');
    expect(await h.records.current('policy-engine')).toMatchObject({ version: '9.1.0' });
    const rolledBack = h.notices.at(-1)!;
    expect(rolledBack.kind).toBe('rolled-back');
    expect(rolledBack.kind === 'rolled-back' && rolledBack.breaches.length).toBeGreaterThanOrEqual(3);
    expect(rolledBack.kind === 'rolled-back' && rolledBack.breaches[0]).toMatchObject({ metric: 'policy-p99', limit: 'Policy Engine p99 above 5 ms' });
    // Each breach at the wall-clock time its sample was read, inside the watch's attempt.
    const watched = (await h.output(run.id, 'watch')) as Extract<WatchVerdict, { verdict: 'rollback' }>;
    const times = watched.breaching.flatMap((sample) => sample.breaches.map(() => sample.at));
    expect(rolledBack.kind === 'rolled-back' && rolledBack.breaches.map((breach) => breach.at)).toEqual(times);
    const attempt = (await h.t.store.attempts(run.id)).find((each) => each.stepId === 'watch' && each.outcome === 'done')!;
    for (const at of times) {
      expect(Date.parse(at)).toBeGreaterThanOrEqual(attempt.startedAt.getTime());
      expect(Date.parse(at)).toBeLessThanOrEqual(attempt.finishedAt!.getTime());
    }
  }, 240_000);

  it('stops a deployment in its watch once a rollback has taken its lock over, even after that rollback freed the lock', async () => {
    const run = await h.executor.submit({ runbook: 'deploy', args: { version: '9.0.0', services: 'policy-engine' }, requester: 'U0ONCALL', origin: 'test' });
    await h.executor.scanNow();
    await vi.waitFor(
      async () => expect((await h.t.store.attempts(run.id)).some((attempt) => attempt.stepId === 'watch' && attempt.outcome === 'running'), (await h.executor.get(run.id)).reason ?? '').toBe(true),
      { timeout: 180_000, interval: 50 },
    );
    const taker = await h.t.store.create({ runbook: 'rollback', version: 'held-by-test', args: {}, requester: 'U0LEAD', origin: 'test' });
    try {
      // The rollback takes the lock over and, done, frees it: the deploy's watch is still running.
      await h.records.takeOver(taker.id, 'U0LEAD');
      expect(await h.records.release(taker.id)).toBe(true);
      const ended = await h.settle(run.id);
      expect(ended.state).toBe('failed');
      expect(ended.reason).toBe(`The deploy lock was taken over by run ${taker.id} (rollback, U0LEAD): this rollback decides what the stack runs now, so this deployment stops here and changes nothing more.`);
      const attempts = await h.t.store.attempts(run.id);
      expect(attempts.filter((attempt) => attempt.outcome === 'failed').map((attempt) => attempt.stepId)).toEqual(['watch']);
      expect(attempts.some((attempt) => attempt.stepId === 'act-on-watch' || attempt.stepId === 'notice-finished')).toBe(false);
      expect(h.notices.filter((notice) => notice.runId === run.id).map((notice) => notice.kind)).toEqual(['started']);
      expect(await h.records.lock()).toBeNull();
    } finally {
      await h.t.pool.query("UPDATE runbook_runs SET state = 'aborted' WHERE id = $1", [taker.id]);
    }
  }, 300_000);
});
