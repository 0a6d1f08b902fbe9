/**
 * What Level 1 reads before acting, as the bot wires it: lockdown from the command gate's mode
 * reading (unknown when it cannot be read) and the deploy lock; the roles its actor gets; and the
 * cache hit rate a cache warm is verified by, read from the real Policy Engine.
 */
import { expect, it } from 'vitest';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { startPolicyEngine } from '../../test/testing/policy-engine.js';
import { fixedModes } from '../command-path/index.js';
import { LEVEL_ONE_ACTOR, levelOneCondition, stackConditions, withLevelOneActor } from './level-one-wiring.js';

const LOCK = { stack: 'local', runId: 'r1', runbook: 'rollback', heldBy: 'U0ONCALL', since: '2026-12-07T03:00:00.000Z', takenFrom: null };

it('reads lockdown and the deploy lock', async () => {
  expect(await stackConditions(fixedModes({ strict: false, lockdown: true }), { lock: async () => LOCK })()).toEqual({
    lockdown: true,
    deployLock: { runbook: 'rollback', heldBy: 'U0ONCALL', since: '2026-12-07T03:00:00.000Z' },
  });
  expect(await stackConditions(fixedModes({ strict: true, lockdown: false }), undefined)()).toEqual({ lockdown: false, deployLock: null });
});

it('reads a restore or rollback-restore still running, and nothing for other or ended runs', async () => {
  const run = (runbook: string, state: string, id: string) => ({ id, runbook, state, requester: 'U0ONCALL' });
  const runs = (list: ReturnType<typeof run>[]) => ({ activeAndRecent: async () => list as never });
  const calm = fixedModes({ strict: false, lockdown: false });
  expect(await stackConditions(calm, undefined, runs([run('health-check', 'running', 'r1'), run('restore', 'running', 'r2')]))()).toEqual({
    lockdown: false,
    deployLock: null,
    stackRun: { runbook: 'restore', runId: 'r2', requester: 'U0ONCALL' },
  });
  expect((await stackConditions(calm, undefined, runs([run('rollback-restore', 'needs_decision', 'r3')]))()).stackRun).toMatchObject({ runId: 'r3' });
  expect((await stackConditions(calm, undefined, runs([run('restore', 'succeeded', 'r4'), run('backup', 'running', 'r5')]))()).stackRun).toBeNull();
});

it('reports a lockdown it cannot read as unknown, with why', async () => {
  const unreadable = { read: async () => ({ known: false as const, problem: 'no answer within 2000 ms' }) };
  expect(await stackConditions(unreadable, { lock: async () => null })()).toEqual({ lockdown: undefined, modesProblem: 'no answer within 2000 ms', deployLock: null });
});

it("gives the bot's actor the configured roles without changing the config's", () => {
  const config = { oncall: ['U0ONCALL'], admins: ['U0ADMIN'] };
  expect(withLevelOneActor(config, { actor_roles: ['oncall', 'automation'] })).toEqual({ oncall: ['U0ONCALL', LEVEL_ONE_ACTOR.id], admins: ['U0ADMIN'], automation: [LEVEL_ONE_ACTOR.id] });
  expect(config).toEqual({ oncall: ['U0ONCALL'], admins: ['U0ADMIN'] });
});

it("verifies a cache warm by the real Policy Engine's hit rate against LowCacheHitRate's threshold, and has no figure for a prune", async () => {
  const engine = await startPolicyEngine();
  try {
    const policyEngine = createPolicyEngineClient({ baseUrl: engine.url });
    const condition = levelOneCondition({ policyEngine, checkTimeoutMs: 2000 });
    expect(await condition('cache-warm')).toEqual({ cleared: false, detail: 'the Policy Engine had no cache lookups to judge by' });
    const input = { type: 'action_authorization' as const, constitutional_hash: CONSTITUTIONAL_HASH, action: 'system.execute_shell', context: { agent: { id: 'level-one-test', trust_level: 0.9 } } };
    // One miss, then hits: 1 of 2 lookups is 50 %, 39 of 40 is 97.5 %.
    await policyEngine.decide(input);
    await policyEngine.decide(input);
    expect(await condition('cache-warm')).toEqual({ cleared: false, detail: 'the cache hit rate was 50.0 % (threshold 95 %)' });
    for (let i = 0; i < 38; i++) await policyEngine.decide(input);
    expect(await condition('cache-warm')).toEqual({ cleared: true, detail: 'the cache hit rate was 97.5 % (threshold 95 %)' });
    expect(await condition('prune-sandboxes')).toBeUndefined();
  } finally {
    await engine.close();
  }
  // An engine that does not answer is an error the runner reports as "could not be read".
  const nowhere = levelOneCondition({ policyEngine: createPolicyEngineClient({ baseUrl: await unusedLoopbackUrl() }), checkTimeoutMs: 2000 });
  await expect(nowhere('cache-warm')).rejects.toThrow();
});
