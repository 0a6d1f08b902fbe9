/**
 * The weekly security report's one chart: refused commands, the bot's failed authentication
 * attempts and the services' refused tokens per day, side by side, so that a day someone kept trying stands out. A part that could not be
 * gathered has no series; with neither there is no chart (the parts already say why).
 */
import { renderCharts, type ChartDefinition, type ChartSeries, type RenderedChart } from './charts/index.js';
import { AUTH_FAILURE_SPIKE_PER_DAY, type DayCount, type SecurityReport } from './security-report.js';

export function securityReportCharts(report: SecurityReport): ChartDefinition[] {
  const series: ChartSeries[] = [];
  if (report.refused.state === 'ok') series.push({ name: 'refused commands', points: points(report.refused.value.per_day) });
  if (report.failed_authentication.state === 'ok') series.push({ name: 'failed authentication', points: points(report.failed_authentication.value.per_day) });
  if (report.service_refusals.state === 'ok') series.push({ name: 'refused service tokens', points: points(report.service_refusals.value.per_day) });
  if (series.length === 0) return [];
  // The line is the spike the report asks a human about, for the bot's failed attempts and the services' refused tokens alike.
  const judged = series.map((one) => one.name).filter((name) => name !== 'refused commands');
  const spike = judged.length > 0 ? [{ value: AUTH_FAILURE_SPIKE_PER_DAY, label: `spike: ${AUTH_FAILURE_SPIKE_PER_DAY} failed a day`, breachedWhen: 'above' as const, series: judged }] : [];
  return [{ id: 'security-per-day', title: 'Refused commands and failed authentication per day', unit: 'per day', mark: 'bar', series, thresholds: spike }];
}

const points = (days: readonly DayCount[]) => days.map((day) => ({ time: new Date(day.day), value: day.count }));

export const renderSecurityReportCharts = (report: SecurityReport): Promise<RenderedChart[]> => renderCharts(securityReportCharts(report));
