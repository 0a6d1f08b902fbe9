/**
 * Which open incidents are due a "no status update for N minutes" reminder (issue 16: every 30
 * minutes by default, configurable per severity). Pure: the caller reads the open incidents and
 * the clock, and posts each reminder once under its `onceKey`.
 *
 * The clock runs from `last_update_at` (the latest update, the declaration before the first), and
 * its due points are that time plus whole intervals. A reminder is keyed by its due point, not by
 * how many were sent: every check within one interval names the same point, a bot that was down
 * for hours sends one reminder rather than the missed ones, and a severity change that shortens
 * the interval lands on points already reminded of without repeating them.
 */
import { z } from 'zod';
import { MarkEmoji } from './marked-messages.js';
import { formatSpan } from '../../commands/format.js';
import type { ResultDocument } from '../../commands/result.js';
import { SEVERITIES, type Severity } from './incident-input.js';
import type { Incident } from './incident-store.js';

export const DEFAULT_UPDATE_REMINDER_MINUTES = 30;
/** Faster than people can find something new to say, a reminder is noise. */
export const MIN_UPDATE_REMINDER_MINUTES = 5;
/** Beyond a day it is no longer a reminder of the incident in hand. */
export const MAX_UPDATE_REMINDER_MINUTES = 1440;

const REMINDER_MINUTES_HELP = `must be whole minutes from ${MIN_UPDATE_REMINDER_MINUTES} to ${MAX_UPDATE_REMINDER_MINUTES}`;
const ReminderMinutes = z
  .number({ error: REMINDER_MINUTES_HELP })
  .int(REMINDER_MINUTES_HELP)
  .min(MIN_UPDATE_REMINDER_MINUTES, REMINDER_MINUTES_HELP)
  .max(MAX_UPDATE_REMINDER_MINUTES, REMINDER_MINUTES_HELP);

/**
 * The config's `incidents:` section (ACGS_CONFIG), for example
 * `incidents: { update_reminder_minutes: { sev1: 15 } }`; a severity left out keeps 30 minutes.
 */
export const IncidentsSection = z.strictObject({
  update_reminder_minutes: z
    .strictObject(Object.fromEntries(SEVERITIES.map((severity) => [severity, ReminderMinutes.optional()])) as Record<Severity, z.ZodOptional<typeof ReminderMinutes>>)
    .optional(),
  /** The reaction that puts a message on its incident's timeline (marked-messages.ts); `pushpin` when left out. */
  mark_emoji: MarkEmoji.optional(),
});
export type IncidentsSection = z.infer<typeof IncidentsSection>;

/** Each severity's reminder interval in ms: the config's, or the default. */
export type UpdateReminderIntervals = Readonly<Record<Severity, number>>;

export function updateReminderIntervals(section: IncidentsSection | undefined): UpdateReminderIntervals {
  return Object.fromEntries(
    SEVERITIES.map((severity) => [severity, (section?.update_reminder_minutes?.[severity] ?? DEFAULT_UPDATE_REMINDER_MINUTES) * 60_000]),
  ) as Record<Severity, number>;
}

export type RemindedIncident = Pick<Incident, 'id' | 'key' | 'title' | 'severity' | 'state' | 'channelId' | 'lastUpdateAt' | 'roles'>;

export interface DueUpdateReminder {
  incident: RemindedIncident;
  /** The due point this reminder is for: the last update plus whole intervals. */
  dueAt: Date;
  /** How long the incident has been without an update at `now`. */
  silentForMs: number;
  intervalMs: number;
  /** The same for every check that finds this due point: post the reminder once under it. */
  onceKey: string;
}

/** The incidents due a reminder at `now`, oldest update first; resolved and closed ones never are. */
export function dueUpdateReminders(incidents: readonly RemindedIncident[], intervals: UpdateReminderIntervals, now: Date): DueUpdateReminder[] {
  const due: DueUpdateReminder[] = [];
  for (const incident of incidents) {
    if (incident.state !== 'declared') continue;
    const intervalMs = intervals[incident.severity];
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`the update reminder interval of ${incident.severity} must be a positive number of ms, got ${intervalMs}`);
    // A replica whose clock is behind sees the last update in the future: nothing is due yet.
    const silentForMs = now.getTime() - incident.lastUpdateAt.getTime();
    const elapsedIntervals = Math.floor(silentForMs / intervalMs);
    if (elapsedIntervals < 1) continue;
    const dueAt = new Date(incident.lastUpdateAt.getTime() + elapsedIntervals * intervalMs);
    due.push({ incident, dueAt, silentForMs, intervalMs, onceKey: `incident-update-reminder:${incident.id}:${dueAt.toISOString()}` });
  }
  // Ids are identities as text: by length first, so INC-10 comes after INC-9.
  const byId = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return due.sort((a, b) => a.incident.lastUpdateAt.getTime() - b.incident.lastUpdateAt.getTime() || byId(a.incident.id, b.incident.id));
}

/**
 * The reminder as people read it, in the incident's channel: it names the commander and the
 * communications lead (the ones who post updates) and says how to post one.
 */
export function updateReminderDocument(reminder: DueUpdateReminder): ResultDocument {
  const { incident } = reminder;
  const silent = formatSpan(Math.floor(reminder.silentForMs / 60_000) * 60_000);
  const leads = [incident.roles.commander?.holder, incident.roles.communications?.holder].filter((who): who is string => who !== undefined);
  const unique = [...new Set(leads)];
  return {
    title: `${incident.key}: no status update for ${silent}`,
    tone: 'warn',
    summary: `${unique.length > 0 ? `${unique.join(' and ')}: people` : 'People'} are waiting to hear how ${incident.key} (${incident.severity}) is going. Post what is known with \`/acgs incident update ${incident.key} <text>\`.`,
    blocks: [],
    footer: `Reminded every ${formatSpan(reminder.intervalMs)} without an update for a ${incident.severity} incident.`,
    people: unique,
  };
}
