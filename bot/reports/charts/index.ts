export type { ChartDefinition, ChartPoint, ChartSeries, ChartThreshold } from './chart-model.js';
export { renderChart, renderCharts, type RenderedChart } from './render-chart.js';
export { chartTextFallback } from './text-fallback.js';
export * from './report-charts.js';
