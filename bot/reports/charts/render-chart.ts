/**
 * One chart as a report posts it: the PNG, its size and file name, and the text fallback.
 */
import type { ChartDefinition } from './chart-model.js';
import { chartTextFallback } from './text-fallback.js';
import { vegaLiteSpec } from './vega-lite-spec.js';

export interface RenderedChart {
  id: string;
  title: string;
  filename: string;
  png: Buffer;
  width: number;
  height: number;
  textFallback: string;
}

const CHART_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export async function renderChart(chart: ChartDefinition): Promise<RenderedChart> {
  if (!CHART_ID.test(chart.id)) throw new RangeError(`a chart id is lowercase letters, digits and dashes, not ${JSON.stringify(chart.id)}`);
  for (const series of chart.series) {
    const bad = series.points.find((point) => !Number.isFinite(point.value) || Number.isNaN(point.time.getTime()));
    if (bad) throw new RangeError(`chart ${chart.id}, series ${series.name}: every point needs a valid time and a finite value, not ${JSON.stringify(bad)}`);
  }
  // Vega, Vega-Lite and resvg load on the first chart, not with the bot or every `npx acgs` call
  // (about 0.3 s of CPU a process start, for a feature used once a day).
  const { rasterise, renderSvg } = await import('./render-png.js');
  const { png, width, height } = await rasterise(await renderSvg(vegaLiteSpec(chart)));
  return { id: chart.id, title: chart.title, filename: `${chart.id}.png`, png, width, height, textFallback: chartTextFallback(chart) };
}

/**
 * A report's charts, all at once: resvg fills one chart on the thread pool while Vega draws the
 * next on the event loop (a second core's worth when there is one); a report's four or so images
 * of 3 MiB are held meanwhile.
 */
export function renderCharts(charts: readonly ChartDefinition[]): Promise<RenderedChart[]> {
  return Promise.all(charts.map((chart) => renderChart(chart)));
}
