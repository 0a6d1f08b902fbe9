/**
 * The capacity report's charts: each resource's hourly averages over the month, per service, with
 * its least-squares trend line drawn across the period and its threshold (none for the request
 * rate). A resource the history had no samples of has no chart (its table row already says so).
 */
import type { MetricSeries } from '../metrics-history/index.js';
import { lineValueAt } from './capacity-projection.js';
import { CAPACITY_RESOURCES, CAPACITY_RESOURCE_KINDS, type CapacityReport, type CapacityResourceKind, type CapacitySeries } from './capacity-report.js';
import { LATENCY_TARGET_MS, renderCharts, resourceUseChart, type ChartDefinition, type ChartSeries, type RenderedChart } from './charts/index.js';
import { measured, perService } from './daily-report-charts.js';

export function capacityReportCharts(report: CapacityReport, series: CapacitySeries): ChartDefinition[] {
  const charts: ChartDefinition[] = [];
  for (const kind of CAPACITY_RESOURCE_KINDS) {
    const drawn = measured(series[kind]);
    if (drawn.length === 0) continue;
    const chart = baseChart(kind, drawn);
    // The threshold is about the measured lines: a trend line's two ends are no samples in breach.
    const thresholds = chart.thresholds.map((threshold) => ({ ...threshold, series: chart.series.map((one) => one.name) }));
    charts.push({ ...chart, id: `capacity-${kind}`, title: `${chart.title}, last ${report.period_days} days`, series: [...chart.series, ...trendLines(report, kind, drawn)], thresholds });
  }
  return charts;
}

function baseChart(kind: CapacityResourceKind, drawn: readonly MetricSeries[]): ChartDefinition {
  if (kind === 'cpu' || kind === 'memory') return resourceUseChart(kind, perService(drawn));
  const resource = CAPACITY_RESOURCES[kind];
  const series = drawn.map((one) => ({ name: one.service, points: one.points }));
  if (kind === 'latency') {
    return { id: kind, title: 'Policy Engine p99 latency (hourly average)', unit: resource.unit, mark: 'line', series, thresholds: [{ value: LATENCY_TARGET_MS, label: `p99 target ${LATENCY_TARGET_MS} ms`, breachedWhen: 'above', series: series.map((one) => one.name) }] };
  }
  return { id: kind, title: 'Policy Engine request rate (hourly average)', unit: resource.unit, mark: 'line', series, thresholds: [] };
}

/** Each service's line from the first hour measured to the report's end; none where there was too little data for one. */
function trendLines(report: CapacityReport, kind: CapacityResourceKind, drawn: readonly MetricSeries[]): ChartSeries[] {
  const part = report.trends[kind];
  if (part.state !== 'ok') return [];
  const end = new Date(report.to);
  return part.value.flatMap((trend) => {
    const first = drawn.find((one) => one.service === trend.service)?.points[0];
    if (!first || trend.projection.state === 'not-enough-data') return [];
    const line = trend.projection.line;
    return [{ name: `${trend.service} trend`, points: [first.time, end].map((time) => ({ time, value: lineValueAt(line, time) })) }];
  });
}

export const renderCapacityReportCharts = (report: CapacityReport, series: CapacitySeries): Promise<RenderedChart[]> => renderCharts(capacityReportCharts(report, series));
