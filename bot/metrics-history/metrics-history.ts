/**
 * The port the reports read trends through (issue 15, "Metrics history"): a metric over a time
 * range at a step, per service, and each service's uptime. Two implementations: the embedded
 * sampler's tables in PostgreSQL (sample-store.ts) and Prometheus's HTTP API
 * (prometheus-history.ts). Both check a query the same way (checkQuery), so a report that works
 * on a laptop works against Prometheus.
 */
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { isMetricName, METRIC_STATS, METRICS, type MetricName, type MetricStat } from './metric-catalogue.js';

export interface MetricQuery {
  metric: MetricName;
  from: Date;
  to: Date;
  /** The width of one point; at least 1 s. Without it, 1 min up to 36 h of range, else 1 h. */
  stepMs?: number;
  /** How the samples in one step combine; the metric's default stat otherwise. */
  stat?: MetricStat;
  /** Only this service; every service that has the metric otherwise. */
  service?: ServiceName;
}

export interface MetricPoint {
  /** The start of the step. */
  time: Date;
  value: number;
}

export interface MetricSeries {
  metric: MetricName;
  service: ServiceName;
  /** Which rows answered: the sampler's minute samples or hourly roll-ups, or Prometheus. */
  resolution: 'minute' | 'hour' | 'prometheus';
  stepMs: number;
  /** Steps without a sample have no point (the bot or the service was not measured then). */
  points: MetricPoint[];
}

export interface ServiceUptime {
  service: ServiceName;
  /** The share of the range's health samples that passed, 0 to 1; null when nothing was measured. */
  upFraction: number | null;
}

export interface MetricsHistory {
  /** Where the figures come from, for a report's footer ("embedded sampler", "Prometheus at ..."). */
  readonly source: string;
  query(query: MetricQuery): Promise<MetricSeries[]>;
  uptime(range: { from: Date; to: Date; service?: ServiceName }): Promise<ServiceUptime[]>;
}

/** What a report names when the history cannot answer: "metrics history unavailable: ...". */
export class MetricsHistoryUnavailable extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`metrics history unavailable: ${reason}`, options);
    this.name = 'MetricsHistoryUnavailable';
  }
}

export const DEFAULT_FINE_RANGE_MS = 36 * 3600_000;
/** Prometheus refuses more than 11,000 points a series; the sampler keeps to the same limit. */
export const MAX_POINTS = 11_000;

export interface CheckedQuery {
  metric: MetricName;
  from: Date;
  to: Date;
  stepMs: number;
  stat: MetricStat;
  services: readonly ServiceName[];
}

/** A query as both histories run it, or a RangeError saying what to change. */
export function checkQuery(query: MetricQuery): CheckedQuery {
  if (!isMetricName(String(query.metric))) throw new RangeError(`unknown metric ${JSON.stringify(query.metric)}; known: ${Object.keys(METRICS).join(', ')}`);
  const { from, to } = checkRange(query);
  const rangeMs = to.getTime() - from.getTime();
  const stepMs = query.stepMs ?? (rangeMs <= DEFAULT_FINE_RANGE_MS ? 60_000 : 3600_000);
  if (!Number.isInteger(stepMs) || stepMs < 1000) throw new RangeError(`a step is a whole number of milliseconds, at least 1000, not ${query.stepMs}`);
  if (rangeMs / stepMs > MAX_POINTS) throw new RangeError(`${Math.ceil(rangeMs / stepMs)} points are too many (at most ${MAX_POINTS}): ask for a step of at least ${Math.ceil(rangeMs / MAX_POINTS / 1000)} s`);
  const stat = query.stat ?? METRICS[query.metric].defaultStat;
  if (!(METRIC_STATS as readonly string[]).includes(stat)) throw new RangeError(`unknown stat ${JSON.stringify(stat)}; known: ${METRIC_STATS.join(', ')}`);
  return { metric: query.metric, from, to, stepMs, stat, services: checkServices(query.metric, query.service) };
}

export function checkRange(range: { from: Date; to: Date }): { from: Date; to: Date } {
  const valid = (date: Date) => date instanceof Date && Number.isFinite(date.getTime());
  if (!valid(range.from) || !valid(range.to)) throw new RangeError('a range needs a valid from and to');
  if (range.from.getTime() >= range.to.getTime()) throw new RangeError(`a range must end after it starts (from ${range.from.toISOString()}, to ${range.to.toISOString()})`);
  return { from: range.from, to: range.to };
}

function checkServices(metric: MetricName, service: ServiceName | undefined): readonly ServiceName[] {
  const has = METRICS[metric].services;
  if (service === undefined) return has;
  if (!(SERVICE_NAMES as readonly string[]).includes(service)) throw new RangeError(`unknown service ${JSON.stringify(service)}; known: ${SERVICE_NAMES.join(', ')}`);
  if (!has.includes(service)) throw new RangeError(`${metric} is measured only for ${has.join(', ')}, not ${service}`);
  return [service];
}

/** Uptime from the service_up series, the same way for both histories: one step over the whole range. */
export async function uptimeFromSeries(history: Pick<MetricsHistory, 'query'>, range: { from: Date; to: Date; service?: ServiceName }): Promise<ServiceUptime[]> {
  const { from, to } = checkRange(range);
  const stepMs = Math.max(1000, Math.ceil((to.getTime() - from.getTime()) / 1000) * 1000);
  const series = await history.query({ metric: 'service_up', from, to, stepMs, stat: 'avg', ...(range.service ? { service: range.service } : {}) });
  const services = range.service ? [range.service] : METRICS.service_up.services;
  return services.map((service) => {
    const points = series.find((one) => one.service === service)?.points ?? [];
    return { service, upFraction: points.length > 0 ? points[0]!.value : null };
  });
}
