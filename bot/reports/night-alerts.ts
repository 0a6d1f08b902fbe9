/**
 * The alerts of the report's day and how each ended, from the alert store's history (newest
 * first): the last event of each alert says its state now and who ended it.
 */
import type { AlertHistoryInfo, AlertStateName } from '../../commands/ports.js';

export interface NightAlert {
  id: string;
  rule: string;
  service: string | null;
  fired_at: string | null;
  state: AlertStateName;
  /** Who resolved or acknowledged it last (a person, `level-1`, ...); null for the alert's source. */
  by: string | null;
  ended_at: string | null;
}

/** More events than this in a day and the report says the list is cut. */
export const ALERT_EVENTS_LIMIT = 1000;

export function nightAlerts(events: readonly AlertHistoryInfo[]): NightAlert[] {
  const byAlert = new Map<string, AlertHistoryInfo[]>();
  for (const event of events) byAlert.set(event.alertId, [...(byAlert.get(event.alertId) ?? []), event]);
  const alerts: NightAlert[] = [];
  for (const [id, history] of byAlert) {
    const ordered = [...history].sort((a, b) => a.at.localeCompare(b.at));
    const last = ordered.at(-1)!;
    const fired = ordered.find((event) => event.kind === 'fired');
    alerts.push({
      id,
      rule: last.rule,
      service: last.service,
      fired_at: fired?.at ?? null,
      state: last.state,
      by: last.state === 'firing' ? null : last.actor,
      ended_at: last.state === 'resolved' ? last.at : null,
    });
  }
  return alerts.sort((a, b) => (a.fired_at ?? '').localeCompare(b.fired_at ?? ''));
}
