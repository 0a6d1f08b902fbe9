/**
 * The words for a chart, for clients that show no images and for the report's text: per series
 * its min, max and last value, and for each threshold how often the series crossed it. Computed on
 * every point, not on the downsampled picture.
 */
import type { ChartDefinition, ChartPoint, ChartSeries, ChartThreshold } from './chart-model.js';

export function chartTextFallback(chart: ChartDefinition): string {
  const lines = [`${chart.title} (${chart.unit})`];
  const allPoints = chart.series.flatMap((series) => series.points);
  if (allPoints.length === 0) return `${lines[0]}: no data`;
  const longRange = spanMs(allPoints) > 36 * 3600_000;
  for (const series of chart.series) {
    lines.push(chart.mark === 'bar' ? barLine(series) : lineSummary(series, chart, longRange));
  }
  return lines.join('\n');
}

function lineSummary(series: ChartSeries, chart: ChartDefinition, longRange: boolean): string {
  if (series.points.length === 0) return `${series.name}: no data`;
  const values = series.points.map((point) => point.value);
  const parts = [`${series.name}: min ${number(Math.min(...values))}, max ${number(Math.max(...values))}, last ${number(values.at(-1)!)}`];
  for (const threshold of chart.thresholds) {
    if (threshold.series && !threshold.series.includes(series.name)) continue;
    parts.push(crossings(series.points, threshold, longRange));
  }
  return parts.join('; ');
}

function barLine(series: ChartSeries): string {
  if (series.points.length === 0) return `${series.name}: no data`;
  const total = series.points.reduce((sum, point) => sum + point.value, 0);
  const peak = series.points.reduce((best, point) => (point.value > best.value ? point : best));
  const last = series.points.at(-1)!;
  return `${series.name}: ${number(total)} in ${series.points.length} days; most ${number(peak.value)} on ${day(peak.time)}; last ${number(last.value)} on ${day(last.time)}`;
}

function crossings(points: readonly ChartPoint[], threshold: ChartThreshold, longRange: boolean): string {
  const breached = (point: ChartPoint) => (threshold.breachedWhen === 'above' ? point.value > threshold.value : point.value < threshold.value);
  let spells = 0;
  let breachedSamples = 0;
  let first: ChartPoint | undefined;
  let previous = false;
  for (const point of points) {
    const now = breached(point);
    if (now) {
      breachedSamples += 1;
      first ??= point;
      if (!previous) spells += 1;
    }
    previous = now;
  }
  const side = threshold.breachedWhen === 'above' ? 'above' : 'below';
  if (spells === 0) return `never ${side} ${threshold.label}`;
  const when = longRange ? `${day(first!.time)} ${clock(first!.time)}` : clock(first!.time);
  return `${side} ${threshold.label} in ${spells} ${spells === 1 ? 'spell' : 'spells'} (${breachedSamples} of ${points.length} samples, first at ${when} UTC)`;
}

function spanMs(points: readonly ChartPoint[]): number {
  const times = points.map((point) => point.time.getTime());
  return Math.max(...times) - Math.min(...times);
}

/** At most two decimals, without trailing zeros: 4.1, 95.25, 12. */
function number(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function clock(time: Date): string {
  return time.toISOString().slice(11, 16);
}

function day(time: Date): string {
  return time.toISOString().slice(0, 10);
}
