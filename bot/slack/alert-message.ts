/**
 * An alert as one Slack message, edited in place (firing → acknowledged → resolved), the replies
 * in its thread, and the summary that stands for the alerts of a storm.
 *
 * The message: a header with the rule, its service and state behind an emoji that reads at a
 * glance; when it fired, its value against the rule's threshold in the rule's unit; who
 * acknowledged, snoozed or resolved it (or that its source did); flapping and silence; what the
 * bot already did on its own (the `auto-action` notes); and, while it is not resolved, the buttons
 * Acknowledge, Snooze 1 h / 4 h / until tomorrow, Resolve and the rule's response. The buttons
 * carry only the alert's id; a click runs `alerts ack <id>`, `alerts snooze <id> 1h|4h|tomorrow`,
 * `alerts resolve <id>` or the rule's response line as the clicker (alert-actions.ts).
 *
 * Rendered only from what the alert store holds, never from `now`, so every replica renders the
 * same message for the same rows and an unchanged alert is never edited again.
 */
import type { types as slackTypes } from '@slack/bolt';
import { ALERT_RULES, alertResponse, isAlertRuleName, type AlertRule } from '../alerts/alert-rules.js';
import type { AlertEvent, AlertRecord } from '../alerts/alert-store.js';
import type { AlertContext } from '../alerts/alert-context.js';
import { sentenceMrkdwn } from './approval-message.js';
import { readableLogLine } from './log-line-text.js';
import { clip, escapeText, fitText, packLines } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/** `acgs_alert_ack`, `_snooze_1h`, `_snooze_4h`, `_snooze_tomorrow`, `_resolve`, `_respond`, `_declare`; the value is the alert's id. */
export const ALERT_ACTION_PREFIX = 'acgs_alert_';
export const ALERT_ACTION_PATTERN = /^acgs_alert_(ack|snooze_1h|snooze_4h|snooze_tomorrow|resolve|respond|declare)$/;
export type AlertAction = 'ack' | 'snooze_1h' | 'snooze_4h' | 'snooze_tomorrow' | 'resolve' | 'respond' | 'declare';

/** An alert id as the store makes them; anything else in a button's value is forged or foreign. */
export const isAlertId = (value: unknown): value is string => typeof value === 'string' && /^[1-9][0-9]{0,17}$/.test(value);

/**
 * The command line a button stands for, for the actions that need only the alert's id (the
 * response needs the alert's rule and labels: alertResponse).
 */
export function alertActionLine(action: Exclude<AlertAction, 'respond' | 'declare'>, alertId: string): string {
  switch (action) {
    case 'ack':
      return `alerts ack ${alertId}`;
    case 'resolve':
      return `alerts resolve ${alertId}`;
    default:
      return `alerts snooze ${alertId} ${action.slice('snooze_'.length)}`;
  }
}

export interface AlertMessageInput {
  alert: AlertRecord;
  /** What the bot did about it on its own (`auto-action` events), oldest first. */
  autoActions: readonly AlertEvent[];
  /** The highest escalation level its current episode reached (escalatedLevel): it then offers "Declare incident". */
  escalatedTo?: 2 | 3 | 4;
}

/** The highest level an `escalated` event of the alert's current episode (since it fired) names. */
export function escalatedLevel(alert: Pick<AlertRecord, 'firedAt'>, events: readonly AlertEvent[]): 2 | 3 | 4 | undefined {
  const levels = events
    .filter((event) => event.kind === 'escalated' && event.at.getTime() >= alert.firedAt.getTime())
    .map((event) => event.details?.level)
    .filter((level): level is 2 | 3 | 4 => level === 2 || level === 3 || level === 4);
  return levels.length > 0 ? (Math.max(...levels) as 2 | 3 | 4) : undefined;
}

/** "Declare incident", on an escalated alert: its value is the alert's id, as every alert button's. */
export function declareIncidentButton(alertId: string): Button {
  return button('declare', 'Declare incident', alertId, 'danger');
}

/** A UTC time a person reads at 3 a.m.: `2026-12-07 03:12:05 UTC`. */
export const utcTime = (at: Date) => `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 19)} UTC`;
const clock = (at: Date) => `${at.toISOString().slice(11, 19)} UTC`;
const person = (id: string) => sentenceMrkdwn([{ user: id }]);

const STATE_LOOK = {
  firing: { emoji: ':rotating_light:', words: 'firing' },
  acknowledged: { emoji: ':eyes:', words: 'acknowledged' },
  resolved: { emoji: ':white_check_mark:', words: 'resolved' },
} as const;

function ruleOf(alert: Pick<AlertRecord, 'rule'>): AlertRule | undefined {
  return isAlertRuleName(alert.rule) ? ALERT_RULES[alert.rule] : undefined;
}

/** A number as people write it: no float noise, at most two decimals. */
function figure(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

function inUnit(value: number, unit: AlertRule['unit']): string {
  if (unit === 'count') return figure(value);
  return `${figure(value)} ${unit}`;
}

/** `812 ms against a threshold of 5 ms`, or what the alert says of itself when its rule is not the runbook's. */
export function valueLine(alert: Pick<AlertRecord, 'rule' | 'value'>): string | undefined {
  const rule = ruleOf(alert);
  if (alert.value === null) return rule ? `threshold ${inUnit(rule.threshold, rule.unit)}` : undefined;
  if (!rule) return `value ${figure(alert.value)}`;
  if (rule.name === 'ServiceDown') return `${figure(alert.value)} failing health check${alert.value === 1 ? '' : 's'}`;
  if (rule.name === 'ServiceRestarted') return `${figure(alert.value)} crash${alert.value === 1 ? '' : 'es'} before it answered healthy again; informational, nobody is paged`;
  if (rule.name === 'ServiceCrashLooping') return `${figure(alert.value)} crashes within 10 min (alerts at ${figure(rule.threshold)})`;
  const side = rule.name === 'LowCacheHitRate' ? 'below' : 'above';
  return `${inUnit(alert.value, rule.unit)} (alerts ${side} ${inUnit(rule.threshold, rule.unit)})`;
}

/** The alert's subject: its rule and, when labelled, its service. */
export function alertTitle(alert: Pick<AlertRecord, 'rule' | 'labels'>): string {
  const service = alert.labels.service ?? alert.labels.job;
  return service ? `${alert.rule}: ${service}` : alert.rule;
}

/** What an `auto-action`, `escalated` or `note` event says: its `details.summary`, else its details as `key: value`. */
export function noteText(event: Pick<AlertEvent, 'details'>): string {
  const details = event.details ?? {};
  if (typeof details.summary === 'string' && details.summary.trim() !== '') return details.summary.trim();
  const pairs = Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return pairs.length > 0 ? pairs.join(' · ') : '(no details)';
}

/**
 * An action under "What the bot did": its summary and, when it has one, its evidence, so the
 * message tells what happened ("... healthy 7.4 s after Level 1 began the restart"), not only
 * that a command succeeded. A refusal's summary is its reason already.
 */
function actionText(event: Pick<AlertEvent, 'details'>): string {
  const evidence = event.details?.evidence;
  const summary = event.details?.summary;
  const hasSummary = typeof summary === 'string' && summary.trim() !== '';
  return hasSummary && typeof evidence === 'string' && evidence.trim() !== '' ? `${noteText(event)}; ${evidence.trim()}` : noteText(event);
}

/**
 * Who saw an alert end when no person resolved it, in words a person reads: "the built-in monitor
 * saw it healthy again", not the source's internal name.
 */
function resolvedBySource(alert: Pick<AlertRecord, 'rule' | 'source'>): string {
  if (alert.source === 'alertmanager') return 'Alertmanager reported it resolved (Prometheus no longer sees it)';
  const healthy = alert.rule === 'ServiceDown' || alert.rule === 'ServiceRestarted';
  return healthy ? 'the built-in monitor saw it healthy again' : 'the built-in monitor no longer saw it';
}

function stateLines(alert: AlertRecord): string[] {
  const lines = [`Fired at ${utcTime(alert.firedAt)}`];
  if (alert.acknowledgedBy && alert.acknowledgedAt && alert.state !== 'firing') lines.push(`Acknowledged by ${person(alert.acknowledgedBy)} at ${clock(alert.acknowledgedAt)}`);
  if (alert.state === 'resolved' && alert.resolvedAt) {
    lines.push(alert.resolvedBy ? `*Resolved by ${person(alert.resolvedBy)}* at ${utcTime(alert.resolvedAt)}` : `*Resolved*: ${resolvedBySource(alert)} at ${utcTime(alert.resolvedAt)}`);
  }
  if (alert.snoozedUntil && alert.state !== 'resolved') lines.push(`Snoozed until ${utcTime(alert.snoozedUntil)}${alert.snoozedBy ? ` by ${person(alert.snoozedBy)}` : ''}`);
  return lines;
}

const AUTO_ACTIONS_SHOWN = 8;
const NOTE_SHOWN = 300;

function button(action: AlertAction, text: string, alertId: string, style?: 'primary' | 'danger'): Button {
  return { type: 'button', action_id: `${ALERT_ACTION_PREFIX}${action}`, text: { type: 'plain_text', text: fitText(text, SLACK_LIMITS.buttonText) }, value: alertId, ...(style ? { style } : {}) };
}

function actionButtons(alert: AlertRecord, escalatedTo: AlertMessageInput['escalatedTo']): Button[] {
  if (alert.state === 'resolved') return [];
  const response = alertResponse(alert.rule, alert.labels);
  return [
    ...(alert.state === 'firing' ? [button('ack', 'Acknowledge', alert.id, 'primary')] : []),
    button('snooze_1h', 'Snooze 1 h', alert.id),
    button('snooze_4h', 'Snooze 4 h', alert.id),
    button('snooze_tomorrow', 'Snooze until tomorrow', alert.id),
    button('resolve', 'Resolve', alert.id),
    ...(response ? [button('respond', response.label, alert.id)] : []),
    ...(escalatedTo ? [declareIncidentButton(alert.id)] : []),
  ];
}

export function renderAlertMessage({ alert, autoActions, escalatedTo }: AlertMessageInput): SlackMessage {
  const look = STATE_LOOK[alert.state];
  const title = alertTitle(alert);
  const flags = [alert.flapping ? 'flapping' : '', alert.silencedBy ? 'silenced' : ''].filter(Boolean);
  const header = `${look.emoji} ${title}: ${look.words}${flags.length > 0 ? ` (${flags.join(', ')})` : ''}`;
  const rule = ruleOf(alert);
  const summary = alert.annotations.summary ?? alert.annotations.description ?? rule?.summary ?? 'an alert without a summary';
  const value = valueLine(alert);

  // A resolved alert keeps the value that fired it; ServiceRestarted's counts the crashes up to its end.
  const valueLabel = alert.state === 'resolved' && alert.rule !== 'ServiceRestarted' ? 'Value when it fired' : 'Value';
  const about = [`*${fitText(summary, 500)}*`, ...(value ? [`${valueLabel}: ${fitText(value, 200)}`] : []), ...stateLines(alert)];
  if (alert.flapping) about.push(':warning: *Flapping*: it keeps firing and resolving; this message stays current, with no thread replies until it settles.');
  if (alert.silencedBy) about.push(`:mute: Reported under silence ${escapeText(alert.silencedBy)}: nobody is notified of it.`);

  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(header, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: about.join('\n') } },
  ];
  if (autoActions.length > 0) {
    const shown = autoActions.slice(-AUTO_ACTIONS_SHOWN);
    const lines = shown.map((event) => `:robot_face: ${fitText(actionText(event), NOTE_SHOWN)} _(${clock(event.at)})_`);
    if (autoActions.length > shown.length) lines.unshift(`_${autoActions.length - shown.length} earlier actions are in the thread_`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*What the bot did*\n${packLines(lines, SLACK_LIMITS.sectionText - 30)[0] ?? ''}` } });
  }
  const buttons = actionButtons(alert, escalatedTo);
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `${ALERT_ACTION_PREFIX}${alert.id}`, elements: buttons });
  const labels = Object.entries(alert.labels)
    .filter(([key]) => key !== 'alertname')
    .map(([key, labelValue]) => `${key}=${labelValue}`)
    .join(' ');
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: fitText(`Alert ${alert.id} · ${alert.rule} · from the ${alert.source === 'monitor' ? "bot's monitor" : 'Alertmanager'}${labels ? ` · ${labels}` : ''} · /acgs alerts`, SLACK_LIMITS.contextText) }],
  });
  const fallback = `${title}: ${look.words}${value ? ` (${value})` : ''}`;
  return { text: fitText(fallback, SLACK_LIMITS.fallbackText), blocks };
}

/**
 * The thread reply an event is worth, or undefined when the message alone tells it (the first
 * firing is the message itself; `settled` only takes "flapping" off the message).
 */
export function renderAlertReply(event: AlertEvent, alert: Pick<AlertRecord, 'rule' | 'labels' | 'source'>): SlackMessage | undefined {
  const at = clock(event.at);
  const rule = isAlertRuleName(alert.rule) ? ALERT_RULES[alert.rule] : undefined;
  const by = event.actor ? person(event.actor) : undefined;
  let text: string;
  switch (event.kind) {
    case 'acknowledged':
      text = `:eyes: Acknowledged by ${by ?? 'someone'} at ${at}`;
      break;
    case 'snoozed': {
      const until = typeof event.details?.until === 'string' ? new Date(event.details.until) : undefined;
      text = `:zzz: Snoozed${until && !Number.isNaN(until.getTime()) ? ` until ${utcTime(until)}` : ''} by ${by ?? 'someone'} (at ${at})`;
      break;
    }
    case 'fired':
      text = `:rotating_light: Fired again at ${at}${event.value !== null && rule ? `: ${valueLine({ rule: alert.rule, value: event.value })}` : ''}`;
      break;
    case 'resolved':
      text = by ? `:white_check_mark: Resolved by ${by} at ${at}` : `:white_check_mark: Resolved: ${resolvedBySource(alert)} at ${at}`;
      break;
    case 'flapping': {
      const changes = typeof event.details?.changes === 'number' ? event.details.changes : undefined;
      const windowMs = typeof event.details?.window_ms === 'number' ? event.details.window_ms : undefined;
      text = `:warning: Flapping${changes && windowMs ? `: ${changes} changes within ${Math.round(windowMs / 60_000)} min` : ''}. The message stays current; no more replies here until it settles.`;
      break;
    }
    case 'auto-action':
      text = `:robot_face: ${fitText(noteText(event), 2000)}`;
      break;
    case 'escalated':
      text = `:arrow_double_up: Escalated: ${fitText(noteText(event), 2000)}`;
      break;
    case 'note':
      // A response run from the alert's button answered in this thread already.
      if (event.details?.answered_in_thread === true) return undefined;
      text = `:memo: ${fitText(noteText(event), 2000)}`;
      break;
    default:
      return undefined;
  }
  return { text: clip(text.replace(/^:[a-z_]+: /, ''), SLACK_LIMITS.fallbackText), blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

const LOG_LINE_SHOWN = 240;

export function renderAlertContext(context: AlertContext): SlackMessage {
  const name = context.service ? escapeText(context.service) : 'the stack';
  const blocks: KnownBlock[] = [];
  const facts: string[] = [];
  if (context.restarts !== undefined) facts.push(`Restarted on its own ${context.restarts} time${context.restarts === 1 ? '' : 's'} (its restart count)`);
  if (context.deploys && context.deploys.length > 0) {
    facts.push(
      `Recent deploys: ${context.deploys
        .slice(0, 3)
        .map((deploy) => `${fitText(deploy.version, 60)} at ${utcTime(new Date(deploy.at))} by ${/^[UW][A-Z0-9]{2,}$/.test(deploy.requestedBy) ? person(deploy.requestedBy) : escapeText(deploy.requestedBy)} (${escapeText(deploy.outcome)})`)
        .join('; ')}`,
    );
  } else if (context.deploys) facts.push('No deploys recorded');
  for (const missing of context.unavailable ?? []) facts.push(`_${fitText(missing, 300)}_`);
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: fitText(`*Context for ${context.service ?? 'this alert'}*`, 200) + (facts.length > 0 ? `\n${facts.join('\n')}` : '') } });
  const lines = (context.logLines ?? []).map((line) => {
    const readable = readableLogLine(line.text, line.time);
    return fitText(`${readable.clock} ${line.replica}${readable.level ? ` ${readable.level}` : ''} ${readable.text}`, LOG_LINE_SHOWN);
  });
  if (lines.length > 0) {
    // Code blocks: a log line (its message, for a pino line) is never read as formatting.
    const chunk = packLines(lines, SLACK_LIMITS.sectionText - 8).at(-1)!;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${chunk}\`\`\`` } });
  }
  return { text: `Context for ${name}: last log lines, restarts, deploys`, blocks };
}

/** The alerts of one storm, counted. */
export interface StormSummary {
  /** When its first alert fired. */
  startedAt: Date;
  /** Alerts in it, by rule and by service, with how many of them are still open. */
  total: number;
  open: number;
  byRule: ReadonlyArray<{ name: string; count: number }>;
  byService: ReadonlyArray<{ name: string; count: number }>;
  /** The alerts that got messages of their own before the storm (N). */
  threshold: number;
}

const COUNTS_SHOWN = 15;

function countLines(counts: StormSummary['byRule']): string {
  const shown = counts.slice(0, COUNTS_SHOWN).map((entry) => `• ${fitText(entry.name, 80)}: ${entry.count}`);
  if (counts.length > COUNTS_SHOWN) shown.push(`• and ${counts.length - COUNTS_SHOWN} more`);
  return shown.join('\n');
}

/** One message for every alert beyond N that fired within a minute, edited as more arrive. */
export function renderStormSummary(storm: StormSummary): SlackMessage {
  const header = `:thunder_cloud_and_rain: Alert storm: ${storm.total} more alert${storm.total === 1 ? '' : 's'} since ${clock(storm.startedAt)}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(header, SLACK_LIMITS.headerText), emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `More than ${storm.threshold} alerts fired within a minute, so these ${storm.total} get this one message instead of one each (${storm.open} still open).\nType \`/acgs alerts\` to list them and act on each.`,
      },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*By rule*\n${countLines(storm.byRule)}` },
        { type: 'mrkdwn', text: `*By service*\n${countLines(storm.byService) || '—'}` },
      ],
    },
  ];
  return { text: fitText(`Alert storm: ${storm.total} alerts since ${clock(storm.startedAt)}; /acgs alerts lists them`, SLACK_LIMITS.fallbackText), blocks };
}
