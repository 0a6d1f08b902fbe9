import type { ReportedAlert } from '../intake.js';
import { monitorFingerprint } from '../rule-evaluation.js';

/**
 * A report as a source hands it to the intake, for the tests of what comes after it (the store,
 * Level 1, escalation, the Slack messages, the commands): unless told otherwise, the built-in
 * monitor's firing ServiceDown of the Policy Engine, 30 s old, with the monitor's fingerprint of
 * its rule and labels. `labels` get their `alertname` from the rule.
 */
export function firingReport(overrides: Partial<ReportedAlert> = {}): ReportedAlert {
  const rule = overrides.rule ?? 'ServiceDown';
  const labels = overrides.labels ?? (rule === 'ServiceDown' ? { service: 'policy-engine' } : {});
  return {
    source: 'monitor',
    fingerprint: monitorFingerprint(rule, labels),
    status: 'firing',
    annotations: {},
    startsAt: new Date(Date.now() - 30_000),
    value: 1,
    ...overrides,
    rule,
    labels: { alertname: rule, ...labels },
  };
}
