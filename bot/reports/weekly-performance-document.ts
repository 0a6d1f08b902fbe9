/**
 * The weekly performance report as a result document: what needs attention first, then the KPIs
 * this week against last, the degradation trends, cache effectiveness and the slowest queries;
 * a part that could not be gathered says what is missing in its place. `data` is the report
 * itself, for `npx acgs report weekly --json`.
 */
import { clip, formatCount, formatDuration, formatPercent, formatTimestamp } from '../../commands/format.js';
import { worstTone, type CheckLine, type ResultBlock, type ResultDocument, type Tone } from '../../commands/result.js';
import { CACHE_HIT_RATE_TARGET_PERCENT } from './charts/index.js';
import { figure, isPerServiceKpi, kpiLimit, needsBlock, reportSections, things } from './report-document-kit.js';
import { DEGRADING_STEPS, type DegradationTrend, type KpiComparison } from './weekly-performance-kpis.js';
import type { EngineCaches, WeeklyPerformanceReport, WeekCacheHitRate } from './weekly-performance-report.js';
import type { SlowQueries } from '../../services/stack/stack-database.js';

export const WEEKLY_PERFORMANCE_TITLE = 'Weekly performance report';

export function weeklyPerformanceDocument(report: WeeklyPerformanceReport, options: { charts?: string[] } = {}): ResultDocument {
  const { blocks, tones, section } = reportSections();
  blocks.push(needsBlock('Needs attention', report.needs_attention, 'nothing this week'));
  section('KPIs, this week against last (weekly average)', report.kpis, (kpis) => ({ tone: worstTone(kpis.map((kpi) => kpi.tone)), blocks: [{ type: 'checks', items: kpis.map(comparisonLine) }] }));
  section('Degradation trends (daily averages this week)', report.trends, (trends) => trendBlocks(trends));
  section('Cache effectiveness', report.cache, (cache) => cacheBlocks(cache));
  section('Policy Engine caches (since it started)', report.engine_cache, (caches) => engineCacheBlocks(caches));
  section('Slowest queries (pg_stat_statements)', report.slow_queries, (slow) => slowQueryBlocks(slow));
  return {
    title: WEEKLY_PERFORMANCE_TITLE,
    tone: worstTone([...tones, report.needs_attention.length > 0 ? 'warn' : 'ok']),
    summary: report.needs_attention.length === 0 ? 'Nothing needs attention this week.' : `${things(report.needs_attention.length)} attention this week.`,
    blocks,
    footer: [
      `This week ${formatTimestamp(report.from)} to ${formatTimestamp(report.to)}, against the week from ${formatTimestamp(report.last_week_from)} · metrics from ${report.history_source}`,
      ...(options.charts?.length ? [`Charts: ${options.charts.join(', ')}`] : []),
    ].join('\n'),
    data: report,
  };
}

function comparisonLine(kpi: KpiComparison): CheckLine {
  const unit = (value: number) => `${figure(value)} ${kpi.unit}`;
  const of = kpi.service && isPerServiceKpi(kpi.metric) ? ` ${kpi.service}` : '';
  if (kpi.this_week === null) return { name: kpi.label, tone: 'info', text: `no samples this week${kpi.last_week === null ? '' : ` (last week ${unit(kpi.last_week)})`} (${kpiLimit(kpi)})` };
  const change =
    kpi.last_week === null || kpi.change === null
      ? 'no samples last week'
      : `last week ${unit(kpi.last_week)} · ${kpi.change >= 0 ? '+' : ''}${figure(kpi.change)} ${kpi.unit}${kpi.change_percent === null ? '' : ` (${kpi.change_percent >= 0 ? '+' : ''}${kpi.change_percent.toFixed(1)} %)`}, ${kpi.verdict}`;
  return { name: kpi.label, tone: kpi.tone, text: `${unit(kpi.this_week)}${of} (${kpiLimit(kpi)}) · ${change}` };
}

function trendBlocks(trends: readonly DegradationTrend[]): { tone: Tone; blocks: ResultBlock[] } {
  const degrading = trends.filter((trend) => trend.degrading);
  if (degrading.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: `No KPI got worse day over day for ${DEGRADING_STEPS} days in a row.` }] };
  const items: CheckLine[] = degrading.map((trend) => ({
    name: `${trend.label}${isPerServiceKpi(trend.metric) ? ` ${trend.service}` : ''}`,
    tone: 'warn',
    text: `worse each of the last ${trend.worsening_days} days: ${trend.days.slice(-(trend.worsening_days + 1)).map((day) => `${figure(day.value)}`).join(' → ')} ${trend.unit}`,
  }));
  return { tone: 'warn', blocks: [{ type: 'checks', items }] };
}

function cacheBlocks(cache: WeekCacheHitRate): { tone: Tone; blocks: ResultBlock[] } {
  if (cache.this_week === null) return { tone: 'info', blocks: [{ type: 'text', text: 'No cache hit rate samples this week.' }] };
  const tone: Tone = cache.this_week < CACHE_HIT_RATE_TARGET_PERCENT ? 'fail' : 'ok';
  const last = cache.last_week === null ? 'no samples last week' : `last week ${figure(cache.last_week)} %`;
  const worst = cache.worst_day ? ` · lowest day ${formatTimestamp(cache.worst_day.day).slice(0, 10)}: ${figure(cache.worst_day.value)} %` : '';
  return { tone, blocks: [{ type: 'checks', items: [{ name: 'Hit rate', tone, text: `${figure(cache.this_week)} % this week (at least ${CACHE_HIT_RATE_TARGET_PERCENT} %) · ${last}${worst}` }] }] };
}

function engineCacheBlocks(caches: EngineCaches): { tone: Tone; blocks: ResultBlock[] } {
  const items: CheckLine[] = [
    { name: 'Overall', tone: caches.tone, text: `${formatPercent(caches.hit_rate)} hit over ${formatDuration(caches.uptime_seconds)}` },
    { name: 'L1 (in process)', tone: 'info', text: `${formatPercent(caches.l1_hit_rate)} hit · ${formatCount(caches.l1.size)} of ${formatCount(caches.l1.max)} entries (${formatPercent(caches.l1.fill)})` },
    caches.l2.enabled
      ? { name: 'L2 (Redis)', tone: caches.l2.rejected > 0 ? 'fail' : caches.l2.errors > 0 ? 'warn' : 'ok', text: `${formatPercent(caches.l2_hit_rate)} of its lookups hit · ${formatCount(caches.l2.errors)} errors` }
      : { name: 'L2 (Redis)', tone: 'info', text: 'off' },
    ...caches.notes.map((note) => ({ name: 'Note', tone: 'info' as const, text: note })),
  ];
  return { tone: caches.tone, blocks: [{ type: 'checks', items }] };
}

function slowQueryBlocks(slow: SlowQueries): { tone: Tone; blocks: ResultBlock[] } {
  if (!slow.available) return { tone: 'info', blocks: [{ type: 'text', text: `Slow queries are not available: ${slow.reason}. To enable them: ${slow.howToEnable}.` }] };
  if (slow.queries.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'pg_stat_statements has no statements of this database yet.' }] };
  const rows = slow.queries.map((query) => [`${figure(Number(query.mean_ms))} ms`, `${figure(Number(query.max_ms))} ms`, formatCount(Number(query.calls)), clip(query.query, 80)]);
  return { tone: 'info', blocks: [{ type: 'table', columns: ['Mean', 'Max', 'Calls', 'Statement'], rows }] };
}
