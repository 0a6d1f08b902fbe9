/**
 * The monthly capacity report's figures (issue 15, "Monthly capacity report"; the runbook's
 * "Capacity Planning"): each resource over the last 30 days from the metrics history's hourly
 * roll-ups, its average and peak, and where a least-squares line through it says it is heading
 * (capacity-projection.ts): the date it would cross its threshold, "not at the current trend", or
 * "not enough data". The stack's PostgreSQL connections and Redis memory are not in the history:
 * they are read now, against their limits, and said so. Each part is gathered on its own
 * (report-part.ts). Slack-free, like the daily report.
 */
import type { Tone } from '../../commands/result.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { MetricName, MetricSeries, MetricsHistory } from '../metrics-history/index.js';
import { projectTrend, type Projection, type TrendPoint } from './capacity-projection.js';
import { CPU_LIMIT_PERCENT, LATENCY_TARGET_MS, MEMORY_LIMIT_PERCENT } from './charts/index.js';
import { missingParts } from './report-document-kit.js';
import { gatherPart, type ReportPart } from './report-part.js';

export const CAPACITY_PERIOD_DAYS = 30;
/** Under a week of data a line says more about the days sampled than about growth. */
export const CAPACITY_MIN_DAYS = 7;
/** Past a year a straight line is no plan. */
export const CAPACITY_HORIZON_DAYS = 365;
/** A crossing sooner than this needs someone to plan for it now. */
export const CAPACITY_SOON_DAYS = 90;
/** Connections and Redis memory read now: over this share of their limit needs a human (the runbook's memory threshold). */
export const DATASTORE_LIMIT_PERCENT = 85;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A resource the report follows: one metric of the history, with the runbook's threshold when it has one. */
export interface CapacityResource {
  metric: MetricName;
  label: string;
  unit: string;
  threshold?: number;
  /** Turns the history's value into the unit shown (a minute's requests into requests per second). */
  scale?: number;
}

export const CAPACITY_RESOURCES = {
  cpu: { metric: 'cpu_percent', label: 'CPU', unit: '%', threshold: CPU_LIMIT_PERCENT },
  memory: { metric: 'memory_percent', label: 'Memory', unit: '%', threshold: MEMORY_LIMIT_PERCENT },
  latency: { metric: 'p99_latency_ms', label: 'P99 latency', unit: 'ms', threshold: LATENCY_TARGET_MS },
  requests: { metric: 'requests', label: 'Request rate', unit: 'req/s', scale: 1 / 60 },
} as const satisfies Record<string, CapacityResource>;
export type CapacityResourceKind = keyof typeof CAPACITY_RESOURCES;
export const CAPACITY_RESOURCE_KINDS = Object.keys(CAPACITY_RESOURCES) as CapacityResourceKind[];

export interface ResourceTrend {
  kind: CapacityResourceKind;
  service: ServiceName;
  unit: string;
  threshold: number | null;
  /** Over the period, of the hourly averages; null without samples. */
  average: number | null;
  peak: number | null;
  projection: Projection;
}

export interface DatastoreUse {
  name: 'PostgreSQL connections' | 'PostgreSQL size' | 'Redis memory';
  /** Where it was read, or why it was not ("not configured: REDIS_URL is not set"). */
  location: string | null;
  used: number | null;
  limit: number | null;
  percent: number | null;
  tone: Tone;
  note: string | null;
}

export interface CapacityReport {
  from: string;
  to: string;
  period_days: number;
  min_days: number;
  history_source: string;
  /** Resources over their threshold or crossing it within CAPACITY_SOON_DAYS, and every part that could not be gathered. */
  needs_attention: string[];
  trends: Record<CapacityResourceKind, ReportPart<ResourceTrend[]>>;
  datastores: ReportPart<DatastoreUse[]>;
}

/** The hourly series the charts draw, per resource kind, beside the report's figures. */
export type CapacitySeries = Partial<Record<CapacityResourceKind, MetricSeries[]>>;

export interface ConnectionsReading {
  location: string;
  active: number;
  total: number;
  max: number;
  /** The stack database's size on disk. */
  sizeBytes: number;
}

export interface RedisMemoryReading {
  location: string;
  usedBytes: number;
  /** 0 when Redis has no maxmemory. */
  maxBytes: number;
}

export interface CapacityReportSources {
  history: Pick<MetricsHistory, 'query' | 'source'>;
  /** Undefined when the stack's PostgreSQL is not configured for the bot; throws when it cannot be read. */
  connections(): Promise<ConnectionsReading | undefined>;
  redisMemory(): Promise<RedisMemoryReading | undefined>;
}

export async function gatherCapacityReport(sources: CapacityReportSources, now: Date = new Date()): Promise<{ report: CapacityReport; series: CapacitySeries }> {
  const from = new Date(now.getTime() - CAPACITY_PERIOD_DAYS * DAY_MS);
  const series: CapacitySeries = {};
  const trendParts = await Promise.all(
    CAPACITY_RESOURCE_KINDS.map((kind) =>
      gatherPart('metrics history', async () => {
        const resource: CapacityResource = CAPACITY_RESOURCES[kind];
        const answered = await sources.history.query({ metric: resource.metric, from, to: now, stepMs: HOUR_MS, stat: 'avg' });
        const scaled = answered.map((one) => ({ ...one, points: one.points.map((point) => ({ time: point.time, value: point.value * (resource.scale ?? 1) })) }));
        series[kind] = scaled;
        return scaled.map((one) => resourceTrend(kind, one, now));
      }),
    ),
  );
  const datastores = await gatherPart('datastores', () => datastoreUse(sources));
  const trends = Object.fromEntries(CAPACITY_RESOURCE_KINDS.map((kind, index) => [kind, trendParts[index]!])) as CapacityReport['trends'];
  const report: CapacityReport = {
    from: from.toISOString(),
    to: now.toISOString(),
    period_days: CAPACITY_PERIOD_DAYS,
    min_days: CAPACITY_MIN_DAYS,
    history_source: sources.history.source,
    needs_attention: [],
    trends,
    datastores,
  };
  report.needs_attention = needsAttention(report);
  return { report, series };
}

function resourceTrend(kind: CapacityResourceKind, series: MetricSeries, now: Date): ResourceTrend {
  const resource: CapacityResource = CAPACITY_RESOURCES[kind];
  const points: TrendPoint[] = series.points;
  const values = points.map((point) => point.value);
  return {
    kind,
    service: series.service,
    unit: resource.unit,
    threshold: resource.threshold ?? null,
    average: values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : null,
    peak: values.length > 0 ? Math.max(...values) : null,
    projection: projectTrend(
      points,
      { ...(resource.threshold !== undefined ? { threshold: { value: resource.threshold, breachedWhen: 'above' as const } } : {}), minDays: CAPACITY_MIN_DAYS, horizonDays: CAPACITY_HORIZON_DAYS },
      now,
    ),
  };
}

async function datastoreUse(sources: CapacityReportSources): Promise<DatastoreUse[]> {
  const [connections, redis] = await Promise.all([
    sources.connections().then(
      (reading) => ({ reading }),
      (error: unknown) => ({ problem: error instanceof Error ? error.message : String(error) }),
    ),
    sources.redisMemory().then(
      (reading) => ({ reading }),
      (error: unknown) => ({ problem: error instanceof Error ? error.message : String(error) }),
    ),
  ]);
  return [
    'problem' in connections
      ? unread('PostgreSQL connections', `could not be read: ${connections.problem}`)
      : connections.reading
        ? measured('PostgreSQL connections', connections.reading.location, connections.reading.total, connections.reading.max, `${connections.reading.active} active`)
        : unread('PostgreSQL connections', 'not configured: DATABASE_URL names no stack database for the bot'),
    // The size has no limit of PostgreSQL's own: the disk's is the host's, which the bot does not see.
    ...('reading' in connections && connections.reading
      ? [{ name: 'PostgreSQL size' as const, location: connections.reading.location, used: connections.reading.sizeBytes, limit: null, percent: null, tone: 'info' as const, note: null }]
      : []),
    'problem' in redis
      ? unread('Redis memory', `could not be read: ${redis.problem}`)
      : redis.reading
        ? redis.reading.maxBytes > 0
          ? measured('Redis memory', redis.reading.location, redis.reading.usedBytes, redis.reading.maxBytes, null)
          : { name: 'Redis memory', location: redis.reading.location, used: redis.reading.usedBytes, limit: null, percent: null, tone: 'warn', note: 'no maxmemory: Redis grows until the host runs out' }
        : unread('Redis memory', 'not configured: REDIS_URL is not set'),
  ];
}

function measured(name: DatastoreUse['name'], location: string, used: number, limit: number, note: string | null): DatastoreUse {
  const percent = limit > 0 ? (100 * used) / limit : null;
  return { name, location, used, limit, percent, tone: percent !== null && percent > DATASTORE_LIMIT_PERCENT ? 'fail' : 'ok', note };
}

const unread = (name: DatastoreUse['name'], note: string): DatastoreUse => ({ name, location: null, used: null, limit: null, percent: null, tone: note.startsWith('not configured') ? 'info' : 'warn', note });

/** The resource's name in a sentence: "CPU of audit-engine". */
export const resourceName = (trend: Pick<ResourceTrend, 'kind' | 'service'>) => `${CAPACITY_RESOURCES[trend.kind].label} of ${trend.service}`;

function needsAttention(report: CapacityReport): string[] {
  const needs = new Set(missingParts([...Object.values(report.trends), report.datastores]));
  for (const part of Object.values(report.trends)) {
    if (part.state !== 'ok') continue;
    for (const trend of part.value) {
      const { projection } = trend;
      if (projection.state === 'over-threshold') needs.add(`${resourceName(trend)} is over its ${trend.threshold} ${trend.unit} threshold at the current trend`);
      if (projection.state === 'crosses' && projection.in_days <= CAPACITY_SOON_DAYS) needs.add(`${resourceName(trend)} would cross ${trend.threshold} ${trend.unit} around ${projection.at.slice(0, 10)} (in ${Math.round(projection.in_days)} days)`);
    }
  }
  if (report.datastores.state === 'ok') for (const use of report.datastores.value) if (use.tone === 'fail') needs.add(`${use.name} at ${use.percent?.toFixed(0)} % of the limit (over ${DATASTORE_LIMIT_PERCENT} %)`);
  return [...needs];
}
