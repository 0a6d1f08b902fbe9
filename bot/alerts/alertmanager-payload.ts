/**
 * Alertmanager's webhook payload (version 4, https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)
 * and its mapping onto the bot's ReportedAlert. Fields Alertmanager may add later are ignored.
 */
import { z } from 'zod';
import type { ReportedAlert } from './intake.js';

/** Alertmanager's "no time": Go's zero time, which it sends as endsAt while an alert fires. */
const ZERO_TIME_YEAR = 1;

const LabelSet = z.record(z.string(), z.string());
const Timestamp = z.iso.datetime({ offset: true, local: false });

export const AlertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: LabelSet.refine((labels) => typeof labels.alertname === 'string' && labels.alertname !== '', 'must have an alertname'),
  annotations: LabelSet.default({}),
  startsAt: Timestamp,
  endsAt: Timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(64),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

export const AlertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  alerts: z.array(AlertmanagerAlert),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

function timeOrAbsent(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const time = new Date(text);
  return time.getUTCFullYear() <= ZERO_TIME_YEAR ? undefined : time;
}

/** The rules' `value` annotation ("{{ $value }}"), when it is a number. */
function measuredValue(annotations: Readonly<Record<string, string>>): number | undefined {
  const text = annotations.value?.trim();
  if (!text) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * One report per alert. Alertmanager sets endsAt to a time in the future on firing alerts (when it
 * would resolve them without news); only a resolved alert's endsAt is when it ended.
 */
export function reportedAlertsOf(payload: AlertmanagerPayload): ReportedAlert[] {
  return payload.alerts.map((alert) => {
    const endsAt = alert.status === 'resolved' ? timeOrAbsent(alert.endsAt) : undefined;
    const value = measuredValue(alert.annotations);
    return {
      source: 'alertmanager',
      fingerprint: alert.fingerprint,
      rule: alert.labels.alertname!,
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: new Date(alert.startsAt),
      ...(endsAt ? { endsAt } : {}),
      ...(value === undefined ? {} : { value }),
    };
  });
}
