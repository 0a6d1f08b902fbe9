/**
 * Where alerts enter the bot, whichever source reports them: the built-in monitor or
 * Alertmanager's webhook. Sources report states; the store keeps one alert per fingerprint and
 * its history, so the same report twice (Alertmanager delivers at least once) changes nothing.
 */
export type AlertSource = 'monitor' | 'alertmanager';

export interface ReportedAlert {
  source: AlertSource;
  /** Stable identity across reports: Alertmanager's fingerprint, or the monitor's rule + labels. */
  fingerprint: string;
  /** The rule's name (`alertname`): one of ALERT_RULE_NAMES for the runbook's rules; others are kept too. */
  rule: string;
  status: 'firing' | 'resolved';
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  startsAt: Date;
  /** When it resolved; absent (or Alertmanager's zero time) while firing. */
  endsAt?: Date;
  /** The measured value against the rule's threshold, when the source knows it. */
  value?: number;
}

export interface AlertIntakeResult {
  /** Reports that changed an alert (new, or a new state). */
  stored: number;
  /** Reports already known: same fingerprint, status and startsAt. */
  duplicates: number;
}

export interface AlertIntake {
  /** Resolves once every report is durable in PostgreSQL: the webhook answers 2xx only then. */
  report(alerts: readonly ReportedAlert[]): Promise<AlertIntakeResult>;
}
