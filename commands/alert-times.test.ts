import { describe, expect, it } from 'vitest';
import { formatInZone, silenceDurationArgument, snoozeEnd, tomorrowMorning } from './alert-times.js';

describe('tomorrowMorning', () => {
  it('is 09:00 of the next day in UTC', () => {
    expect(tomorrowMorning(new Date('2026-12-07T23:59:00Z'), 'UTC').toISOString()).toBe('2026-12-08T09:00:00.000Z');
    expect(tomorrowMorning(new Date('2026-12-31T00:00:00Z'), 'UTC').toISOString()).toBe('2027-01-01T09:00:00.000Z');
  });

  it("counts the day in the bot's timezone, not in UTC", () => {
    // 23:30 UTC on the 7th is already the 8th in Berlin (00:30): tomorrow there is the 9th.
    expect(tomorrowMorning(new Date('2026-12-07T23:30:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-12-09T08:00:00.000Z');
    // 10:00 UTC on the 7th is 23:00 on the 7th in Auckland (UTC+13): tomorrow there is the 8th at 09:00, 20:00 UTC on the 7th.
    expect(tomorrowMorning(new Date('2026-12-07T10:00:00Z'), 'Pacific/Auckland').toISOString()).toBe('2026-12-07T20:00:00.000Z');
    expect(tomorrowMorning(new Date('2026-12-07T12:00:00Z'), 'America/New_York').toISOString()).toBe('2026-12-08T14:00:00.000Z');
  });

  it('honours a clock change during the night', () => {
    // Berlin moves from UTC+1 to UTC+2 at 02:00 on 2026-03-29.
    expect(tomorrowMorning(new Date('2026-03-28T20:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-03-29T07:00:00.000Z');
    // And back to UTC+1 at 03:00 on 2026-10-25.
    expect(tomorrowMorning(new Date('2026-10-24T20:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-10-25T08:00:00.000Z');
  });
});

describe('snoozeEnd and formatInZone', () => {
  it('adds 1 or 4 hours, and says the time in the zone and in UTC', () => {
    const now = new Date('2026-12-07T10:15:00Z');
    expect(snoozeEnd('1h', now, 'UTC').toISOString()).toBe('2026-12-07T11:15:00.000Z');
    expect(snoozeEnd('4h', now, 'UTC').toISOString()).toBe('2026-12-07T14:15:00.000Z');
    expect(formatInZone(new Date('2026-12-08T08:00:00Z'), 'Europe/Berlin')).toBe('2026-12-08 09:00 Europe/Berlin (08:00Z)');
    expect(formatInZone(new Date('2026-12-08T08:00:00Z'), 'UTC')).toBe('2026-12-08 08:00Z');
  });
});

describe('silenceDurationArgument', () => {
  it('takes minutes, hours and days up to 7 days, and says what is wrong otherwise', () => {
    expect(silenceDurationArgument.parse('30m')).toBe(1_800_000);
    expect(silenceDurationArgument.parse('4H')).toBe(14_400_000);
    expect(silenceDurationArgument.parse('7d')).toBe(604_800_000);
    const problem = (value: string) => silenceDurationArgument.safeParse(value).error?.issues[0]?.message;
    expect(problem('8d')).toBe('`8d` is longer than the 7 days a silence may last');
    expect(problem('169h')).toBe('`169h` is longer than the 7 days a silence may last');
    for (const bad of ['0m', '1w', '-1h', '1.5h', 'soon', '']) expect(problem(bad), bad).toMatch(/must be a duration such as 30m, 4h or 2d, at most 7d$/);
  });
});
