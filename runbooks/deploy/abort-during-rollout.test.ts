/**
 * An abort that arrives while the rollout is under way: the rollout stops between services (never
 * half-way through one), the engine waits for it to come to rest, and the rollout's compensation
 * puts back what it had changed. A gate in the runbooks' Stack holds the deploy of the second
 * service until the abort has been asked for, so the abort lands inside the rollout on every run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { deployGate } from './testing/deploy-gate.js';
import { deployHarness, type DeployHarness } from './testing/deploy-harness.js';

const HELD: ServiceName = ROLLOUT_ORDER[1]!;

/** Holds the first deploy of HELD once closed, until opened. */
const gate = deployGate((service) => service === HELD && gate.arrivals.length === 0);

let h: DeployHarness;
const deploys: string[] = [];

beforeAll(async () => {
  h = await deployHarness({
    settings: { healthTimeoutMs: 15_000 },
    runbookStack: (stack) => {
      const held = gate.wrap(stack);
      return {
        ...held,
        deploy(service, artifact, options) {
          deploys.push(service);
          return held.deploy(service, artifact, options);
        },
      };
    },
  });
}, 240_000);

afterAll(async () => {
  gate.open();
  await h?.close();
}, 60_000);

const versions = async () => Object.fromEntries(await Promise.all(ROLLOUT_ORDER.map(async (service) => [service, (await h.health(service)).version] as const)));

describe('an abort during the rollout', () => {
  it('stops it after the service under way and puts back every service it changed', async () => {
    const first = await h.run('deploy', { version: '9.0.0' });
    expect(first.state, first.reason ?? '').toBe('succeeded');
    const before = await versions();
    const artifactsBefore = Object.fromEntries(await Promise.all(ROLLOUT_ORDER.map(async (service) => [service, await h.stack.running(service)] as const)));
    deploys.length = 0;
    gate.close();

    const submitted = await h.executor.submit({ runbook: 'deploy', args: { version: '9.1.0' }, requester: 'U0ONCALL', origin: 'test' });
    try {
      await h.executor.scanNow();
      await vi.waitFor(async () => expect(gate.arrivals, (await h.executor.get(submitted.id)).reason ?? 'not in the rollout yet').toEqual([HELD]), { timeout: 200_000, interval: 100 });
      await h.executor.abort(submitted.id, 'U0ONCALL');
      // Nothing is undone while the service under way is still being deployed.
      expect((await h.t.store.attempts(submitted.id)).filter((attempt) => attempt.action === 'compensate')).toEqual([]);
    } finally {
      gate.open();
    }
    const run = await h.settle(submitted.id);

    expect(run.state, run.reason ?? '').toBe('aborted');
    // The two services after the one under way were never touched; the first two went there and back.
    expect(deploys).toEqual([ROLLOUT_ORDER[0], HELD, HELD, ROLLOUT_ORDER[0]]);
    expect(await versions()).toEqual(before);
    for (const service of ROLLOUT_ORDER) expect(await h.stack.running(service)).toEqual(artifactsBefore[service]);
    for (const service of ROLLOUT_ORDER.slice(0, 2)) {
      const [latest] = await h.records.history(service, 1);
      expect(latest).toMatchObject({ version: '9.1.0', runId: submitted.id, outcome: 'rolled-back' });
      expect(await h.records.current(service)).toMatchObject({ version: '9.0.0', runId: first.id });
    }
    for (const service of ROLLOUT_ORDER.slice(2)) expect((await h.records.history(service, 5)).some((record) => record.runId === submitted.id)).toBe(false);
    const attempts = await h.t.store.attempts(submitted.id);
    expect(attempts.filter((attempt) => attempt.stepId === 'rollout').map((attempt) => `${attempt.action} ${attempt.outcome}`)).toEqual(['run interrupted', 'compensate compensated']);
    expect(attempts.find((attempt) => attempt.stepId === 'rollout' && attempt.action === 'compensate')!.output).toEqual({ rolledBack: expect.stringContaining('the run was aborted') });
    expect(h.notices.filter((notice) => notice.runId === submitted.id).map((notice) => notice.kind)).toEqual(['started', 'rolled-back']);
    expect(await h.records.lock()).toBeNull();
  }, 300_000);
});
