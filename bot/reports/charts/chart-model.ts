/**
 * What a report hands the chart renderer: plain series of {time, value} and the thresholds to draw.
 * Kept free of the metrics history's own types (bot/metrics-history/) so either side can change;
 * its MetricPoint ({time: Date, value}) fits ChartPoint as it is.
 */

export interface ChartPoint {
  time: Date;
  value: number;
}

export interface ChartSeries {
  /** The legend's name (a percentile, a service). */
  name: string;
  points: readonly ChartPoint[];
}

export interface ChartThreshold {
  value: number;
  /** Shown beside the line and in the text fallback, e.g. "5 ms target". */
  label: string;
  /** Which side of the line is a breach. */
  breachedWhen: 'above' | 'below';
  /** The series the threshold is about (the text fallback counts crossings for these); all when absent. */
  series?: readonly string[];
}

export interface ChartDefinition {
  /** Names the PNG file, e.g. "latency" -> latency.png. Lowercase letters, digits and dashes. */
  id: string;
  title: string;
  /** The unit of every value, shown on the axis and in the fallback ("ms", "%", "violations"). */
  unit: string;
  /** Lines over time, or one bar per point (per day). */
  mark: 'line' | 'bar';
  series: readonly ChartSeries[];
  thresholds: readonly ChartThreshold[];
  /** A fixed value axis, e.g. [0, 100] for percentages; from the data otherwise. */
  valueDomain?: readonly [number, number];
}
