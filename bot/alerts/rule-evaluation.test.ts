/**
 * The monitor's judgement over samples with their own times, no timers: `for` durations, resolving,
 * rules whose source did not answer, and alerts taken over after a restart.
 */
import { describe, expect, it } from 'vitest';
import { ALERT_RULES } from './alert-rules.js';
import { createRuleEvaluator, monitorFingerprint, type MonitorSample, type Observation } from './rule-evaluation.js';

const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const down = (service: string, breaching: boolean): Observation => ({ rule: 'ServiceDown', labels: { service }, value: breaching ? 1 : 0, breaching });
const latency = (value: number): Observation => ({ rule: 'HighP99Latency', labels: { service: 'policy-engine' }, value, breaching: value > 5 });

function sample(seconds: number, observations: Observation[], evaluated: MonitorSample['evaluated'] = new Set(observations.map((o) => o.rule))): MonitorSample {
  return { at: at(seconds), observations, evaluated };
}

describe('the rule evaluator', () => {
  it('fires ServiceDown once the service has been down for its for-duration, and not again while it stays down', () => {
    const evaluator = createRuleEvaluator();
    expect(ALERT_RULES.ServiceDown.forSeconds).toBe(5);
    expect(evaluator.evaluate(sample(0, [down('audit-engine', false)]))).toEqual([]);
    expect(evaluator.evaluate(sample(2, [down('audit-engine', true)]))).toEqual([]);
    expect(evaluator.evaluate(sample(6.9, [down('audit-engine', true)]))).toEqual([]);
    expect(evaluator.evaluate(sample(7, [down('audit-engine', true)]))).toEqual([
      {
        source: 'monitor',
        fingerprint: 'monitor/ServiceDown/service=audit-engine',
        rule: 'ServiceDown',
        status: 'firing',
        labels: { alertname: 'ServiceDown', service: 'audit-engine' },
        annotations: { summary: 'a service health check is failing', value: '1 count against a threshold of 1 count' },
        startsAt: at(7),
        value: 1,
      },
    ]);
    expect(evaluator.evaluate(sample(9, [down('audit-engine', true)]))).toEqual([]);
  });

  it('counts the for-duration from when a check began waiting for an answer that never came', () => {
    const evaluator = createRuleEvaluator();
    const unanswered = (since: number): Observation => ({ ...down('audit-engine', true), since: at(since) });
    // Two readings back to back, each waiting a 3 s timeout: the service did not answer from 0 s on.
    expect(evaluator.evaluate(sample(3, [unanswered(0)]))).toEqual([]);
    expect(evaluator.evaluate(sample(6, [unanswered(3)])).map((report) => [report.status, report.startsAt])).toEqual([['firing', at(6)]]);
  });

  it('takes an observation\'s since only for a new pending condition, and never after the sample', () => {
    const evaluator = createRuleEvaluator();
    evaluator.evaluate(sample(2, [down('audit-engine', true)]));
    // Pending since 2 s already: a later reading's earlier since does not move it back.
    expect(evaluator.evaluate(sample(6, [{ ...down('audit-engine', true), since: at(-10) }]))).toEqual([]);
    expect(evaluator.evaluate(sample(7, [down('audit-engine', true)]))).toHaveLength(1);
    const other = createRuleEvaluator();
    expect(other.evaluate(sample(2, [{ ...down('audit-engine', true), since: at(9) }]))).toEqual([]);
    expect(other.evaluate(sample(6.9, [down('audit-engine', true)]))).toEqual([]);
    expect(other.evaluate(sample(7, [down('audit-engine', true)]))).toHaveLength(1);
  });

  it('resolves at the first sample where the condition no longer holds, with the episode\'s startsAt', () => {
    const evaluator = createRuleEvaluator();
    evaluator.evaluate(sample(0, [down('audit-engine', true)]));
    evaluator.evaluate(sample(5, [down('audit-engine', true)]));
    const [resolved] = evaluator.evaluate(sample(8, [down('audit-engine', false)]));
    expect(resolved).toMatchObject({ status: 'resolved', startsAt: at(5), endsAt: at(8) });
    // The reading that resolved it is not what fired: the store keeps the firing value.
    expect(resolved).not.toHaveProperty('value');
    expect(evaluator.evaluate(sample(10, [down('audit-engine', false)]))).toEqual([]);
  });

  it('starts the for-duration again when the condition clears before it fires', () => {
    const evaluator = createRuleEvaluator();
    evaluator.evaluate(sample(0, [latency(9)]));
    expect(evaluator.evaluate(sample(59, [latency(2)]))).toEqual([]);
    expect(evaluator.evaluate(sample(60, [latency(9)]))).toEqual([]);
    expect(evaluator.evaluate(sample(119, [latency(9)]))).toEqual([]);
    expect(evaluator.evaluate(sample(120, [latency(9)])).map((report) => [report.status, report.value])).toEqual([['firing', 9]]);
  });

  it('keeps an alert of a rule whose source did not answer, and resolves one whose subject is gone from a source that did', () => {
    const evaluator = createRuleEvaluator();
    const cpu = (replica: string, value: number): Observation => ({ rule: 'HighCpu', labels: { service: 'policy-engine', replica }, value, breaching: value > 80 });
    evaluator.evaluate(sample(0, [latency(9), cpu('policy-engine', 95)]));
    expect(evaluator.evaluate(sample(300, [latency(9), cpu('policy-engine', 95)])).map((report) => report.rule)).toEqual(['HighP99Latency', 'HighCpu']);
    // The Policy Engine is down: no metrics, and no stats of its process either, while the stack answered.
    expect(evaluator.evaluate(sample(302, [], new Set(['ServiceDown', 'HighCpu'])))).toMatchObject([{ rule: 'HighCpu', status: 'resolved', startsAt: at(300), endsAt: at(302) }]);
    expect(evaluator.evaluate(sample(400, [latency(1)])).map((report) => [report.rule, report.status])).toEqual([['HighP99Latency', 'resolved']]);
  });

  it('resolves an alert it fired before a restart, once taken over', () => {
    const evaluator = createRuleEvaluator();
    const fingerprint = monitorFingerprint('ServiceDown', { service: 'sandbox-controller' });
    evaluator.adopt([{ fingerprint, rule: 'ServiceDown', labels: { alertname: 'ServiceDown', service: 'sandbox-controller' }, firedAt: at(-60) }]);
    expect(evaluator.evaluate(sample(0, [down('sandbox-controller', true)]))).toEqual([]);
    expect(evaluator.evaluate(sample(2, [down('sandbox-controller', false)]))).toMatchObject([{ fingerprint, status: 'resolved', startsAt: at(-60), labels: { alertname: 'ServiceDown', service: 'sandbox-controller' } }]);
  });

  it('suspends a held service: no firing however long it is down, a firing alert stays, and the for-duration starts over afterwards', () => {
    const evaluator = createRuleEvaluator();
    const held = (service: string): Observation => ({ ...down(service, true), suspended: true });
    for (const seconds of [0, 10, 60, 600]) expect(evaluator.evaluate(sample(seconds, [held('audit-engine')]))).toEqual([]);
    // Down a little before the hold: the pending time before it does not count after it.
    evaluator.evaluate(sample(601, [down('policy-engine', true)]));
    evaluator.evaluate(sample(604, [held('policy-engine')]));
    expect(evaluator.evaluate(sample(606, [down('policy-engine', true)]))).toEqual([]);
    expect(evaluator.evaluate(sample(611, [down('policy-engine', true)])).map((report) => [report.status, report.startsAt])).toEqual([['firing', at(611)]]);
    // Firing, then held: it neither resolves nor fires again while held, and resolves once healthy.
    expect(evaluator.evaluate(sample(613, [held('policy-engine')]))).toEqual([]);
    expect(evaluator.evaluate(sample(620, [down('policy-engine', true)]))).toEqual([]);
    expect(evaluator.evaluate(sample(622, [down('policy-engine', false)])).map((report) => [report.status, report.startsAt])).toEqual([['resolved', at(611)]]);
  });

  it('fires a rule without a for-duration at its first breaching sample', () => {
    const evaluator = createRuleEvaluator();
    const loop = (value: number): Observation => ({ rule: 'ServiceCrashLooping', labels: { service: 'audit-engine' }, value, breaching: value >= 3 });
    expect(evaluator.evaluate(sample(0, [loop(2)]))).toEqual([]);
    expect(evaluator.evaluate(sample(2, [loop(3)])).map((report) => [report.status, report.value])).toEqual([['firing', 3]]);
    expect(evaluator.evaluate(sample(4, [loop(5)]))).toEqual([]);
    expect(evaluator.evaluate(sample(600, [loop(2)])).map((report) => [report.status, report.value])).toEqual([['resolved', undefined]]);
  });

  it('names an alert by its rule and labels, whatever their order', () => {
    expect(monitorFingerprint('HighCpu', { service: 'audit-engine', replica: 'audit-engine' })).toBe('monitor/HighCpu/replica=audit-engine,service=audit-engine');
    expect(monitorFingerprint('HighCpu', { replica: 'audit-engine', service: 'audit-engine' })).toBe('monitor/HighCpu/replica=audit-engine,service=audit-engine');
  });
});
