/**
 * What people read about alerts: the answer to an action on one (what changed, or that it already
 * was so), the open alerts, their history and the active silences. Plain data in
 * (commands/ports.ts), a document out; times in the bot's timezone where a person plans by them.
 */
import { formatInZone } from './alert-times.js';
import { clip, formatAge, formatSpan, formatTimestamp } from './format.js';
import type { AlertHistoryInfo, AlertInfo, AlertSilenceInfo } from './ports.js';
import type { ResultAction, ResultDocument, Tone } from './result.js';

/** `ServiceDown on policy-engine`, or the rule alone. */
export function alertName(alert: Pick<AlertInfo, 'rule' | 'service'>): string {
  return alert.service ? `${alert.rule} on ${alert.service}` : alert.rule;
}

const number = (value: number) => String(Number(value.toPrecision(4)));

/** `7.2 ms (threshold 5 ms)`; a count (ServiceDown) has no figure worth showing. */
export function valueText(alert: Pick<AlertInfo, 'value' | 'threshold'>): string {
  if (alert.value === null) return alert.threshold ? `threshold ${number(alert.threshold.value)} ${alert.threshold.unit}` : '';
  if (!alert.threshold) return number(alert.value);
  const { value: limit, unit } = alert.threshold;
  return `${number(alert.value)} ${unit} (threshold ${number(limit)} ${unit})`;
}

const STATE_TONE: Record<AlertInfo['state'], Tone> = { firing: 'fail', acknowledged: 'warn', resolved: 'ok' };

/** What one can still do to an alert, as the buttons of its message do it. */
function nextActions(alert: AlertInfo): ResultAction[] {
  if (alert.state === 'resolved') return [];
  return [
    ...(alert.state === 'firing' ? [{ label: 'Acknowledge', command: `alerts ack ${alert.id}` }] : []),
    { label: 'Snooze 1 h', command: `alerts snooze ${alert.id} 1h` },
    { label: 'Resolve', command: `alerts resolve ${alert.id}` },
  ];
}

function alertFields(alert: AlertInfo, timeZone: string): { label: string; value: string }[] {
  return [
    { label: 'State', value: alert.state },
    { label: 'Fired', value: `${formatTimestamp(alert.firedAt)} (${formatAge(alert.firedAt)})` },
    ...(valueText(alert) ? [{ label: 'Value', value: valueText(alert) }] : []),
    ...(alert.acknowledgedBy ? [{ label: 'Acknowledged by', value: `${alert.acknowledgedBy}, ${formatTimestamp(alert.acknowledgedAt ?? alert.firedAt)}` }] : []),
    ...(alert.snoozedUntil ? [{ label: 'Snoozed until', value: `${formatInZone(new Date(alert.snoozedUntil), timeZone)}${alert.snoozedBy ? ` by ${alert.snoozedBy}` : ''}` }] : []),
    ...(alert.resolvedAt ? [{ label: 'Resolved', value: `${formatTimestamp(alert.resolvedAt)}${alert.resolvedBy ? ` by ${alert.resolvedBy}` : ' by its source'}` }] : []),
    ...(alert.flapping ? [{ label: 'Flapping', value: 'yes: it changes state often; it notifies once until it settles' }] : []),
  ];
}

const peopleOf = (alert: AlertInfo) => [...new Set([alert.acknowledgedBy, alert.snoozedBy, alert.resolvedBy].filter((who): who is string => who !== null))];

export type AlertAction = 'acknowledge' | 'snooze' | 'resolve';

/** The answer to `alerts ack|snooze|resolve`: what changed, or that it already was so. */
export function alertActionDocument(action: AlertAction, outcome: { alert: AlertInfo; changed: boolean }, by: string, timeZone: string): ResultDocument {
  const { alert, changed } = outcome;
  const name = `Alert ${alert.id} (${alertName(alert)})`;
  let title: string;
  let summary: string;
  if (action === 'acknowledge') {
    title = changed ? `Alert ${alert.id} acknowledged` : `Alert ${alert.id} was acknowledged already`;
    summary = changed
      ? `${by} acknowledged ${name}: people know it is being looked at. It stays open until it resolves.`
      : `${name} was acknowledged already, by ${alert.acknowledgedBy ?? 'someone'}${alert.acknowledgedAt ? ` at ${formatTimestamp(alert.acknowledgedAt)}` : ''}; nothing changed.`;
  } else if (action === 'snooze') {
    const until = alert.snoozedUntil ? formatInZone(new Date(alert.snoozedUntil), timeZone) : 'unknown';
    title = changed ? `Alert ${alert.id} snoozed` : `Alert ${alert.id} was snoozed already`;
    summary = changed
      ? `${by} snoozed ${name} until ${until}: it does not remind anyone until then, and it stays ${alert.state}.`
      : `${name} is snoozed until ${until} already${alert.snoozedBy ? `, by ${alert.snoozedBy}` : ''}; nothing changed.`;
  } else {
    title = changed ? `Alert ${alert.id} resolved` : `Alert ${alert.id} was resolved already`;
    summary = changed
      ? `${by} resolved ${name} by hand. If its condition still holds, its source fires it again.`
      : `${name} was resolved already${alert.resolvedAt ? ` at ${formatTimestamp(alert.resolvedAt)}` : ''}${alert.resolvedBy ? `, by ${alert.resolvedBy}` : ', by its source'}; nothing changed.`;
  }
  const actions = nextActions(alert);
  return {
    title,
    tone: changed ? 'ok' : 'info',
    summary,
    blocks: [{ type: 'fields', fields: alertFields(alert, timeZone) }],
    ...(actions.length > 0 ? { actions } : {}),
    people: [...new Set([by, ...peopleOf(alert)])],
    data: { action, changed, alert },
  };
}

function silenceLine(silence: AlertSilenceInfo, timeZone: string): string[] {
  return [silence.rule, formatInZone(new Date(silence.until), timeZone), silence.createdBy, clip(silence.reason, 80)];
}

/** `alerts`: the open alerts, and the silences in force under them. */
export function openAlertsDocument(alerts: readonly AlertInfo[], silences: readonly AlertSilenceInfo[], timeZone: string): ResultDocument {
  const firing = alerts.filter((alert) => alert.state === 'firing').length;
  const silenceBlocks =
    silences.length > 0
      ? [
          { type: 'text' as const, text: `Silenced (${silences.length}): these rules' alerts are stored but notify nobody until then.` },
          { type: 'table' as const, columns: ['Rule', 'Until', 'By', 'Reason'], rows: silences.map((silence) => silenceLine(silence, timeZone)) },
        ]
      : [];
  const people = [...new Set([...alerts.flatMap(peopleOf), ...silences.map((silence) => silence.createdBy)])];
  if (alerts.length === 0) {
    return { title: 'Alerts', tone: 'ok', summary: 'No open alerts.', blocks: silenceBlocks, people, data: { alerts: [], silences } };
  }
  return {
    title: 'Alerts',
    tone: firing > 0 ? 'fail' : 'warn',
    summary: `${alerts.length} open: ${firing} firing, ${alerts.length - firing} acknowledged. \`alerts ack <id>\`, \`alerts snooze <id> 1h\`, \`alerts resolve <id>\` act on one.`,
    blocks: [
      {
        type: 'table',
        columns: ['Id', 'Rule', 'Service', 'State', 'Fired', 'Value', 'Acknowledged by', 'Snoozed until', 'Flapping'],
        rows: alerts.map((alert) => [
          alert.id,
          alert.rule,
          alert.service ?? '',
          alert.state,
          `${formatTimestamp(alert.firedAt)} (${formatAge(alert.firedAt)})`,
          valueText(alert),
          alert.acknowledgedBy ?? '',
          alert.snoozedUntil ? formatInZone(new Date(alert.snoozedUntil), timeZone) : '',
          alert.flapping ? 'yes' : '',
        ]),
        whole: [0],
      },
      ...silenceBlocks,
    ],
    people,
    data: { alerts, silences },
  };
}

const EVENT_WORDS: Record<string, string> = {
  fired: 'fired',
  resolved: 'resolved',
  acknowledged: 'acknowledged',
  snoozed: 'snoozed',
  flapping: 'started flapping',
  settled: 'settled',
  'auto-action': 'the bot acted',
  escalated: 'escalated',
  note: 'note',
};

/** Who did it: a person, the bot's own part, or the alert's source. */
function whoText(event: AlertHistoryInfo): string {
  if (event.actor) return event.actor;
  return event.kind === 'fired' || event.kind === 'resolved' ? 'its source' : 'the bot';
}

function detailText(event: AlertHistoryInfo, timeZone: string): string {
  const details = event.details ?? {};
  const parts: string[] = [];
  if (event.kind === 'snoozed' && typeof details.until === 'string') parts.push(`until ${formatInZone(new Date(details.until), timeZone)}`);
  for (const key of ['summary', 'action', 'level', 'text'] as const) {
    const value = details[key];
    if (typeof value === 'string' || typeof value === 'number') parts.push(String(value));
  }
  if (event.value !== null && (event.kind === 'fired' || event.kind === 'resolved')) parts.push(`value ${number(event.value)}`);
  if (event.silenced) parts.push('under a silence');
  return clip(parts.join('; '), 100);
}

/** `alerts history`: the events, newest first, with who. */
export function alertHistoryDocument(events: readonly AlertHistoryInfo[], query: { since: Date; limit: number }, timeZone: string): ResultDocument {
  const since = formatTimestamp(query.since.toISOString());
  if (events.length === 0) return { title: 'Alert history', tone: 'info', summary: `Nothing happened to any alert since ${since}.`, blocks: [], data: { since: query.since.toISOString(), events: [] } };
  return {
    title: 'Alert history',
    tone: 'info',
    summary: `${events.length === query.limit ? `The ${query.limit} newest events` : `${events.length} event${events.length === 1 ? '' : 's'}`} since ${since}, newest first.`,
    blocks: [
      {
        type: 'table',
        columns: ['When', 'Alert', 'Rule', 'Service', 'What', 'Who', 'Details'],
        rows: events.map((event) => [formatTimestamp(event.at), event.alertId, event.rule, event.service ?? '', EVENT_WORDS[event.kind] ?? event.kind, whoText(event), detailText(event, timeZone)]),
        whole: [1],
      },
    ],
    ...(events.length === query.limit ? { footer: `More events may be older: \`alerts history --limit ${Math.min(query.limit * 2, 200)}\` or a shorter --since.` } : {}),
    people: [...new Set(events.map((event) => event.actor).filter((actor): actor is string => actor !== null))],
    data: { since: query.since.toISOString(), events },
  };
}

/** The answer to `silence`: the rule is quiet until then, and why. */
export function silenceDocument(silence: AlertSilenceInfo, durationMs: number, timeZone: string): ResultDocument {
  return {
    title: `${silence.rule} silenced`,
    tone: 'ok',
    summary: `${silence.createdBy} silenced ${silence.rule} for ${formatSpan(durationMs)}, until ${formatInZone(new Date(silence.until), timeZone)}: its alerts are still stored and listed, marked silenced, and notify nobody until then.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Rule', value: silence.rule },
          { label: 'Until', value: formatInZone(new Date(silence.until), timeZone) },
          { label: 'Reason', value: silence.reason },
          { label: 'Silence', value: silence.id },
        ],
      },
    ],
    people: [silence.createdBy],
    data: { silence },
  };
}

/** `silences`: the silences in force. */
export function silencesDocument(silences: readonly AlertSilenceInfo[], timeZone: string): ResultDocument {
  if (silences.length === 0) return { title: 'Silences', tone: 'ok', summary: 'No rule is silenced: every alert notifies.', blocks: [], data: { silences: [] } };
  return {
    title: 'Silences',
    tone: 'warn',
    summary: `${silences.length} rule${silences.length === 1 ? ' is' : 's are'} silenced: their alerts are stored and notify nobody until the silence ends.`,
    blocks: [{ type: 'table', columns: ['Rule', 'Until', 'By', 'Reason'], rows: silences.map((silence) => silenceLine(silence, timeZone)) }],
    people: [...new Set(silences.map((silence) => silence.createdBy))],
    data: { silences },
  };
}
