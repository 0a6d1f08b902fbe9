/**
 * A chart definition as a Vega-Lite spec: the pure half of rendering, testable without drawing.
 * Times are shown in UTC so that a picture never depends on the machine's timezone.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ChartDefinition } from './chart-model.js';
import { downsampleKeepingWorst } from './downsample.js';

/** The chart's size in CSS pixels, legend and title included (autosize "fit"). */
export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 280;
/** Points per line: one per 3 minutes of a day, about two per horizontal pixel of the plot. */
export const MAX_POINTS_PER_SERIES = 480;
export const CHART_FONT_FAMILY = 'Inter';

const THRESHOLD_COLOUR = '#d62728';
const HOUR_MS = 3600_000;

export function vegaLiteSpec(chart: ChartDefinition): TopLevelSpec {
  const worse = chart.thresholds[0]?.breachedWhen === 'below' ? 'lower' : 'higher';
  const values = chart.series.flatMap((series) =>
    downsampleKeepingWorst(series.points, MAX_POINTS_PER_SERIES, worse).map((point) => ({ time: point.time.getTime(), value: point.value, series: series.name })),
  );
  const times = values.map((value) => value.time);
  const spanMs = times.length > 0 ? Math.max(...times) - Math.min(...times) : 0;
  const timeFormat = spanMs <= 36 * HOUR_MS ? '%H:%M' : '%b %d';
  const seriesNames = chart.series.map((series) => series.name);
  const grouped = chart.series.length > 1;
  const y = { field: 'value', type: 'quantitative' as const, title: chart.unit, ...(chart.valueDomain ? { scale: { domain: [...chart.valueDomain] } } : {}) };
  const dataLayer =
    chart.mark === 'bar'
      ? {
          data: { values },
          mark: { type: 'bar' as const, ...(grouped ? {} : { color: '#4c78a8' }) },
          encoding: {
            x: { field: 'time', type: 'ordinal' as const, timeUnit: 'utcyearmonthdate' as const, title: 'day (UTC)', axis: { format: '%b %d', labelAngle: 0 } },
            y: { ...y, axis: { tickMinStep: 1, format: 'd' } },
            // Several series side by side in each day: stacked bars of one colour would read as one count.
            ...(grouped ? { xOffset: { field: 'series', type: 'nominal' as const, sort: seriesNames }, color: { field: 'series', type: 'nominal' as const, title: null, sort: seriesNames, legend: { orient: 'top' as const, labelLimit: 320 } } } : {}),
          },
        }
      : {
          data: { values },
          mark: { type: 'line' as const, strokeWidth: 1.2, interpolate: 'linear' as const },
          encoding: {
            x: { field: 'time', type: 'temporal' as const, scale: { type: 'utc' as const }, title: 'UTC', axis: { format: timeFormat } },
            y,
            color: { field: 'series', type: 'nominal' as const, title: null, sort: seriesNames, legend: { orient: 'top' as const } },
          },
        };
  const thresholdLayers = chart.thresholds.flatMap((threshold) => [
    { data: { values: [{ value: threshold.value }] }, mark: { type: 'rule' as const, color: THRESHOLD_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative' as const } } },
    {
      data: { values: [{ value: threshold.value, label: threshold.label }] },
      mark: { type: 'text' as const, color: THRESHOLD_COLOUR, align: 'right' as const, baseline: 'bottom' as const, dy: -2, x: 'width' as const },
      encoding: { y: { field: 'value', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } },
    },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: chart.title, anchor: 'start', fontSize: 15 },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 8,
    background: 'white',
    config: { font: CHART_FONT_FAMILY, view: { stroke: null } },
    layer: [dataLayer, ...thresholdLayers],
  } as TopLevelSpec;
}
