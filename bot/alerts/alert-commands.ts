/**
 * The commands' Alerts port (commands/ports.ts) on the alert store: records become plain data with
 * their rule's threshold, and the store's refusals become the port's, so that commands/ never
 * imports bot/. One per process, on the bot's database (bot/main.ts, the CLI with DATABASE_URL).
 */
import { AlertRequestError, type AlertActionInfo, type AlertInfo, type Alerts, type AlertSilenceInfo } from '../../commands/ports.js';
import { ALERT_RULES, isAlertRuleName } from './alert-rules.js';
import { AlertActionError, type AlertActionResult, type AlertRecord, type AlertSilence, type AlertStore } from './alert-store.js';

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function alertInfo(alert: AlertRecord): AlertInfo {
  const rule = isAlertRuleName(alert.rule) ? ALERT_RULES[alert.rule] : undefined;
  return {
    id: alert.id,
    rule: alert.rule,
    source: alert.source,
    service: alert.labels.service ?? null,
    labels: alert.labels,
    state: alert.state,
    firedAt: alert.firedAt.toISOString(),
    resolvedAt: iso(alert.resolvedAt),
    resolvedBy: alert.resolvedBy,
    value: alert.value,
    threshold: rule ? { value: rule.threshold, unit: rule.unit } : null,
    acknowledgedBy: alert.acknowledgedBy,
    acknowledgedAt: iso(alert.acknowledgedAt),
    snoozedUntil: iso(alert.snoozedUntil),
    snoozedBy: alert.snoozedBy,
    flapping: alert.flapping,
    silencedBy: alert.silencedBy,
  };
}

const silenceInfo = (silence: AlertSilence): AlertSilenceInfo => ({
  id: silence.id,
  rule: silence.rule,
  until: silence.until.toISOString(),
  reason: silence.reason,
  createdBy: silence.createdBy,
  createdAt: silence.createdAt.toISOString(),
});

/** The store's refusal, as the port's (its sentence is safe to show); anything else as it is. */
function refused(error: unknown): never {
  if (error instanceof AlertActionError) throw new AlertRequestError(error.code, error.message);
  throw error;
}

const actionInfo = (result: AlertActionResult): AlertActionInfo => ({ alert: alertInfo(result.alert), changed: result.changed });

export interface CommandAlertsOptions {
  /** The bot's timezone (config `timezone:`), in which "tomorrow" begins. */
  timezone: string;
}

export function commandAlerts(store: AlertStore, options: CommandAlertsOptions): Alerts {
  return {
    timezone: options.timezone,
    rules: Object.values(ALERT_RULES).map((rule) => ({ name: rule.name, summary: rule.summary })),
    open: async () => (await store.listOpen()).map(alertInfo),
    async history(since, limit) {
      const entries = await store.history(since, { limit, newestFirst: true });
      return entries.map((entry) => ({
        alertId: entry.alertId,
        rule: entry.rule,
        service: entry.labels.service ?? null,
        at: entry.at.toISOString(),
        kind: entry.kind,
        state: entry.state,
        actor: entry.actor,
        value: entry.value,
        silenced: entry.silenced,
        details: entry.details,
      }));
    },
    acknowledge: (alertId, by) => store.acknowledge(alertId, by).then(actionInfo, refused),
    snooze: (alertId, until, by) => store.snooze(alertId, until, by).then(actionInfo, refused),
    resolve: (alertId, by) => store.resolve(alertId, by).then(actionInfo, refused),
    silence: (silence) => store.silence(silence).then(silenceInfo, refused),
    silences: async () => (await store.activeSilences()).map(silenceInfo),
  };
}
