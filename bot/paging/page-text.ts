/**
 * What a page says, pure: the e-mail's subject and text and the webhook's JSON body, told from the
 * escalation notice with the words of the Slack message (the level's name, the reason, the issue
 * type), so that whoever is paged reads what the channel reads. The alert's rule and labels come
 * from its source and are only ever data here: a JSON field, or plain text.
 */
import type { AlertRecord } from '../alerts/alert-store.js';
import { ESCALATION_LEVEL_NAMES } from '../alerts/escalation-matrix.js';

/** The webhook body's `type`, so that a receiver can tell this from any later kind of page. */
export const ALERT_PAGE_TYPE = 'acgs.alert.escalated';

/**
 * One page: one (alert episode, level, contact), whichever channels carry it. The alert is as it
 * is when the page is sent (a retry may come later than the level), the rest as the level had it.
 */
export interface AlertPage {
  alert: AlertRecord;
  level: 2 | 3 | 4;
  reason: string;
  issueType: string;
  contact: string;
}

/** The same on every attempt and channel of a page, so that a receiver can drop a repeat. */
export function pageDeliveryId(page: AlertPage): string {
  return `alert-${page.alert.id}/${page.alert.firedAt.toISOString()}/level-${page.level}/${page.contact}`;
}

/** A label's line breaks would end a header line, or make a line of the page that is not ours. */
const oneLine = (text: string) => text.replace(/[\r\n\t]+/g, ' ');

function headline(page: AlertPage): string {
  const { alert, level } = page;
  const service = alert.labels.service ? ` on ${alert.labels.service}` : '';
  return oneLine(`Level ${level} (${ESCALATION_LEVEL_NAMES[level]}): alert ${alert.id} ${alert.rule}${service}`);
}

export function pageSubject(page: AlertPage): string {
  return `[ACGS] ${headline(page)}`.slice(0, 200);
}

export function pagePlainText(page: AlertPage): string {
  const { alert, reason, issueType } = page;
  const labels = oneLine(Object.entries(alert.labels).map(([key, value]) => `${key}=${value}`).join(' '));
  return [
    headline(page),
    '',
    `${reason[0]!.toUpperCase()}${reason.slice(1)}; ${issueType} issue.`,
    `Fired at ${alert.firedAt.toISOString()}${alert.value === null ? '' : `, value ${alert.value}`}.`,
    ...(alert.annotations.summary ? [oneLine(alert.annotations.summary)] : []),
    ...(labels ? [`Labels: ${labels}`] : []),
    '',
    `Acknowledge it to stop the escalation: /acgs alerts ack ${alert.id} (or its Acknowledge button in Slack).`,
    `You are paged as the contact "${page.contact}" of the bot's escalation matrix.`,
  ].join('\n');
}

/** The webhook's JSON body (bot/paging/README.md documents its fields). */
export function pagePayload(page: AlertPage, sentAt: Date): Record<string, unknown> {
  const { alert, level, reason, issueType } = page;
  return {
    type: ALERT_PAGE_TYPE,
    delivery_id: pageDeliveryId(page),
    sent_at: sentAt.toISOString(),
    contact: page.contact,
    level,
    level_name: ESCALATION_LEVEL_NAMES[level],
    reason,
    issue_type: issueType,
    summary: headline(page),
    alert: {
      id: alert.id,
      rule: alert.rule,
      state: alert.state,
      source: alert.source,
      fired_at: alert.firedAt.toISOString(),
      value: alert.value,
      labels: alert.labels,
      annotations: alert.annotations,
    },
    acknowledge: `/acgs alerts ack ${alert.id}`,
  };
}
