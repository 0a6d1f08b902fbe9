/**
 * What people read about incidents: one incident after a change (or that it already was so), the
 * open and recent ones with their median times, and an incident's action items. Plain data in
 * (commands/ports.ts), a document out; times in the bot's timezone.
 */
import { formatInZone } from './alert-times.js';
import { clip, formatDuration } from './format.js';
import type { IncidentActionItemInfo, IncidentInfo, IncidentTimesInfo } from './ports.js';
import type { ResultDocument } from './result.js';

/** Everyone the incident names: Slack shows them as mentions, and only them. */
export function incidentPeople(incident: IncidentInfo): string[] {
  const named = [incident.declaredBy, incident.resolvedBy, incident.closedBy, ...Object.values(incident.roles)];
  return [...new Set(named.filter((who): who is string => typeof who === 'string'))];
}

export function incidentFields(incident: IncidentInfo, timeZone: string): { label: string; value: string }[] {
  const when = (at: Date) => formatInZone(at, timeZone);
  return [
    { label: 'Severity', value: incident.severity },
    { label: 'Type', value: `${incident.type}${incident.private ? ' (private)' : ''}` },
    { label: 'State', value: incident.state },
    { label: 'Commander', value: incident.roles.commander ?? 'nobody' },
    ...(incident.roles.communications ? [{ label: 'Communications', value: incident.roles.communications }] : []),
    ...(incident.roles.scribe ? [{ label: 'Scribe', value: incident.roles.scribe }] : []),
    ...(incident.channelId ? [{ label: 'Channel', value: incident.channelId }] : []),
    { label: 'Declared', value: `${when(incident.declaredAt)} by ${incident.declaredBy}` },
    ...(incident.resolvedAt ? [{ label: 'Resolved', value: `${when(incident.resolvedAt)} by ${incident.resolvedBy ?? 'someone'}` }] : []),
    ...(incident.closedAt ? [{ label: 'Closed', value: `${when(incident.closedAt)} by ${incident.closedBy ?? 'someone'}` }] : []),
  ];
}

/** The answer to a change of an incident: what it is now, with the sentence saying what happened. */
export function incidentDocument(incident: IncidentInfo, words: { title: string; summary: string; changed: boolean; timeZone: string; footer?: string; people?: readonly string[] }): ResultDocument {
  return {
    title: words.title,
    // A change done is `ok` (the CLI exits 0); the incident's own state is in its fields.
    tone: words.changed ? 'ok' : 'info',
    summary: words.summary,
    blocks: [{ type: 'fields', fields: incidentFields(incident, words.timeZone) }],
    ...(words.footer ? { footer: words.footer } : {}),
    people: [...new Set([...incidentPeople(incident), ...(words.people ?? [])])],
    data: { incident, changed: words.changed },
  };
}

/** `12 min`, or `n/a` when there was nothing to measure. */
const span = (ms: number | undefined) => (ms === undefined ? 'n/a' : formatDuration(ms / 1000));

/** `incidents`: the open ones first, then the recent ones, and the medians of the period. */
export function incidentListDocument(listed: readonly IncidentInfo[], times: IncidentTimesInfo, options: { days: number; timeZone: string }): ResultDocument {
  const open = listed.filter((incident) => incident.state !== 'closed');
  const recent = listed.filter((incident) => incident.state === 'closed');
  const row = (incident: IncidentInfo) => [incident.key, incident.severity, incident.type, incident.state, formatInZone(incident.declaredAt, options.timeZone), incident.roles.commander ?? '', clip(incident.title, 60)];
  const columns = ['Incident', 'Severity', 'Type', 'State', 'Declared', 'Commander', 'Title'];
  const summary =
    open.length === 0 ? `No incident is open; ${recent.length} closed in the last ${options.days} days.` : `${open.length} open (${open.filter((incident) => incident.state === 'resolved').length} of them resolved, waiting to be closed); ${recent.length} closed in the last ${options.days} days.`;
  return {
    title: 'Incidents',
    tone: open.some((incident) => incident.state === 'declared') ? 'warn' : 'ok',
    summary,
    blocks: [
      ...(open.length > 0 ? [{ type: 'text' as const, text: 'Open' }, { type: 'table' as const, columns, rows: open.map(row), whole: [0] }] : []),
      ...(recent.length > 0 ? [{ type: 'text' as const, text: `Closed in the last ${options.days} days` }, { type: 'table' as const, columns, rows: recent.map(row), whole: [0] }] : []),
      {
        type: 'fields',
        fields: [
          { label: `Declared in ${options.days} days`, value: String(times.declared) },
          { label: 'Median time to declare', value: span(times.medianDetectionMs) },
          { label: 'Median time to resolve', value: `${span(times.medianResolutionMs)}${times.resolved < times.declared ? ` (${times.resolved} of ${times.declared} resolved)` : ''}` },
        ],
      },
    ],
    footer: 'Times are medians over the incidents declared in the period, from the problem being noticed: one long outage does not drag them away from what a typical incident took.',
    people: [...new Set(listed.flatMap((incident) => (incident.roles.commander ? [incident.roles.commander] : [])))],
    data: { incidents: listed, times },
  };
}

/** `incident actions`: the items with their numbers, owners and states. */
export function actionItemsDocument(incident: IncidentInfo, items: readonly IncidentActionItemInfo[], timeZone: string): ResultDocument {
  const open = items.filter((item) => item.state === 'open').length;
  return {
    title: `${incident.key} action items`,
    tone: open > 0 ? 'warn' : 'ok',
    summary: items.length === 0 ? `${incident.key} has no action items yet: \`incident action add ${incident.key} <text>\` adds one.` : `${open} of ${items.length} open.`,
    blocks: items.length === 0 ? [] : [{ type: 'table', columns: ['#', 'State', 'Owner', 'Item', 'Changed'], rows: items.map((item) => [item.id, item.state, item.owner, clip(item.text, 80), `${formatInZone(item.updatedAt, timeZone)} by ${item.updatedBy}`]), whole: [0] }],
    people: [...new Set(items.flatMap((item) => [item.owner, item.updatedBy]))],
    data: { incident: incident.key, items },
  };
}
