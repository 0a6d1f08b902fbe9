/**
 * The weekly performance report's charts: p99 latency per day, this week against last week (last
 * week's days moved on by a week so each day sits over the same weekday), and this week's hourly
 * cache hit rate against its 95 % target. A chart without samples is left out, as in the daily report.
 */
import { cacheHitRateChart, LATENCY_TARGET_MS, renderCharts, type ChartDefinition, type RenderedChart } from './charts/index.js';
import { WEEK_MS, type WeeklyPerformanceSeries } from './weekly-performance-report.js';

export function weeklyPerformanceCharts(series: WeeklyPerformanceSeries): ChartDefinition[] {
  const charts: ChartDefinition[] = [];
  if (series.p99PerDay) {
    const { thisWeek, lastWeek } = series.p99PerDay;
    charts.push({
      id: 'p99-per-day',
      title: 'Policy Engine p99 latency per day, this week and last',
      unit: 'ms',
      mark: 'line',
      // A week without samples has no line: the KPI line already says "no samples last week".
      series: [
        { name: 'this week', points: thisWeek },
        { name: 'last week', points: lastWeek.map((point) => ({ time: new Date(point.time.getTime() + WEEK_MS), value: point.value })) },
      ].filter((one) => one.points.length > 0),
      thresholds: [{ value: LATENCY_TARGET_MS, label: `p99 target ${LATENCY_TARGET_MS} ms`, breachedWhen: 'above', series: ['this week'] }],
    });
  }
  if (series.cacheHitRateHourly) charts.push(cacheHitRateChart(series.cacheHitRateHourly));
  return charts;
}

export const renderWeeklyPerformanceCharts = (series: WeeklyPerformanceSeries): Promise<RenderedChart[]> => renderCharts(weeklyPerformanceCharts(series));
