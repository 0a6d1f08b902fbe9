/**
 * The weekly performance report's figures (issue 15, "Reports"): the runbook's KPIs this week
 * against last week with the change, degradation trends (a KPI getting worse day over day), cache
 * effectiveness (the week's hit rate, and the Policy Engine's own L1/L2 figures), and the stack
 * database's slowest statements (pg_stat_statements, or a sentence saying why not and how to
 * enable it). Each part on its own (report-part.ts): a source that is down makes its part say
 * so and the rest is still posted. Slack-free, like the daily report.
 */
import type { Tone } from '../../commands/result.js';
import { cacheFindings } from '../../commands/cache-stats.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import type { SlowQueries } from '../../services/stack/stack-database.js';
import type { MetricSeries, MetricsHistory } from '../metrics-history/index.js';
import { DAILY_KPIS } from './kpi-summary.js';
import { isPerServiceKpi, missingParts } from './report-document-kit.js';
import { gatherPart, type ReportPart } from './report-part.js';
import { compareWeeks, degradationTrends, type DegradationTrend, type KpiComparison } from './weekly-performance-kpis.js';

export interface WeeklyPerformanceSources {
  history: Pick<MetricsHistory, 'query' | 'source'>;
  /** The Policy Engine's `GET /v1/metrics` now: its caches since it started. */
  engineMetrics(): Promise<PolicyMetrics>;
  /** The stack database's slowest statements; throws when the database cannot be asked. */
  slowQueries(limit: number): Promise<SlowQueries>;
}

export interface WeekCacheHitRate {
  this_week: number | null;
  last_week: number | null;
  /** This week's day with the lowest average hit rate. */
  worst_day: { day: string; value: number } | null;
}

/** The Policy Engine's caches as it reports them (since its start), judged as `cache stats` judges them. */
export interface EngineCaches {
  uptime_seconds: number;
  hit_rate: number;
  l1_hit_rate: number;
  l2_hit_rate: number;
  l1: { size: number; max: number; fill: number; hits: number; misses: number };
  l2: { enabled: boolean; hits: number; misses: number; errors: number; rejected: number };
  tone: Tone;
  /** What a person should know ("L1 is full: entries are evicted before they are hit again"). */
  notes: string[];
}

export interface WeeklyPerformanceReport {
  /** This week: [from, to), the seven days up to the last whole hour; last week: the seven days before it. */
  from: string;
  to: string;
  last_week_from: string;
  history_source: string;
  /** Regressions, degrading KPIs, KPIs over their threshold, and every part that could not be gathered. */
  needs_attention: string[];
  kpis: ReportPart<KpiComparison[]>;
  trends: ReportPart<DegradationTrend[]>;
  cache: ReportPart<WeekCacheHitRate>;
  engine_cache: ReportPart<EngineCaches>;
  slow_queries: ReportPart<SlowQueries>;
}

/** What the charts draw: p99 per day of both weeks, and this week's hourly cache hit rate. */
export interface WeeklyPerformanceSeries {
  p99PerDay?: { thisWeek: MetricSeries['points']; lastWeek: MetricSeries['points'] };
  cacheHitRateHourly?: MetricSeries['points'];
}

export const WEEK_MS = 7 * 86_400_000;
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
export const SLOW_QUERIES_SHOWN = 5;
/** An L1 fuller than this evicts entries before they are asked again: the runbook's "cache size" check. */
const L1_FULL = 0.95;

export async function gatherWeeklyPerformanceReport(sources: WeeklyPerformanceSources, at: Date = new Date()): Promise<{ report: WeeklyPerformanceReport; series: WeeklyPerformanceSeries }> {
  // Whole hours: days and weeks are read from the hourly roll-ups, whose steps start on the hour.
  const now = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
  const thisWeek = new Date(now.getTime() - WEEK_MS);
  const lastWeek = new Date(now.getTime() - 2 * WEEK_MS);
  const series: WeeklyPerformanceSeries = {};
  const [kpis, trends, cache, engineCache, slowQueries] = await Promise.all([
    gatherPart('metrics history', async () => {
      const weeks = await Promise.all(DAILY_KPIS.map((kpi) => sources.history.query({ metric: kpi.metric, from: lastWeek, to: now, stepMs: WEEK_MS })));
      return DAILY_KPIS.map((kpi, index) => compareWeeks(kpi, weeks[index]!, { last: lastWeek, this: thisWeek }));
    }),
    gatherPart('metrics history', async () => {
      const days = await Promise.all(DAILY_KPIS.map((kpi) => sources.history.query({ metric: kpi.metric, from: lastWeek, to: now, stepMs: DAY_MS })));
      const p99 = days[DAILY_KPIS.findIndex((kpi) => kpi.metric === 'p99_latency_ms')]!.find((one) => one.points.length > 0);
      if (p99) series.p99PerDay = { thisWeek: p99.points.filter((point) => point.time >= thisWeek), lastWeek: p99.points.filter((point) => point.time < thisWeek) };
      return DAILY_KPIS.flatMap((kpi, index) => degradationTrends(kpi, days[index]!.map((one) => ({ ...one, points: one.points.filter((point) => point.time >= thisWeek) }))));
    }),
    gatherPart('metrics history', async () => {
      const [weeks, days, hours] = await Promise.all([
        sources.history.query({ metric: 'cache_hit_rate_percent', service: 'policy-engine', from: lastWeek, to: now, stepMs: WEEK_MS }),
        sources.history.query({ metric: 'cache_hit_rate_percent', service: 'policy-engine', from: thisWeek, to: now, stepMs: DAY_MS }),
        sources.history.query({ metric: 'cache_hit_rate_percent', service: 'policy-engine', from: thisWeek, to: now, stepMs: HOUR_MS }),
      ]);
      const hourly = hours[0]?.points ?? [];
      if (hourly.length > 0) series.cacheHitRateHourly = hourly;
      const week = (start: Date) => weeks[0]?.points.find((point) => point.time.getTime() === start.getTime())?.value ?? null;
      const worst = (days[0]?.points ?? []).reduce<MetricSeries['points'][number] | null>((low, point) => (!low || point.value < low.value ? point : low), null);
      return { this_week: week(thisWeek), last_week: week(lastWeek), worst_day: worst ? { day: worst.time.toISOString(), value: worst.value } : null };
    }),
    gatherPart('Policy Engine metrics', async () => engineCaches(await sources.engineMetrics())),
    gatherPart('slow queries', () => sources.slowQueries(SLOW_QUERIES_SHOWN)),
  ]);
  const report: WeeklyPerformanceReport = {
    from: thisWeek.toISOString(),
    to: now.toISOString(),
    last_week_from: lastWeek.toISOString(),
    history_source: sources.history.source,
    needs_attention: [],
    kpis,
    trends,
    cache,
    engine_cache: engineCache,
    slow_queries: slowQueries,
  };
  report.needs_attention = needsAttention(report);
  return { report, series };
}

function engineCaches(metrics: PolicyMetrics): EngineCaches {
  const { l1, l2 } = metrics.cache_stats;
  const findings = cacheFindings(metrics);
  const notes: string[] = [];
  if (findings.lookups === 0) notes.push('no lookups since the Policy Engine started');
  if (findings.fill >= L1_FULL) notes.push(`L1 is ${Math.round(findings.fill * 100)} % full: entries are evicted before they are asked again (a larger L1 would keep more)`);
  if (!l2.enabled) notes.push('L2 (Redis) is off: every L1 miss is evaluated again');
  if (l2.errors > 0) notes.push(`${l2.errors} L2 lookups failed (Redis): those decisions were evaluated again`);
  if (l2.rejected > 0) notes.push(`${l2.rejected} forged L2 entries refused (missing or wrong MAC)`);
  const tone: Tone = l2.rejected > 0 ? 'fail' : findings.mark === 'fail' || l2.errors > 0 || findings.fill >= L1_FULL ? 'warn' : findings.mark;
  return {
    uptime_seconds: metrics.uptime_seconds,
    hit_rate: metrics.cache_hit_rate,
    l1_hit_rate: metrics.l1_hit_rate,
    l2_hit_rate: metrics.l2_hit_rate,
    l1: { size: l1.size, max: l1.max, fill: findings.fill, hits: l1.hits, misses: l1.misses },
    l2: { enabled: l2.enabled, hits: l2.hits, misses: l2.misses, errors: l2.errors, rejected: l2.rejected },
    tone,
    notes,
  };
}

function needsAttention(report: WeeklyPerformanceReport): string[] {
  const needs = missingParts([report.kpis, report.trends, report.cache, report.engine_cache, report.slow_queries]);
  const of = (service: string | null, metric: string) => (service && isPerServiceKpi(metric) ? ` (${service})` : '');
  if (report.kpis.state === 'ok') {
    for (const kpi of report.kpis.value) {
      if (kpi.tone === 'fail') needs.push(`${kpi.label}${of(kpi.service, kpi.metric)} over the week ${kpi.breached_when} ${kpi.threshold} ${kpi.unit}`);
      else if (kpi.tone === 'warn') needs.push(`${kpi.label}${of(kpi.service, kpi.metric)} worse than last week by ${Math.abs(kpi.change_percent ?? 0).toFixed(0)} %`);
    }
  }
  if (report.trends.state === 'ok') for (const trend of report.trends.value) if (trend.degrading) needs.push(`${trend.label}${of(trend.service, trend.metric)} got worse each of the last ${trend.worsening_days} days`);
  if (report.engine_cache.state === 'ok' && report.engine_cache.value.l2.rejected > 0) needs.push(`the Policy Engine refused ${report.engine_cache.value.l2.rejected} forged L2 cache entries`);
  return needs;
}
