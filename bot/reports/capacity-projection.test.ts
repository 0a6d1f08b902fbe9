/**
 * The growth projection, pure: a least-squares line and the date it would cross its threshold,
 * for flat, rising, falling, noisy and gappy series, one already over, one with too few days,
 * and the points it refuses.
 */
import { describe, expect, it } from 'vitest';
import { daysWithData, leastSquaresLine, lineValueAt, projectTrend, type ProjectionRules, type TrendPoint } from './capacity-projection.js';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const CPU: ProjectionRules = { threshold: { value: 80, breachedWhen: 'above' }, minDays: 7, horizonDays: 365 };

/** Hourly points over the 30 days before NOW, each the value `at(days since the start)`. */
function hourly(at: (day: number) => number, options: { days?: number; skip?: (day: number) => boolean } = {}): TrendPoint[] {
  const days = options.days ?? 30;
  const points: TrendPoint[] = [];
  for (let hour = 0; hour < days * 24; hour++) {
    const day = hour / 24;
    if (options.skip?.(Math.floor(day))) continue;
    points.push({ time: new Date(NOW.getTime() - days * DAY + hour * HOUR), value: at(day) });
  }
  return points;
}

/** A fixed pseudo-random sequence, so the noisy test fails the same way each time it fails. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}

describe('the least-squares line', () => {
  it('goes through points on a line exactly, its slope per day', () => {
    const line = leastSquaresLine(hourly((day) => 10 + 2 * day))!;
    expect(line.slope_per_day).toBeCloseTo(2, 9);
    expect(line.intercept).toBeCloseTo(10, 9);
    expect(lineValueAt(line, NOW)).toBeCloseTo(70, 9);
  });

  it('has no line through one point, or through points all at one time', () => {
    expect(leastSquaresLine([{ time: NOW, value: 1 }])).toBeUndefined();
    expect(leastSquaresLine([{ time: NOW, value: 1 }, { time: NOW, value: 3 }])).toBeUndefined();
  });
});

describe('the projection', () => {
  it('gives the date a rising resource crosses its threshold', () => {
    // 20 % thirty days ago, rising 1 % a day: 50 % now, 80 % in 30 days.
    const projection = projectTrend(hourly((day) => 20 + day), CPU, NOW);
    expect(projection).toMatchObject({ state: 'crosses', at: '2026-12-31T00:00:00.000Z' });
    expect(projection.state === 'crosses' && projection.in_days).toBeCloseTo(30, 6);
    expect(projection.state === 'crosses' && projection.now_value).toBeCloseTo(50, 6);
  });

  it('says "not at the current trend" for a flat resource and a falling one', () => {
    expect(projectTrend(hourly(() => 40), CPU, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'flat' });
    // A rise of a hundredth of a percent a day is within the flat band (under 1 % of the threshold over the month).
    expect(projectTrend(hourly((day) => 40 + 0.01 * day), CPU, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'flat' });
    expect(projectTrend(hourly((day) => 60 - day), CPU, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'moving away' });
  });

  it('finds the trend under noise, close to the noiseless date', () => {
    const random = noise(42);
    const projection = projectTrend(hourly((day) => 20 + day + 20 * random()), CPU, NOW);
    expect(projection.state).toBe('crosses');
    // The noiseless line crosses in 30 days; ±10 % noise an hour moves a month's fit by well under two days.
    expect(projection.state === 'crosses' && Math.abs(projection.in_days - 30)).toBeLessThan(2);
  });

  it('keeps to the line across gaps in the data', () => {
    const projection = projectTrend(hourly((day) => 20 + day, { skip: (day) => day % 3 !== 0 }), CPU, NOW);
    expect(projection).toMatchObject({ state: 'crosses', at: '2026-12-31T00:00:00.000Z' });
  });

  it('says a resource the line puts over its threshold now is over, whether it still rises or falls', () => {
    expect(projectTrend(hourly((day) => 60 + day), CPU, NOW)).toMatchObject({ state: 'over-threshold' });
    const falling = projectTrend(hourly((day) => 95 - 0.1 * day), CPU, NOW);
    expect(falling).toMatchObject({ state: 'over-threshold' });
    expect(falling.state === 'over-threshold' && falling.now_value).toBeCloseTo(92, 6);
  });

  it('judges by the line, not the last point: one bad hour at the end is not "over"', () => {
    const points = hourly(() => 40);
    points[points.length - 1] = { ...points[points.length - 1]!, value: 99 };
    expect(projectTrend(points, CPU, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'flat' });
  });

  it('says a crossing past the horizon is not at the current trend', () => {
    // 0.05 % a day from 50 %: 80 % in 600 days, past a year.
    expect(projectTrend(hourly((day) => 48.5 + 0.05 * day), CPU, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'beyond the horizon' });
    expect(projectTrend(hourly((day) => 48.5 + 0.05 * day), { ...CPU, horizonDays: 1000 }, NOW)).toMatchObject({ state: 'crosses' });
  });

  it('projects a threshold that is breached below it (a falling hit rate) the other way', () => {
    const hitRate: ProjectionRules = { threshold: { value: 95, breachedWhen: 'below' }, minDays: 7, horizonDays: 365 };
    expect(projectTrend(hourly((day) => 99.5 - 0.1 * day), hitRate, NOW)).toMatchObject({ state: 'crosses', at: '2026-12-16T00:00:00.000Z' });
    expect(projectTrend(hourly((day) => 96 + 0.1 * day), hitRate, NOW)).toMatchObject({ state: 'not-at-current-trend', why: 'moving away' });
  });

  it('gives a trend without a crossing when the resource has no threshold', () => {
    const projection = projectTrend(hourly((day) => 1000 + 10 * day), { minDays: 7, horizonDays: 365 }, NOW);
    expect(projection).toMatchObject({ state: 'no-threshold' });
    expect(projection.state === 'no-threshold' && projection.line.slope_per_day).toBeCloseTo(10, 6);
  });

  it('says "not enough data" with fewer days than asked, however many points they hold', () => {
    expect(projectTrend(hourly((day) => 20 + day, { days: 6 }), CPU, NOW)).toEqual({ state: 'not-enough-data', days_with_data: 6, needed_days: 7 });
    // Thirty days of range, data on only five of them.
    expect(projectTrend(hourly((day) => 20 + day, { skip: (day) => day % 6 !== 0 }), CPU, NOW)).toEqual({ state: 'not-enough-data', days_with_data: 5, needed_days: 7 });
    expect(projectTrend([], CPU, NOW)).toEqual({ state: 'not-enough-data', days_with_data: 0, needed_days: 7 });
  });

  it('counts distinct UTC days with a point', () => {
    expect(daysWithData(hourly(() => 1, { days: 3 }))).toBe(3);
    expect(daysWithData([{ time: new Date('2026-11-01T23:59:00Z'), value: 1 }, { time: new Date('2026-11-02T00:01:00Z'), value: 1 }])).toBe(2);
  });

  it('refuses a non-finite value, an invalid time, and fewer than two days, saying which', () => {
    expect(() => projectTrend([{ time: NOW, value: Number.NaN }], CPU, NOW)).toThrow(/finite value and a valid time, not NaN/);
    expect(() => projectTrend([{ time: new Date('nonsense'), value: 1 }], CPU, NOW)).toThrow(/finite value and a valid time/);
    expect(() => projectTrend([], { ...CPU, minDays: 1 }, NOW)).toThrow(/at least 2 days of data, not 1/);
  });
});
