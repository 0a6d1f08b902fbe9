import { describe, expect, it } from 'vitest';
import { immediateStep, judgeEscalation, type JudgedAlert, type JudgementInput, type ReachedLevel } from './escalation-judgement.js';
import { DEFAULT_ESCALATION, escalationMatrix } from './escalation-matrix.js';

const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const matrix = DEFAULT_ESCALATION;

function input(alert: Partial<JudgedAlert> = {}, reached: ReachedLevel[] = [], silenced = false): JudgementInput {
  return { alert: { rule: 'ServiceDown', state: 'firing', firedAt: T0, snoozedUntil: null, ...alert }, reached, silenced };
}

describe('when an unacknowledged alert goes up a level', () => {
  it('leaves a Level 1 alert alone until its wait is over, then takes it to Level 2', () => {
    expect(judgeEscalation(input(), matrix, minutes(4.9))).toBeUndefined();
    expect(judgeEscalation(input(), matrix, minutes(5))).toEqual({ level: 2, reason: 'not acknowledged within 5 min at Level 1' });
  });

  it('counts the wait at a level from when the episode reached it, one level at a time', () => {
    const atTwo = input({}, [{ level: 2, at: minutes(6) }]);
    expect(judgeEscalation(atTwo, matrix, minutes(20.9))).toBeUndefined();
    expect(judgeEscalation(atTwo, matrix, minutes(21))).toEqual({ level: 3, reason: 'not acknowledged within 15 min at Level 2' });
    // However late the check, one level per step: Level 3 waits its own time from when it is reached.
    const atThree = input({}, [{ level: 2, at: minutes(6) }, { level: 3, at: minutes(21) }]);
    expect(judgeEscalation(atThree, matrix, minutes(50.9))).toBeUndefined();
    expect(judgeEscalation(atThree, matrix, minutes(51))).toEqual({ level: 4, reason: 'not acknowledged within 30 min at Level 3' });
    expect(judgeEscalation(input({}, [{ level: 2, at: minutes(6) }, { level: 3, at: minutes(21) }, { level: 4, at: minutes(51) }]), matrix, minutes(600))).toBeUndefined();
  });

  it("reaches a rule's start level above 1 at once, so that its people hear of it", () => {
    expect(judgeEscalation(input({ rule: 'HighP99Latency' }), matrix, T0)).toEqual({ level: 2, reason: 'HighP99Latency alerts start at Level 2' });
    expect(judgeEscalation(input({ rule: 'ConstitutionalViolations' }), matrix, T0)).toEqual({ level: 4, reason: 'ConstitutionalViolations alerts start at Level 4' });
    // Once reached, it waits there as any other level.
    const reached = input({ rule: 'HighP99Latency' }, [{ level: 2, at: minutes(0.5) }]);
    expect(judgeEscalation(reached, matrix, minutes(15))).toBeUndefined();
    expect(judgeEscalation(reached, matrix, minutes(15.5))?.level).toBe(3);
    expect(judgeEscalation(input({ rule: 'ConstitutionalViolations' }, [{ level: 4, at: T0 }]), matrix, minutes(600))).toBeUndefined();
  });

  it('never takes an informational alert (a healed crash) up, however long it stays unacknowledged; a crash loop starts at Level 2', () => {
    expect(judgeEscalation(input({ rule: 'ServiceRestarted' }), matrix, minutes(600))).toBeUndefined();
    expect(immediateStep(input({ rule: 'ServiceRestarted' }), 'the breaker opened', minutes(1))).toBeUndefined();
    expect(judgeEscalation(input({ rule: 'ServiceCrashLooping' }), matrix, T0)).toEqual({ level: 2, reason: 'ServiceCrashLooping alerts start at Level 2' });
  });

  it('treats a rule the runbook does not name as one people decide (Level 2)', () => {
    expect(judgeEscalation(input({ rule: 'DiskFull' }), matrix, T0)).toEqual({ level: 2, reason: 'DiskFull alerts start at Level 2' });
  });

  it('never escalates an acknowledged, resolved, snoozed or silenced alert', () => {
    const late = minutes(600);
    expect(judgeEscalation(input({ state: 'acknowledged' }), matrix, late)).toBeUndefined();
    expect(judgeEscalation(input({ state: 'resolved' }), matrix, late)).toBeUndefined();
    expect(judgeEscalation(input({ snoozedUntil: minutes(601) }), matrix, late)).toBeUndefined();
    expect(judgeEscalation(input({}, [], true), matrix, late)).toBeUndefined();
    expect(judgeEscalation(input({ rule: 'ConstitutionalViolations' }, [], true), matrix, late)).toBeUndefined();
  });

  it('gives a snoozed alert its whole wait again once the snooze ends', () => {
    const snoozed = input({ snoozedUntil: minutes(60) });
    expect(judgeEscalation(snoozed, matrix, minutes(64.9))).toBeUndefined();
    expect(judgeEscalation(snoozed, matrix, minutes(65))).toEqual({ level: 2, reason: 'not acknowledged within 5 min at Level 1' });
  });

  it('starts a re-fired alert over: levels of the earlier episode are not its own', () => {
    // The caller passes only this episode's levels; a re-fire has none, so it waits at its start again.
    const refired = input({ firedAt: minutes(100) });
    expect(judgeEscalation(refired, matrix, minutes(104))).toBeUndefined();
    expect(judgeEscalation(refired, matrix, minutes(105))?.level).toBe(2);
  });

  it("follows the config's wait times", () => {
    const quick = escalationMatrix({ levels: { '1': { wait_minutes: 1 }, '2': { wait_minutes: 0.5 } } });
    expect(judgeEscalation(input(), quick, minutes(1))).toEqual({ level: 2, reason: 'not acknowledged within 1 min at Level 1' });
    expect(judgeEscalation(input({}, [{ level: 2, at: minutes(1) }]), quick, minutes(1.5))).toEqual({ level: 3, reason: 'not acknowledged within 0.5 min at Level 2' });
  });
});

describe('going up at once (the Level 1 circuit breaker)', () => {
  it('takes the alert one level up from where it stands, without waiting', () => {
    expect(immediateStep(input(), 'restarts of policy-engine kept failing', T0)).toEqual({ level: 2, reason: 'restarts of policy-engine kept failing' });
    expect(immediateStep(input({}, [{ level: 2, at: T0 }]), 'again', minutes(1))?.level).toBe(3);
  });

  it('does not go up again for a level reached within the last minute: two breakers at once are one step', () => {
    expect(immediateStep(input({}, [{ level: 2, at: T0 }]), 'the other replica', new Date(T0.getTime() + 59_000))).toBeUndefined();
    expect(immediateStep(input({}, [{ level: 2, at: T0 }]), 'the other replica', T0)).toBeUndefined();
  });

  it('does not go past Level 4 nor take an alert a person has, or one that is quiet', () => {
    expect(immediateStep(input({ rule: 'ConstitutionalViolations' }, [{ level: 4, at: T0 }]), 'x', T0)).toBeUndefined();
    expect(immediateStep(input({ state: 'acknowledged' }), 'x', T0)).toBeUndefined();
    expect(immediateStep(input({ state: 'resolved' }), 'x', T0)).toBeUndefined();
    expect(immediateStep(input({ snoozedUntil: minutes(10) }), 'x', T0)).toBeUndefined();
    expect(immediateStep(input({}, [], true), 'x', T0)).toBeUndefined();
  });
});
