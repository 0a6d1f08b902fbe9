/**
 * The post-incident review as a Markdown file, written from what the store recorded: summary,
 * impact, detection and resolution times, the timeline, what was done, the status updates, the
 * action items, and the questions only people can answer as prompts to fill. Pure and
 * deterministic: the same records give the same bytes, so the file kept in PostgreSQL and the one
 * posted in Slack are the same, and a test can compare them whole. Nothing is cut: the file is
 * where the whole timeline is kept (the Slack summary beside it is the short form).
 */
import { formatInZone } from '../../commands/alert-times.js';
import { formatDuration, formatTimestamp } from '../../commands/format.js';
import { INCIDENT_ROLES, type IncidentRole } from './incident-input.js';
import type { ActionItem, Incident, RoleChange, StatusUpdate, TimelineEntry } from './incident-store.js';
import { incidentTimes, type IncidentTimes, type TimedIncident } from './incident-times.js';
import { codeSpan, markdownInline, markdownQuote, markdownReference } from './review-markdown.js';

/**
 * A timeline entry of any kind: the store gains kinds (`declared`, `resolved`, `closed`) and an
 * older review renders a kind it does not know by its name rather than refusing the incident.
 */
export type ReviewTimelineEntry = Omit<TimelineEntry, 'kind'> & { kind: string };

export interface ReviewRecords {
  incident: Incident;
  timeline: readonly ReviewTimelineEntry[];
  statusUpdates: readonly StatusUpdate[];
  /** Every role handed out, the declarer's command included (store.roleHistory). */
  roleChanges: readonly RoleChange[];
  actionItems: readonly ActionItem[];
}

export interface ReviewOptions {
  /** When the review was written: the file says so, and the clock is not read here. */
  generatedAt: Date;
  /** The config's `timezone:`; times are shown in it beside UTC. */
  timeZone?: string;
  /** What is known of the impact; without it the section is a prompt to fill. */
  impact?: string;
  /** Slack user id -> name: a file shows no mentions, so people are named where the caller knows them. */
  names?: ReadonlyMap<string, string>;
  /** Incidents to set this one's times against, as medians over their period (incident-times.ts). */
  recent?: { incidents: readonly TimedIncident[]; period: { from: Date; to: Date } };
}

export const REVIEW_SECTIONS = [
  'Summary',
  'Impact',
  'Detection and resolution',
  'Timeline',
  'What was done',
  'Status updates',
  'Action items',
  'What went well',
  'What went badly',
  'Where we got lucky',
] as const;

/** Kinds read as words; any other kind is shown by its own name. */
const TIMELINE_KIND_LABELS: ReadonlyMap<string, string> = new Map([
  ['runbook-step', 'runbook step'],
  ['role-change', 'role change'],
  ['severity-change', 'severity change'],
  ['type-change', 'type change'],
  ['status-update', 'status update'],
  ['marked-message', 'marked message'],
]);

const PROMPTS = {
  Impact: 'To fill: who and what was affected (services, agents, users), for how long, and what was lost or put at risk (refused requests, delayed decisions, audit records).',
  'What went well': 'To fill: what helped: an alert that fired in time, a runbook step that worked, someone who knew where to look.',
  'What went badly': 'To fill: what slowed the response or made it worse: a missing alert, a step that failed, a question nobody could answer.',
  'Where we got lucky': 'To fill: what went right by chance and would not next time; each one deserves an action item.',
} as const;

export function timelineKindLabel(kind: string): string {
  return TIMELINE_KIND_LABELS.get(kind) ?? kind;
}

/** `inc-7-review.md`: the name of the file posted in Slack. */
export function reviewFileName(incident: Pick<Incident, 'id'>): string {
  return `inc-${incident.id}-review.md`;
}

export function reviewDocument(records: ReviewRecords, options: ReviewOptions): string {
  const timeZone = options.timeZone ?? 'UTC';
  const who = (id: string) => personName(id, options.names);
  const timeline = chronological(records.timeline);
  const { incident } = records;
  const sections: Record<(typeof REVIEW_SECTIONS)[number], string[]> = {
    Summary: summaryLines(records, timeline, timeZone, who),
    Impact: options.impact?.trim() ? [markdownQuote(options.impact.trim())] : [prompt('Impact')],
    'Detection and resolution': timesLines(incident, options.recent),
    Timeline: timelineLines(timeline, timeZone, who),
    'What was done': doneLines(timeline, who),
    'Status updates': updateLines(records.statusUpdates, who),
    'Action items': actionItemLines(incident, records.actionItems, who),
    'What went well': [prompt('What went well')],
    'What went badly': [prompt('What went badly')],
    'Where we got lucky': [prompt('Where we got lucky')],
  };
  const head = [
    `# ${incident.key} post-incident review: ${markdownInline(incident.title)}`,
    '',
    `_Written by the bot on ${utc(options.generatedAt)} from what it recorded of the incident. Fill in the parts that begin with "To fill"._`,
  ];
  const body = REVIEW_SECTIONS.flatMap((title) => ['', `## ${title}`, '', ...sections[title]]);
  return `${[...head, ...body].join('\n')}\n`;
}

function summaryLines(records: ReviewRecords, timeline: readonly ReviewTimelineEntry[], timeZone: string, who: (id: string) => string): string[] {
  const { incident } = records;
  const at = (time: Date | undefined, by?: string) => (time ? `${zoned(time, timeZone)}${by ? ` by ${who(by)}` : ''}` : 'not yet');
  const changes = (kind: string) =>
    timeline.filter((entry) => entry.kind === kind).map((entry) => `  - ${zoned(entry.occurredAt, timeZone)} by ${who(entry.actor)}: ${markdownInline(entry.text)}`);
  const severityChanges = changes('severity-change');
  const typeChanges = changes('type-change');
  return [
    `- **Title:** ${markdownInline(incident.title)}`,
    `- **Severity:** ${incident.severity}${countedChanges(severityChanges.length)}`,
    ...severityChanges,
    `- **Type:** ${incident.type}${countedChanges(typeChanges.length)}`,
    ...typeChanges,
    `- **State:** ${incident.state}${incident.private ? ' (private incident)' : ''}`,
    ...INCIDENT_ROLES.flatMap((role) => roleLines(role, incident, records.roleChanges, timeZone, who)),
    `- **Detected:** ${at(incident.detectedAt)}`,
    `- **Declared:** ${at(incident.declaredAt, incident.declaredBy)}`,
    `- **Resolved:** ${at(incident.resolvedAt, incident.resolvedBy)}`,
    `- **Closed:** ${at(incident.closedAt, incident.closedBy)}`,
  ];
}

function countedChanges(count: number): string {
  if (count === 0) return '';
  return count === 1 ? ', changed once:' : `, changed ${count} times:`;
}

/** The holder now, and each earlier one when the role was handed over. */
function roleLines(role: IncidentRole, incident: Incident, history: readonly RoleChange[], timeZone: string, who: (id: string) => string): string[] {
  const label = role.charAt(0).toUpperCase() + role.slice(1);
  const changes = history.filter((change) => change.role === role);
  const holder = incident.roles[role]?.holder ?? changes.at(-1)?.holder;
  if (!holder) return [`- **${label}:** nobody was named`];
  if (changes.length <= 1) return [`- **${label}:** ${who(holder)}`];
  return [
    `- **${label}:** ${who(holder)}, handed over ${changes.length - 1 === 1 ? 'once' : `${changes.length - 1} times`}:`,
    ...changes.map((change) => `  - ${zoned(change.changedAt, timeZone)}: ${who(change.holder)}, named by ${who(change.changedBy)}`),
  ];
}

/** This incident's detection and resolution time, measured as incident-times.ts measures every incident: one definition. */
export function ownTimes(incident: Incident): IncidentTimes {
  return incidentTimes([incident], { from: incident.declaredAt, to: new Date(incident.declaredAt.getTime() + 1) });
}

function timesLines(incident: Incident, recent: ReviewOptions['recent']): string[] {
  const own = ownTimes(incident);
  const lines = [
    `- **Detection time** (noticed → declared): ${duration(own.medianDetectionMs) ?? 'not measured'}`,
    `- **Resolution time** (noticed → resolved): ${duration(own.medianResolutionMs) ?? 'not resolved yet'}`,
  ];
  if (recent) lines.push(recentLine(incidentTimes(recent.incidents, recent.period), recent.period));
  return lines;
}

function recentLine(times: IncidentTimes, period: { from: Date; to: Date }): string {
  const span = `${utc(period.from)} to ${utc(period.to)}`;
  if (times.declared === 0) return `- **For comparison:** no incident was declared from ${span}.`;
  const resolution = times.medianResolutionMs === undefined ? 'none of them resolved yet' : `resolution ${duration(times.medianResolutionMs)} (${times.resolved} resolved)`;
  return `- **For comparison,** medians of the ${times.declared} incident${times.declared === 1 ? '' : 's'} declared from ${span}: detection ${duration(times.medianDetectionMs)}, ${resolution}.`;
}

function timelineLines(timeline: readonly ReviewTimelineEntry[], timeZone: string, who: (id: string) => string): string[] {
  if (timeline.length === 0) return ['_Nothing was recorded on the timeline._'];
  const local = timeZone !== 'UTC';
  const header = ['Time (UTC)', ...(local ? [`Time (${markdownInline(timeZone)})`] : []), 'What', 'Who', 'Text', 'Reference'];
  const rows = timeline.map((entry) => [
    utc(entry.occurredAt),
    ...(local ? [wallClock(entry.occurredAt, timeZone)] : []),
    markdownInline(timelineKindLabel(entry.kind)),
    who(entry.actor),
    markdownInline(entry.text),
    entry.reference ? markdownReference(entry.reference, true) : '',
  ]);
  return [tableRow(header), tableRow(header.map(() => '---')), ...rows.map(tableRow)];
}

/** The commands and runbook runs of the timeline: what the bot did on people's behalf. */
function doneLines(timeline: readonly ReviewTimelineEntry[], who: (id: string) => string): string[] {
  const commands = timeline.filter((entry) => entry.kind === 'command');
  const steps = timeline.filter((entry) => entry.kind === 'runbook-step');
  if (commands.length === 0 && steps.length === 0) return ['_No command or runbook ran through the bot in this incident._'];
  const lines: string[] = [];
  if (commands.length > 0) {
    lines.push('### Commands', '');
    for (const entry of commands) lines.push(`- ${utc(entry.occurredAt)}, ${who(entry.actor)}: ${markdownInline(entry.text)}${referenceSuffix(entry)}`);
  }
  if (steps.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('### Runbook runs', '');
    for (const [run, runSteps] of groupedByRun(steps)) {
      const first = runSteps[0]!;
      const last = runSteps.at(-1)!;
      const name = run === undefined ? 'Steps without a run reference' : `Run ${markdownReference(run)}`;
      lines.push(`- ${name}: ${runSteps.length} step${runSteps.length === 1 ? '' : 's'}, ${utc(first.occurredAt)} to ${utc(last.occurredAt)}`);
      for (const step of runSteps) lines.push(`  - ${utc(step.occurredAt)}, ${who(step.actor)}: ${markdownInline(step.text)}`);
    }
  }
  return lines;
}

/** Steps by their run (the reference), runs in the order they started. */
function groupedByRun(steps: readonly ReviewTimelineEntry[]): Map<string | undefined, ReviewTimelineEntry[]> {
  const runs = new Map<string | undefined, ReviewTimelineEntry[]>();
  for (const step of steps) {
    const run = runs.get(step.reference) ?? [];
    run.push(step);
    runs.set(step.reference, run);
  }
  return runs;
}

function updateLines(updates: readonly StatusUpdate[], who: (id: string) => string): string[] {
  if (updates.length === 0) return ['_No status update was posted._'];
  const ordered = [...updates].sort((a, b) => a.postedAt.getTime() - b.postedAt.getTime() || compareIds(a.id, b.id));
  return ordered.flatMap((update, index) => [...(index > 0 ? [''] : []), `- ${utc(update.postedAt)}, ${who(update.author)}:`, '', markdownQuote(update.text, '  ')]);
}

function actionItemLines(incident: Incident, items: readonly ActionItem[], who: (id: string) => string): string[] {
  const tracking = `Tracked with ${codeSpan(`/acgs incident actions ${incident.key}`)}.`;
  if (items.length === 0) return [`_No action item yet._ ${tracking}`];
  const ordered = [...items].sort((a, b) => compareIds(a.id, b.id));
  const count = (state: string) => ordered.filter((item) => item.state === state).length;
  return [
    `${count('open')} open, ${count('done')} done, ${count('dropped')} dropped. ${tracking}`,
    '',
    ...ordered.map(
      (item) => `- **${item.state}** #${item.id} ${markdownInline(item.text)}, owner ${who(item.owner)} (since ${utc(item.updatedAt)})`,
    ),
  ];
}

function referenceSuffix(entry: ReviewTimelineEntry): string {
  return entry.reference ? ` (${markdownReference(entry.reference)})` : '';
}

function prompt(section: keyof typeof PROMPTS): string {
  return `> ${PROMPTS[section]}`;
}

/**
 * Oldest first by when each thing happened (not when the bot learnt of it); equal times by when
 * they were recorded, then by id, so the order never depends on how the caller sorted them.
 */
export function chronological<T extends Pick<ReviewTimelineEntry, 'occurredAt' | 'recordedAt' | 'id'>>(entries: readonly T[]): T[] {
  return [...entries].sort(
    (a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || a.recordedAt.getTime() - b.recordedAt.getTime() || compareIds(a.id, b.id),
  );
}

/** Ids are identities (bigint as text): by length first, so "10" comes after "9". */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function personName(id: string, names: ReadonlyMap<string, string> | undefined): string {
  const name = names?.get(id);
  return name ? `${markdownInline(name)} (${markdownInline(id)})` : markdownInline(id);
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** `2026-12-07 10:04:05Z`: seconds, since several entries often share a minute. */
function utc(at: Date): string {
  return formatTimestamp(at.toISOString());
}

/** `2026-12-08 09:00 Europe/Berlin (08:00 UTC)`, or UTC alone when that is the timezone. */
function zoned(at: Date, timeZone: string): string {
  return markdownInline(formatInZone(at, timeZone));
}

/** The wall clock in `timeZone`, to the second (the timeline's second column). */
function wallClock(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

function duration(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : formatDuration(ms / 1000);
}
