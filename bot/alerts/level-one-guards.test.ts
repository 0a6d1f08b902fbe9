/**
 * Level 1's guard rails with the clock and the history in the test's hands: lockdown and the
 * deploy lock first, then an attempt still running, the circuit breaker, the hourly limit per
 * service and the backoff between attempts on one alert.
 */
import { describe, expect, it } from 'vitest';
import { defaultAuthorizationData } from '../authorization/data.js';
import type { LevelOneActionRecord } from './level-one-claims.js';
import { backoffAfter, decideLevelOne, levelOneLimits, type GuardInput } from './level-one-guards.js';

const T0 = new Date('2026-12-07T03:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
// The committed defaults: 3 an hour, 30 s doubling to 600 s, breaker after 3 failures for 60 min, 30 s to verify.
const LIMITS = levelOneLimits(defaultAuthorizationData().level_one);
const CALM = { lockdown: false, deployLock: null } as const;

function action(overrides: Partial<LevelOneActionRecord> & { claimedAt: Date }): LevelOneActionRecord {
  return {
    id: '1',
    alertId: '7',
    episode: T0,
    attempt: 1,
    rule: 'ServiceDown',
    service: 'audit-engine',
    command: 'restart audit-engine',
    claimedBy: 'replica-a',
    outcome: 'failed',
    finishedAt: new Date(overrides.claimedAt.getTime() + 10_000),
    details: null,
    ...overrides,
  };
}

function decide(overrides: Partial<GuardInput>) {
  return decideLevelOne({ now: at(0), service: 'audit-engine', episode: [], serviceActions: [], stack: CALM, limits: LIMITS, ...overrides });
}

describe('Level 1 guard rails', () => {
  it('reads its limits from the authorization defaults', () => {
    expect(LIMITS).toEqual({ maxActionsPerServicePerHour: 3, backoffMs: 30_000, backoffMaxMs: 600_000, breakerFailures: 3, breakerOpenMs: 3_600_000, verifyMs: 30_000 });
  });

  it('acts on a first firing with attempt 1', () => {
    expect(decide({})).toEqual({ act: true, attempt: 1 });
  });

  it('never acts in lockdown, nor when the modes cannot be read, and looks again after the backoff', () => {
    expect(decide({ stack: { lockdown: true, deployLock: null } })).toEqual({
      act: false,
      code: 'lockdown',
      reason: 'Level 1 did not act: the Policy Engine is in emergency lockdown, and nothing acts on its own during one.',
      retryAt: at(30),
      escalate: false,
    });
    expect(decide({ stack: { lockdown: undefined, modesProblem: 'no answer within 2000 ms', deployLock: null } })).toMatchObject({
      act: false,
      code: 'lockdown',
      reason: expect.stringContaining('could not be read (no answer within 2000 ms)'),
    });
  });

  it('restarts the Policy Engine itself when its modes cannot be read: the restart is what brings them back', () => {
    const unknown = { lockdown: undefined, modesProblem: 'connection refused', deployLock: null };
    expect(decide({ service: 'policy-engine', action: 'restart-service', stack: unknown })).toEqual({ act: true, attempt: 1 });
    // Not a cache warm of it, not in a known lockdown, and not past the other guard rails.
    expect(decide({ service: 'policy-engine', action: 'cache-warm', stack: unknown })).toMatchObject({ act: false, code: 'lockdown' });
    expect(decide({ service: 'policy-engine', action: 'restart-service', stack: { lockdown: true, deployLock: null } })).toMatchObject({ act: false, code: 'lockdown' });
    expect(decide({ service: 'policy-engine', action: 'restart-service', stack: { ...unknown, deployLock: { runbook: 'deploy', heldBy: 'U0ONCALL', since: '10:00' } } })).toMatchObject({ act: false, code: 'deploy-lock' });
  });

  it('never acts while a restore runs, which stops services on purpose', () => {
    const decision = decide({ stack: { lockdown: false, deployLock: null, stackRun: { runbook: 'restore', runId: 'run-7', requester: 'U0ONCALL' } } });
    expect(decision).toEqual({
      act: false,
      code: 'runbook-running',
      reason: "Level 1 did not act: U0ONCALL's restore run run-7 is running and stops services on purpose; restarting one would undo its work.",
      retryAt: at(30),
      escalate: false,
    });
    expect(decide({ stack: { lockdown: false, deployLock: null, stackRun: null } })).toMatchObject({ act: true });
  });

  it('never acts while a deployment or rollback holds the deploy lock', () => {
    const decision = decide({ stack: { lockdown: false, deployLock: { runbook: 'rollback', heldBy: 'U0ONCALL', since: '2026-12-07T02:59:00.000Z' } } });
    expect(decision).toEqual({
      act: false,
      code: 'deploy-lock',
      reason: 'Level 1 did not act: the rollback run of U0ONCALL holds the deploy lock (since 2026-12-07T02:59:00.000Z), and nothing acts on its own during a deployment or rollback.',
      retryAt: at(30),
      escalate: false,
    });
  });

  it('waits while another attempt on the alert runs, and counts one abandoned by a dead replica as failed', () => {
    const running = action({ claimedAt: at(-5), outcome: null, finishedAt: null });
    expect(decide({ episode: [running], serviceActions: [running] })).toMatchObject({ act: false, code: 'in-progress', retryAt: at(-5 + 150) });
    // 150 s later (verify 30 s + 120 s) nobody will finish it: the next attempt waits its backoff from the claim.
    expect(decide({ now: at(146), episode: [running], serviceActions: [running] })).toEqual({ act: true, attempt: 2 });
  });

  it('backs off exponentially between attempts on one alert', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempts) => backoffAfter(attempts, LIMITS) / 1000)).toEqual([30, 60, 120, 240, 480, 600, 600]);
    const first = action({ claimedAt: at(0), finishedAt: at(10) });
    expect(decide({ now: at(39), episode: [first], serviceActions: [first] })).toEqual({
      act: false,
      code: 'backoff',
      reason: 'Level 1 waits 30 s after attempt 1 before trying again (at 2026-12-07T03:00:40.000Z).',
      retryAt: at(40),
      escalate: false,
    });
    expect(decide({ now: at(40), episode: [first], serviceActions: [first] })).toEqual({ act: true, attempt: 2 });
    const second = action({ attempt: 2, claimedAt: at(40), finishedAt: at(50) });
    expect(decide({ now: at(109), episode: [first, second], serviceActions: [first, second] })).toMatchObject({ act: false, code: 'backoff', retryAt: at(110) });
    expect(decide({ now: at(110), episode: [first, second], serviceActions: [first, second] })).toEqual({ act: true, attempt: 3 });
  });

  it('opens the breaker after repeated failures on a service, escalates, and closes it after the open period', () => {
    const failures = [0, 100, 200].map((second, index) => action({ id: String(index), alertId: String(index), claimedAt: at(second), finishedAt: at(second + 30) }));
    const open = decide({ now: at(300), serviceActions: failures });
    expect(open).toEqual({
      act: false,
      code: 'circuit-open',
      reason: 'Level 1 stopped acting on audit-engine: its last 3 automatic actions failed, so auto-resolution is off for it for 60 min (until 2026-12-07T04:03:50.000Z); a person has to look.',
      escalate: true,
    });
    // An hour after the last failure the breaker lets one attempt through again.
    expect(decide({ now: at(230 + 3600), serviceActions: failures })).toEqual({ act: true, attempt: 1 });
    // One success among the last three keeps it closed (the hourly limit still counts them).
    const mixed = [...failures.slice(0, 2), action({ claimedAt: at(200), outcome: 'succeeded', finishedAt: at(210) })];
    expect(decide({ now: at(4000), serviceActions: mixed })).toEqual({ act: true, attempt: 1 });
  });

  it('acts at most N times per service per hour, across alerts, and escalates when the limit stops it', () => {
    const actions = [0, 600, 1200].map((second, index) => action({ id: String(index), alertId: String(index), claimedAt: at(second), outcome: 'succeeded', finishedAt: at(second + 5) }));
    expect(decide({ now: at(1800), serviceActions: actions })).toEqual({
      act: false,
      code: 'rate-limit',
      reason: 'Level 1 did not act: it already acted on audit-engine 3 times in the last hour, its limit (3 an hour); a person has to look.',
      retryAt: at(3600),
      escalate: true,
    });
    expect(decide({ now: at(3600), serviceActions: actions })).toEqual({ act: true, attempt: 1 });
  });

  it('takes the limits from the config file through the authorization data', () => {
    const limits = levelOneLimits({ ...defaultAuthorizationData().level_one, max_actions_per_service_per_hour: 1 });
    const one = action({ claimedAt: at(-60), outcome: 'succeeded' });
    expect(decide({ limits, serviceActions: [one] })).toMatchObject({ act: false, code: 'rate-limit' });
  });
});
