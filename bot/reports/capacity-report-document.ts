/**
 * The capacity report as a result document: what needs attention first, then one table per
 * resource (average, peak, the trend line's value now and its slope, the projection in words) and
 * the datastores read now. A part that could not be gathered says what is missing in its place.
 * `data` is the report itself, for `npx acgs report capacity --json`.
 */
import { formatBytes, formatTimestamp } from '../../commands/format.js';
import { worstTone, type ResultDocument, type Tone } from '../../commands/result.js';
import type { Projection } from './capacity-projection.js';
import { CAPACITY_RESOURCE_KINDS, CAPACITY_RESOURCES, CAPACITY_SOON_DAYS, type CapacityReport, type DatastoreUse, type ResourceTrend } from './capacity-report.js';
import { figure, needsBlock, reportSections, things } from './report-document-kit.js';

export function capacityReportDocument(report: CapacityReport, options: { charts?: string[] } = {}): ResultDocument {
  const { blocks, tones, section } = reportSections();
  blocks.push(needsBlock('Needs attention', report.needs_attention, `nothing crosses its threshold within ${CAPACITY_SOON_DAYS} days at the current trend`));
  for (const kind of CAPACITY_RESOURCE_KINDS) {
    const resource = CAPACITY_RESOURCES[kind];
    const limit = 'threshold' in resource ? `, threshold ${resource.threshold} ${resource.unit}` : '';
    section(`${resource.label} (${resource.unit}${limit})`, report.trends[kind], (trends) => ({ tone: worstTone(trends.map(trendTone)), blocks: [{ type: 'table', columns: ['Service', 'Average', 'Peak hour', 'Trend now', 'Per 30 days', 'Projection'], rows: trends.map(trendRow) }] }), resource.label);
  }
  section(
    'Datastores, read now (the metrics history does not keep them)',
    report.datastores,
    (uses) => ({ tone: worstTone(uses.map((use) => use.tone)), blocks: [{ type: 'checks', items: uses.map((use) => ({ name: use.name, tone: use.tone, text: datastoreText(use) })) }] }),
    'Datastores',
  );
  const tone = worstTone([...tones, report.needs_attention.length > 0 ? 'warn' : 'ok']);
  const count = report.needs_attention.length;
  return {
    title: 'Monthly capacity report',
    tone,
    summary: count === 0 ? `No resource crosses its threshold within ${CAPACITY_SOON_DAYS} days at the current trend.` : `${things(count)} attention.`,
    blocks,
    footer: [
      `${formatTimestamp(report.from)} to ${formatTimestamp(report.to)} · hourly averages from ${report.history_source} · a least-squares line over the period, at least ${report.min_days} days of data`,
      ...(options.charts?.length ? [`Charts: ${options.charts.join(', ')}`] : []),
    ].join('\n'),
    data: report,
  };
}

function trendTone(trend: ResourceTrend): Tone {
  const { projection } = trend;
  if (projection.state === 'over-threshold') return 'fail';
  if (projection.state === 'crosses') return projection.in_days <= CAPACITY_SOON_DAYS ? 'warn' : 'ok';
  if (projection.state === 'not-enough-data') return 'info';
  return 'ok';
}

function trendRow(trend: ResourceTrend): string[] {
  const { projection } = trend;
  const hasLine = projection.state !== 'not-enough-data';
  return [
    trend.service,
    trend.average === null ? '-' : figure(trend.average),
    trend.peak === null ? '-' : figure(trend.peak),
    hasLine ? figure(projection.now_value) : '-',
    hasLine ? signed(projection.line.slope_per_day * 30) : '-',
    projectionText(projection, trend),
  ];
}

/** The projection in words, as the runbook's capacity planning asks it. */
export function projectionText(projection: Projection, trend: Pick<ResourceTrend, 'threshold' | 'unit'>): string {
  switch (projection.state) {
    case 'not-enough-data':
      return `not enough data (${projection.days_with_data} of ${projection.needed_days} days)`;
    case 'no-threshold':
      return 'trend only (no threshold)';
    case 'over-threshold':
      return `over ${trend.threshold} ${trend.unit} now`;
    case 'crosses':
      return `crosses ${trend.threshold} ${trend.unit} around ${projection.at.slice(0, 10)} (in ${Math.round(projection.in_days)} days)`;
    case 'not-at-current-trend':
      return `not at the current trend (${projection.why})`;
  }
}

function datastoreText(use: DatastoreUse): string {
  if (use.used === null) return use.note ?? 'not read';
  const bytes = use.name !== 'PostgreSQL connections';
  const amount = (value: number) => (bytes ? formatBytes(value) : `${value}`);
  const of = use.limit === null ? '' : ` of ${amount(use.limit)}${use.percent === null ? '' : ` (${use.percent.toFixed(1)} %)`}`;
  return [`${amount(use.used)}${bytes ? '' : ' open'}${of}`, use.note, use.location].filter(Boolean).join(' · ');
}

const signed = (value: number) => `${value >= 0 ? '+' : '-'}${figure(Math.abs(value))}`;
