/**
 * The capacity report's growth projection (issue 15, "Monthly capacity report"): a least-squares
 * line through a resource's points over the period, and the date that line would cross the
 * resource's threshold if the trend held. Pure and deliberately simple: a straight line is what
 * a person can check by eye on the chart beside it, and a month of hourly averages is too short
 * for anything that claims more (seasonality, confidence bands).
 */

export interface TrendPoint {
  time: Date;
  value: number;
}

export interface ProjectionRules {
  /** The threshold the runbook sets; none (a request rate) gives a trend without a crossing. */
  threshold?: { value: number; breachedWhen: 'above' | 'below' };
  /** Fewer distinct UTC days with a point than this: too little to draw a line through. */
  minDays: number;
  /** A crossing further off than this is not a projection anyone should plan on. */
  horizonDays: number;
}

/** y = intercept + slopePerDay * (days since `origin`). */
export interface TrendLine {
  origin: string;
  intercept: number;
  slope_per_day: number;
}

export type Projection =
  | { state: 'not-enough-data'; days_with_data: number; needed_days: number }
  | { state: 'no-threshold'; line: TrendLine; now_value: number }
  | { state: 'over-threshold'; line: TrendLine; now_value: number }
  | { state: 'crosses'; line: TrendLine; now_value: number; at: string; in_days: number }
  | { state: 'not-at-current-trend'; line: TrendLine; now_value: number; why: 'flat' | 'moving away' | 'beyond the horizon' };

const DAY_MS = 86_400_000;

/**
 * A line that moves less than this share of the threshold over the whole period is flat: with
 * noise, a slope that small is as likely the noise's as the load's, and its crossing would be
 * decades off anyway.
 */
export const FLAT_SHARE_OF_THRESHOLD = 0.01;

/** The least-squares line through the points, x in days from the first point; undefined with fewer than two distinct times. */
export function leastSquaresLine(points: readonly TrendPoint[]): TrendLine | undefined {
  if (points.length < 2) return undefined;
  const origin = Math.min(...points.map((point) => point.time.getTime()));
  const xs = points.map((point) => (point.time.getTime() - origin) / DAY_MS);
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = points.reduce((sum, point) => sum + point.value, 0) / points.length;
  let spread = 0;
  let covariance = 0;
  points.forEach((point, index) => {
    const dx = xs[index]! - meanX;
    spread += dx * dx;
    covariance += dx * (point.value - meanY);
  });
  if (spread === 0) return undefined;
  const slope = covariance / spread;
  return { origin: new Date(origin).toISOString(), intercept: meanY - slope * meanX, slope_per_day: slope };
}

/** The line's value at a time. */
export function lineValueAt(line: TrendLine, time: Date): number {
  return line.intercept + line.slope_per_day * ((time.getTime() - Date.parse(line.origin)) / DAY_MS);
}

/** Distinct UTC days that have a point: a month with three sampled days is not a month's trend. */
export function daysWithData(points: readonly TrendPoint[]): number {
  return new Set(points.map((point) => point.time.toISOString().slice(0, 10))).size;
}

/**
 * Where the resource is heading, judged at `now` by the line (not the last point: one noisy hour
 * should not decide it). Over the threshold now: `over-threshold`, whichever way it moves.
 */
export function projectTrend(points: readonly TrendPoint[], rules: ProjectionRules, now: Date): Projection {
  for (const point of points) {
    if (!Number.isFinite(point.value) || !Number.isFinite(point.time.getTime())) throw new RangeError(`a trend point needs a finite value and a valid time, not ${point.value} at ${point.time}`);
  }
  if (!(rules.minDays >= 2)) throw new RangeError(`a line needs at least 2 days of data, not ${rules.minDays}`);
  const days = daysWithData(points);
  const line = days >= rules.minDays ? leastSquaresLine(points) : undefined;
  if (!line) return { state: 'not-enough-data', days_with_data: days, needed_days: rules.minDays };
  const nowValue = lineValueAt(line, now);
  const threshold = rules.threshold;
  if (!threshold) return { state: 'no-threshold', line, now_value: nowValue };
  const towards = threshold.breachedWhen === 'above' ? 1 : -1;
  if (towards * (nowValue - threshold.value) > 0) return { state: 'over-threshold', line, now_value: nowValue };
  const times = points.map((point) => point.time.getTime());
  const periodDays = Math.max(1, (Math.max(...times) - Math.min(...times)) / DAY_MS);
  const movesOverPeriod = line.slope_per_day * periodDays * towards;
  if (Math.abs(movesOverPeriod) < FLAT_SHARE_OF_THRESHOLD * Math.abs(threshold.value)) return { state: 'not-at-current-trend', line, now_value: nowValue, why: 'flat' };
  if (movesOverPeriod < 0) return { state: 'not-at-current-trend', line, now_value: nowValue, why: 'moving away' };
  const inDays = (threshold.value - nowValue) / line.slope_per_day;
  if (inDays > rules.horizonDays) return { state: 'not-at-current-trend', line, now_value: nowValue, why: 'beyond the horizon' };
  return { state: 'crosses', line, now_value: nowValue, at: new Date(now.getTime() + inDays * DAY_MS).toISOString(), in_days: inDays };
}
