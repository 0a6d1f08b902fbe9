/**
 * The review's short form, posted beside its file: the figures, the first moments of the
 * timeline and the action items, each list cut with how many more the file holds. A result
 * document like every other answer of the bot, so it stays Slack-free: bot/slack/render.ts turns
 * it into Block Kit (escaping, mentions, limits) and the CLI prints it.
 */
import { formatInZone } from '../../commands/alert-times.js';
import { clip, formatDuration, formatTimestamp } from '../../commands/format.js';
import type { ResultDocument } from '../../commands/result.js';
import { INCIDENT_ROLES } from './incident-input.js';
import { chronological, compareIds, ownTimes, reviewFileName, timelineKindLabel, type ReviewRecords } from './review-document.js';

/** How much of each list the message shows; the file has the rest. */
export const REVIEW_SUMMARY_LIMITS = {
  timelineEntries: 10,
  actionItems: 10,
  /** A line's text: long notes and updates are for the file. */
  lineText: 160,
} as const;

export interface ReviewSummaryOptions {
  timeZone?: string;
}

export function reviewSummary(records: ReviewRecords, options: ReviewSummaryOptions = {}): ResultDocument {
  const { incident } = records;
  const timeZone = options.timeZone ?? 'UTC';
  const timeline = chronological(records.timeline);
  const own = ownTimes(incident);
  const severityChanges = timeline.filter((entry) => entry.kind === 'severity-change').length;
  const openItems = records.actionItems.filter((item) => item.state === 'open').length;
  const file = reviewFileName(incident);

  const roles = INCIDENT_ROLES.flatMap((role) => {
    const holder = incident.roles[role]?.holder;
    return holder ? [{ label: role.charAt(0).toUpperCase() + role.slice(1), value: holder }] : [];
  });
  const shownEntries = timeline.slice(0, REVIEW_SUMMARY_LIMITS.timelineEntries);
  const items = [...records.actionItems].sort((a, b) => compareIds(a.id, b.id));
  const shownItems = items.slice(0, REVIEW_SUMMARY_LIMITS.actionItems);
  const people = new Set([...roles.map((role) => role.value), ...shownEntries.map((entry) => entry.actor), ...shownItems.map((item) => item.owner)]);

  return {
    title: `${incident.key} review: ${incident.title}`,
    tone: openItems > 0 ? 'warn' : 'info',
    summary:
      `A ${incident.severity} ${incident.type} incident, ${own.medianResolutionMs === undefined ? 'not resolved yet' : `resolved ${formatDuration(own.medianResolutionMs / 1000)} after it was noticed`}; ` +
      `${openItems} of ${records.actionItems.length} action item${records.actionItems.length === 1 ? '' : 's'} open. The whole review is in ${file}.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Severity', value: `${incident.severity}${severityChanges > 0 ? ` (changed ${severityChanges === 1 ? 'once' : `${severityChanges} times`})` : ''}` },
          { label: 'Type', value: incident.type },
          ...roles,
          { label: 'Detection time', value: own.medianDetectionMs === undefined ? 'not measured' : formatDuration(own.medianDetectionMs / 1000) },
          { label: 'Resolution time', value: own.medianResolutionMs === undefined ? 'not resolved yet' : formatDuration(own.medianResolutionMs / 1000) },
          { label: 'Declared', value: formatInZone(incident.declaredAt, timeZone) },
          { label: 'Closed', value: incident.closedAt ? formatInZone(incident.closedAt, timeZone) : 'not yet' },
        ],
      },
      { type: 'text', text: timelineText(timeline.length, shownEntries) },
      { type: 'text', text: actionItemsText(items.length, shownItems) },
    ],
    footer: `Status updates: ${records.statusUpdates.length}. Impact and what went well or badly are prompts to fill in ${file}.`,
    people: [...people].filter((person) => /^[UW][A-Z0-9]{2,}$/.test(person)),
  };
}

function timelineText(total: number, shown: ReviewRecords['timeline']): string {
  if (total === 0) return 'Timeline: nothing was recorded.';
  const lines = shown.map((entry) => `${formatTimestamp(entry.occurredAt.toISOString())} ${timelineKindLabel(entry.kind)} · ${entry.actor}: ${clip(entry.text, REVIEW_SUMMARY_LIMITS.lineText)}`);
  return [`Timeline (${total} entr${total === 1 ? 'y' : 'ies'}):`, ...lines, ...more(total - shown.length, ['entry', 'entries'])].join('\n');
}

function actionItemsText(total: number, shown: ReviewRecords['actionItems']): string {
  if (total === 0) return 'Action items: none yet.';
  const lines = shown.map((item) => `#${item.id} ${item.state} · ${item.owner}: ${clip(item.text, REVIEW_SUMMARY_LIMITS.lineText)}`);
  return [`Action items (${total}):`, ...lines, ...more(total - shown.length, ['item', 'items'])].join('\n');
}

function more(hidden: number, [one, many]: [string, string]): string[] {
  return hidden > 0 ? [`… and ${hidden} more ${hidden === 1 ? one : many} in the file.`] : [];
}
