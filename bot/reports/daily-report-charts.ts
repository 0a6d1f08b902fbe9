/**
 * The daily report's charts from its minute series: p99 latency, cache hit rate, CPU and memory
 * per service, each with the runbook's threshold. A metric the history could not give, or has no
 * samples of, has no chart (its KPI line already says why).
 */
import type { MetricSeries } from '../metrics-history/index.js';
import { cacheHitRateChart, LATENCY_TARGET_MS, renderCharts, resourceUseChart, type ChartDefinition, type RenderedChart } from './charts/index.js';
import type { DailySeries } from './daily-report.js';

export function dailyReportCharts(series: DailySeries): ChartDefinition[] {
  const charts: ChartDefinition[] = [];
  const p99 = measured(series.p99_latency_ms)[0]?.points;
  if (p99) {
    charts.push({
      id: 'latency',
      title: 'Policy Engine p99 latency',
      unit: 'ms',
      mark: 'line',
      series: [{ name: 'p99', points: p99 }],
      thresholds: [{ value: LATENCY_TARGET_MS, label: `p99 target ${LATENCY_TARGET_MS} ms`, breachedWhen: 'above', series: ['p99'] }],
    });
  }
  const hitRate = measured(series.cache_hit_rate_percent)[0]?.points;
  if (hitRate) charts.push(cacheHitRateChart(hitRate));
  const cpu = measured(series.cpu_percent);
  if (cpu.length > 0) charts.push(resourceUseChart('cpu', perService(cpu)));
  const memory = measured(series.memory_percent);
  if (memory.length > 0) charts.push(resourceUseChart('memory', perService(memory)));
  return charts;
}

/** The series with at least one sample: an empty chart says less than the KPI line's "no samples". */
export const measured = (series: readonly MetricSeries[] | undefined) => (series ?? []).filter((one) => one.points.length > 0);

export const renderDailyReportCharts = (series: DailySeries): Promise<RenderedChart[]> => renderCharts(dailyReportCharts(series));

/** Each service's points by its name, as resourceUseChart takes them. */
export const perService = (series: readonly MetricSeries[]) => Object.fromEntries(series.map((one) => [one.service, one.points]));
