/**
 * The weekly performance report's judgements, pure: each runbook KPI this week against last week
 * (a week over its threshold fails, a week worse than the last by a tenth or more warns), and the
 * degradation trends: a KPI whose daily average got worse day over day for the last days of the
 * week, by enough to matter.
 */
import type { Tone } from '../../commands/result.js';
import type { MetricSeries } from '../metrics-history/index.js';
import type { KpiDefinition } from './kpi-summary.js';

/** A week worse than the last by this share of last week's figure or more is a regression. */
export const REGRESSION_SHARE = 0.1;
/** Day-over-day worsening steps, ending on the week's last day, that make a degradation trend. */
export const DEGRADING_STEPS = 3;
/** ...and only when the run's last day is worse than its first by at least this share, so noise is not a trend. */
export const DEGRADING_SHARE = 0.05;

export interface KpiComparison {
  metric: KpiDefinition['metric'];
  label: string;
  unit: KpiDefinition['unit'];
  threshold: number;
  breached_when: KpiDefinition['breachedWhen'];
  /** The service compared (for CPU and memory the one worst this week). */
  service: string | null;
  this_week: number | null;
  last_week: number | null;
  /** this_week - last_week, in the KPI's unit. */
  change: number | null;
  /** The change against last week's figure, in percent; null without both weeks or when last week was 0. */
  change_percent: number | null;
  verdict: 'better' | 'worse' | 'same' | 'no data';
  tone: Tone;
}

export interface DegradationTrend {
  metric: KpiDefinition['metric'];
  label: string;
  unit: KpiDefinition['unit'];
  service: string;
  /** This week's daily averages, oldest first (days without samples left out). */
  days: Array<{ day: string; value: number }>;
  /** How many days in a row, up to the last, were worse than the day before. */
  worsening_days: number;
  degrading: boolean;
}

/**
 * `weeks`: per service the two weekly averages (last week's step first); `worse` and the verdict
 * follow the KPI's side of its threshold (a falling hit rate is worse, a falling latency better).
 */
export function compareWeeks(kpi: KpiDefinition, weeks: readonly MetricSeries[], weekStarts: { last: Date; this: Date }): KpiComparison {
  const worse = (a: number, b: number) => (kpi.breachedWhen === 'above' ? a > b : a < b);
  const at = (series: MetricSeries, start: Date) => series.points.find((point) => point.time.getTime() === start.getTime())?.value ?? null;
  let chosen: { service: string; thisWeek: number; lastWeek: number | null } | null = null;
  for (const series of weeks) {
    const thisWeek = at(series, weekStarts.this);
    if (thisWeek === null) continue;
    if (!chosen || worse(thisWeek, chosen.thisWeek)) chosen = { service: series.service, thisWeek, lastWeek: at(series, weekStarts.last) };
  }
  const base = { metric: kpi.metric, label: kpi.label, unit: kpi.unit, threshold: kpi.threshold, breached_when: kpi.breachedWhen };
  if (!chosen) {
    // Last week alone still says something: the figure to compare with once this week has samples.
    const lastOnly = weeks.map((series) => at(series, weekStarts.last)).find((value) => value !== null) ?? null;
    return { ...base, service: null, this_week: null, last_week: lastOnly, change: null, change_percent: null, verdict: 'no data', tone: 'info' };
  }
  const { thisWeek, lastWeek } = chosen;
  const change = lastWeek === null ? null : thisWeek - lastWeek;
  const changePercent = lastWeek === null || lastWeek === 0 ? null : ((thisWeek - lastWeek) / Math.abs(lastWeek)) * 100;
  const verdict = lastWeek === null ? 'no data' : worse(thisWeek, lastWeek) ? 'worse' : worse(lastWeek, thisWeek) ? 'better' : 'same';
  const regressed = lastWeek !== null && verdict === 'worse' && Math.abs(thisWeek - lastWeek) >= Math.abs(lastWeek) * REGRESSION_SHARE;
  const tone: Tone = worse(thisWeek, kpi.threshold) ? 'fail' : regressed ? 'warn' : 'ok';
  return { ...base, service: chosen.service, this_week: thisWeek, last_week: lastWeek, change, change_percent: changePercent, verdict, tone };
}

/** Each service's daily averages of this week, and whether the KPI is degrading there. */
export function degradationTrends(kpi: KpiDefinition, days: readonly MetricSeries[]): DegradationTrend[] {
  const worse = (a: number, b: number) => (kpi.breachedWhen === 'above' ? a > b : a < b);
  return days
    .filter((series) => series.points.length > 0)
    .map((series) => {
      const values = series.points.map((point) => point.value);
      let steps = 0;
      while (steps < values.length - 1 && worse(values[values.length - 1 - steps]!, values[values.length - 2 - steps]!)) steps += 1;
      const first = values[values.length - 1 - steps]!;
      const last = values[values.length - 1]!;
      const enough = Math.abs(last - first) >= Math.max(Math.abs(first) * DEGRADING_SHARE, Number.EPSILON);
      return {
        metric: kpi.metric,
        label: kpi.label,
        unit: kpi.unit,
        service: series.service,
        days: series.points.map((point) => ({ day: point.time.toISOString(), value: point.value })),
        worsening_days: steps,
        degrading: steps >= DEGRADING_STEPS && enough,
      };
    });
}
