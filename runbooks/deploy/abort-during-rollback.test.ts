/**
 * An abort that arrives while a deploy rolls itself back: the watch's verdict found the release
 * slow and its rollback (the one that ends the run with a RunFailedError) is under way. The abort
 * stops waiting for that step and compensates the rollout, which is a rollback too: it must join
 * the one under way, not deploy the service back a second time beside it, and the lock is freed
 * only once the stack is back. A gate in the runbooks' Stack holds the verdict's rollback at its
 * first deploy until the abort's compensation has begun, so the two meet on every run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { ReleaseArtifact } from '../../services/stack/releases/release.js';
import { sameArtifact } from './release-plan.js';
import { startDecisionTraffic } from './testing/decision-traffic.js';
import { deployGate } from './testing/deploy-gate.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';

const ALL: ServiceName[] = ['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine'];
/** Long enough for a compensation that does not join to reach the Stack: it does within milliseconds. */
const JOIN_GRACE_MS = 2000;

let back: ReleaseArtifact | undefined;
/** Holds every deploy of `back` (what policy-engine ran before the release) until opened. */
const gate = deployGate((_service, artifact) => back !== undefined && sameArtifact(artifact, back));

let h: DeployHarness;

beforeAll(async () => {
  h = await deployHarness({ settings: { healthTimeoutMs: 15_000 }, runbookStack: gate.wrap });
}, 240_000);

afterAll(async () => {
  gate.open();
  await h?.close();
}, 60_000);

const versions = async () => Object.fromEntries(await Promise.all(ALL.map(async (service) => [service, (await h.health(service)).version] as const)));

describe('an abort racing the rollback a failed watch started', () => {
  it('joins that rollback: the service goes back once, its records are right, one notice, the lock freed last', async () => {
    const first = await h.run('deploy', { version: '9.0.0', services: 'policy-engine' });
    expect(first.state, first.reason ?? '').toBe('succeeded');
    const before = await versions();
    back = await h.stack.running('policy-engine');
    gate.close();

    // Agents keep asking: the watch judges p99 only under traffic, and 9.3.0-slow breaks it.
    const traffic = startDecisionTraffic(`http://127.0.0.1:${h.ports['policy-engine']}`);
    const submitted = await h.executor.submit({ runbook: 'deploy', args: { version: '9.3.0-slow', services: 'policy-engine' }, requester: 'U0ONCALL', origin: 'test' });
    try {
      await h.executor.scanNow();
      await vi.waitFor(async () => expect(gate.arrivals, (await h.executor.get(submitted.id)).reason ?? 'no rollback yet').toEqual(['policy-engine']), { timeout: 200_000, interval: 100 });
      const attempts = await h.t.store.attempts(submitted.id);
      expect(attempts.find((attempt) => attempt.stepId === 'act-on-watch')).toMatchObject({ action: 'run', outcome: 'running' });

      await h.executor.abort(submitted.id, 'U0ONCALL');
      await vi.waitFor(async () => expect((await h.t.store.attempts(submitted.id)).some((attempt) => attempt.stepId === 'rollout' && attempt.action === 'compensate')).toBe(true), { timeout: 30_000, interval: 50 });
      await new Promise((resolve) => setTimeout(resolve, JOIN_GRACE_MS));
      // The compensation waits for the rollback under way; the lock is still this run's.
      expect(gate.arrivals).toEqual(['policy-engine']);
      expect(await h.records.lock()).toMatchObject({ runId: submitted.id });
    } finally {
      gate.open();
      await traffic.stop();
    }
    const run = await h.settle(submitted.id);

    expect(run.state, run.reason ?? '').toBe('aborted');
    expect(gate.arrivals).toEqual(['policy-engine']);
    expect(await versions()).toEqual(before);
    expect(sameArtifact(await h.stack.running('policy-engine'), back!)).toBe(true);
    const [slow, now] = await h.records.history('policy-engine', 2);
    expect(now).toMatchObject({ version: '9.0.0', runId: first.id, outcome: 'live' });
    expect(slow).toMatchObject({ version: '9.3.0-slow', runId: submitted.id, outcome: 'rolled-back' });
    expect((await h.records.current('policy-engine'))?.id).toBe(now!.id);
    expect(h.notices.filter((notice) => notice.runId === submitted.id).map((notice) => notice.kind)).toEqual(['started', 'rolled-back']);
    const compensations = (await h.t.store.attempts(submitted.id)).filter((attempt) => attempt.action === 'compensate');
    expect(compensations.map((attempt) => `${attempt.stepId} ${attempt.outcome}`)).toEqual(['rollout compensated', 'lock compensated']);
    expect(compensations[0]!.output).toEqual({ rolledBack: expect.stringMatching(/^9\.3\.0-slow was rolled back: the watch saw .*Every service runs what it ran before \(policy-engine 9\.0\.0\)\.$/) });
    expect(await h.records.lock()).toBeNull();
  }, 300_000);
});
