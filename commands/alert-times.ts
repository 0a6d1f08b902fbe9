/**
 * The times alert commands take: a snooze (1h, 4h, or until 09:00 tomorrow in the bot's
 * timezone) and a silence's duration (30m, 4h, 2d, at most 7 days). Pure, so that the clock and the
 * timezone are handed in and tested.
 */
import { z } from 'zod';
import { choiceArgument } from './arguments.js';
import { clip } from './format.js';

export const SNOOZE_CHOICES = ['1h', '4h', 'tomorrow'] as const;
export type SnoozeChoice = (typeof SNOOZE_CHOICES)[number];

export const snoozeArgument = choiceArgument(SNOOZE_CHOICES, 'a snooze the alert buttons offer');

/** The hour "tomorrow" starts at: when the day shift is there to look. */
export const TOMORROW_HOUR = 9;

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in ms. */
function offsetAt(at: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(at)
      .filter((part) => part.type !== 'literal')
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/** The wall-clock date of `at` in `timeZone`. */
function dateIn(at: Date, timeZone: string): { year: number; month: number; day: number } {
  const local = new Date(at.getTime() + offsetAt(at, timeZone));
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() };
}

/** 09:00 of the day after `now`'s day in `timeZone` (a DST change that night is honoured). */
export function tomorrowMorning(now: Date, timeZone: string): Date {
  const today = dateIn(now, timeZone);
  const wall = Date.UTC(today.year, today.month - 1, today.day + 1, TOMORROW_HOUR, 0, 0);
  // The offset of the wall time's own moment: one correction covers a DST change in between.
  const guess = wall - offsetAt(new Date(wall), timeZone);
  return new Date(wall - offsetAt(new Date(guess), timeZone));
}

export function snoozeEnd(choice: SnoozeChoice, now: Date, timeZone: string): Date {
  if (choice === 'tomorrow') return tomorrowMorning(now, timeZone);
  return new Date(now.getTime() + (choice === '1h' ? 1 : 4) * 3_600_000);
}

/** `2026-12-08 09:00 Europe/Berlin (08:00 UTC)`: the time in the bot's timezone, and in UTC when that differs. */
export function formatInZone(at: Date, timeZone: string): string {
  const utc = `${at.toISOString().slice(0, 16).replace('T', ' ')}Z`;
  if (timeZone === 'UTC') return utc;
  const local = new Date(at.getTime() + offsetAt(at, timeZone)).toISOString().slice(0, 16).replace('T', ' ');
  return `${local} ${timeZone} (${utc.slice(11)})`;
}

/** The longest silence: a rule quiet for longer is a rule to change, not to silence. */
export const MAX_SILENCE_MS = 7 * 86_400_000;
const SILENCE_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SILENCE_HELP = 'must be a duration such as 30m, 4h or 2d, at most 7d';

export const silenceDurationArgument = z.string({ error: SILENCE_HELP }).transform((value, context) => {
  const match = /^([0-9]{1,4})\s*([mhd])$/i.exec(value.trim());
  const ms = match ? Number(match[1]) * SILENCE_UNITS[match[2]!.toLowerCase() as keyof typeof SILENCE_UNITS] : NaN;
  if (ms > 0 && ms <= MAX_SILENCE_MS) return ms;
  const why = ms > MAX_SILENCE_MS ? 'is longer than the 7 days a silence may last' : SILENCE_HELP;
  context.addIssue({ code: 'custom', input: value, message: `\`${clip(value, 24)}\` ${why}` });
  return z.NEVER;
});
