/**
 * The weekly security report's one chart: refused commands and failed authentication attempts
 * per day, side by side, so that a day someone kept trying stands out. A part that could not be
 * gathered has no series; with neither there is no chart (the parts already say why).
 */
import { renderChart, type ChartDefinition, type ChartSeries, type RenderedChart } from './charts/index.js';
import { AUTH_FAILURE_SPIKE_PER_DAY, type DayCount, type SecurityReport } from './security-report.js';

export function securityReportCharts(report: SecurityReport): ChartDefinition[] {
  const series: ChartSeries[] = [];
  if (report.refused.state === 'ok') series.push({ name: 'refused commands', points: points(report.refused.value.per_day) });
  if (report.failed_authentication.state === 'ok') series.push({ name: 'failed authentication', points: points(report.failed_authentication.value.per_day) });
  if (series.length === 0) return [];
  // The line is the failed-authentication spike the report asks a human about.
  const spike = report.failed_authentication.state === 'ok' ? [{ value: AUTH_FAILURE_SPIKE_PER_DAY, label: `spike: ${AUTH_FAILURE_SPIKE_PER_DAY} failed a day`, breachedWhen: 'above' as const, series: ['failed authentication'] }] : [];
  return [{ id: 'security-per-day', title: 'Refused commands and failed authentication per day', unit: 'per day', mark: 'bar', series, thresholds: spike }];
}

const points = (days: readonly DayCount[]) => days.map((day) => ({ time: new Date(day.day), value: day.count }));

export async function renderSecurityReportCharts(report: SecurityReport): Promise<RenderedChart[]> {
  const rendered: RenderedChart[] = [];
  for (const chart of securityReportCharts(report)) rendered.push(await renderChart(chart));
  return rendered;
}
