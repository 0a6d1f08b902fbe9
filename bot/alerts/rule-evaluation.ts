/**
 * The built-in monitor's judgement, without IO or timers: a sample's observations (value against
 * threshold, per rule and labels) go in with the time they were taken, reports come out. A
 * condition must hold for its rule's `for` duration before the alert fires, and the alert resolves
 * at the first sample where it no longer holds, as Prometheus's own rule evaluation does.
 */
import { ALERT_RULES, type AlertRule, type AlertRuleName } from './alert-rules.js';
import type { ReportedAlert } from './intake.js';

export interface Observation {
  rule: AlertRuleName;
  /** What the value is of: `service`, and `replica` for resource use. */
  labels: Readonly<Record<string, string>>;
  value: number;
  breaching: boolean;
  /**
   * When the condition was already seen holding, before the sample's time: a health check that
   * waited its whole timeout for an answer saw the service not answering from the moment it asked.
   * A new `for` counts from here. Absent: from the sample's time.
   */
  since?: Date;
  /**
   * Not judged now, on purpose: the service is held stopped through the Stack port (a restore's
   * writers). A firing alert stays as it is; a pending condition starts over once it is judged again.
   */
  suspended?: boolean;
}

export interface MonitorSample {
  at: Date;
  observations: readonly Observation[];
  /**
   * The rules whose source answered in this sample. A firing alert of one of these rules without
   * an observation now resolves (its replica is gone); one of a rule whose source did not answer
   * (the Policy Engine's metrics while it is down) keeps its state: nothing is known about it.
   */
  evaluated: ReadonlySet<AlertRuleName>;
}

/** An alert the monitor reported firing earlier (from the store after a restart, so that it can still resolve it). */
export interface FiringAlert {
  fingerprint: string;
  rule: AlertRuleName;
  labels: Readonly<Record<string, string>>;
  firedAt: Date;
}

interface Tracked {
  rule: AlertRuleName;
  labels: Readonly<Record<string, string>>;
  pendingSince?: Date;
  firedAt?: Date;
}

export interface RuleEvaluator {
  evaluate(sample: MonitorSample): ReportedAlert[];
  /** Takes over alerts that are firing already. */
  adopt(alerts: readonly FiringAlert[]): void;
}

/** The monitor's fingerprint: the rule and its labels, readable, and apart from Alertmanager's hex ones. */
export function monitorFingerprint(rule: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`);
  return `monitor/${rule}/${pairs.join(',')}`;
}

function annotationsOf(rule: AlertRule, value: number): Record<string, string> {
  return { summary: rule.summary, value: `${Number(value.toFixed(3))} ${rule.unit} against a threshold of ${rule.threshold} ${rule.unit}` };
}

export function createRuleEvaluator(rules: Readonly<Record<AlertRuleName, AlertRule>> = ALERT_RULES): RuleEvaluator {
  const tracked = new Map<string, Tracked>();

  function report(fingerprint: string, entry: Tracked, status: 'firing' | 'resolved', value: number | undefined, at: Date): ReportedAlert {
    const rule = rules[entry.rule];
    return {
      source: 'monitor',
      fingerprint,
      rule: entry.rule,
      status,
      labels: { alertname: entry.rule, ...entry.labels },
      annotations: value === undefined ? { summary: rule.summary } : annotationsOf(rule, value),
      startsAt: entry.firedAt!,
      ...(status === 'resolved' ? { endsAt: at } : {}),
      ...(value === undefined ? {} : { value }),
    };
  }

  return {
    adopt(alerts) {
      for (const alert of alerts) {
        if (!tracked.has(alert.fingerprint)) tracked.set(alert.fingerprint, { rule: alert.rule, labels: alert.labels, firedAt: alert.firedAt });
      }
    },

    evaluate(sample) {
      const reports: ReportedAlert[] = [];
      const seen = new Set<string>();
      for (const observation of sample.observations) {
        const fingerprint = monitorFingerprint(observation.rule, observation.labels);
        seen.add(fingerprint);
        const entry = tracked.get(fingerprint) ?? { rule: observation.rule, labels: observation.labels };
        if (observation.suspended) {
          if (entry.firedAt) tracked.set(fingerprint, { rule: entry.rule, labels: entry.labels, firedAt: entry.firedAt });
          else tracked.delete(fingerprint);
          continue;
        }
        if (observation.breaching) {
          entry.pendingSince ??= observation.since && observation.since < sample.at ? observation.since : sample.at;
          const heldMs = sample.at.getTime() - entry.pendingSince.getTime();
          if (!entry.firedAt && heldMs >= rules[observation.rule].forSeconds * 1000) {
            entry.firedAt = sample.at;
            reports.push(report(fingerprint, entry, 'firing', observation.value, sample.at));
          }
          tracked.set(fingerprint, entry);
        } else {
          // Without the reading that resolved it: the alert's value stays the one that fired (a
          // resolved ServiceDown read "0 failing health checks", which says nothing of what happened).
          if (entry.firedAt) reports.push(report(fingerprint, entry, 'resolved', undefined, sample.at));
          tracked.delete(fingerprint);
        }
      }
      for (const [fingerprint, entry] of tracked) {
        if (seen.has(fingerprint) || !sample.evaluated.has(entry.rule)) continue;
        if (entry.firedAt) reports.push(report(fingerprint, entry, 'resolved', undefined, sample.at));
        tracked.delete(fingerprint);
      }
      return reports;
    },
  };
}
