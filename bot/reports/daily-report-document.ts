/**
 * The daily report as a result document: "needs a human today" first, then one section per part;
 * a part that could not be gathered says what is missing in its place. `data` is the report
 * itself, for `npx acgs report daily --json`.
 */
import { formatTimestamp } from '../../commands/format.js';
import { worstTone, type CheckLine, type ResultBlock, type ResultDocument, type Tone } from '../../commands/result.js';
import type { DailyReport } from './daily-report.js';
import type { KpiFinding } from './kpi-summary.js';
import { figure, isPerServiceKpi, kpiLimit, needsBlock, reportSections, things } from './report-document-kit.js';

export function dailyReportDocument(report: DailyReport, options: { charts?: string[] } = {}): ResultDocument {
  const { blocks, tones, section } = reportSections();
  blocks.push(needsBlock('Needs a human', report.needs_a_human, 'nothing today'));
  section('Services', report.health, (checks) => {
    const uptime = report.uptime.state === 'ok' ? new Map(report.uptime.value.map((one) => [one.service, one.up_percent])) : undefined;
    const items: CheckLine[] = checks.map((check) => {
      const up = uptime?.get(check.name);
      const upText = uptime === undefined ? '' : up === undefined ? '' : up === null ? ' · uptime not measured' : ` · uptime ${up.toFixed(2)} %`;
      return { name: check.name, tone: check.tone, text: `${check.status}${check.detail ? ` (${check.detail})` : ''}${upText}` };
    });
    if (report.uptime.state === 'missing') items.push({ name: 'uptime', tone: 'warn', text: report.uptime.reason });
    return { tone: worstTone(items.map((item) => item.tone)), blocks: [{ type: 'checks', items }] };
  });
  section('KPIs, last 24 h (day average · worst hour)', report.kpis, (kpis) => ({ tone: worstTone(kpis.map((kpi) => kpi.tone)), blocks: [{ type: 'checks', items: kpis.map(kpiLine) }] }));
  section('Alerts of the night', report.alerts, ({ alerts, cut }) => {
    if (alerts.length === 0) return { tone: 'ok', blocks: [{ type: 'text', text: 'No alerts in the last 24 h.' }] };
    const rows = alerts.map((alert) => [
      `#${alert.id}`,
      `${alert.rule}${alert.service ? ` (${alert.service})` : ''}`,
      alert.fired_at ? formatTimestamp(alert.fired_at) : 'before the day',
      alert.state === 'resolved' ? `resolved ${alert.ended_at ? formatTimestamp(alert.ended_at) : ''} ${alert.by ? `by ${alert.by}` : 'by its source'}`.replace(/\s+/g, ' ').trim() : alert.state === 'acknowledged' ? `acknowledged by ${alert.by ?? '?'}` : 'still firing',
    ]);
    const open = alerts.some((alert) => alert.state !== 'resolved');
    const blocks: ResultBlock[] = [{ type: 'table', columns: ['Alert', 'Rule', 'Fired', 'Ended'], rows }];
    if (cut) blocks.push({ type: 'text', text: 'More alert events than the report reads; `alerts history` shows them all.' });
    return { tone: open ? 'warn' : 'ok', blocks };
  });
  section('Backup', report.backup, (backup) => ({
    tone: backup.tone,
    blocks: [
      {
        type: 'checks',
        items: [
          {
            name: backup.id ?? 'backup',
            tone: backup.tone,
            text: backup.problem ?? `${backup.state} · ${backup.age_hours} h old · verified${backup.verification?.at ? ` ${formatTimestamp(backup.verification.at)}` : ''}`,
          },
        ],
      },
    ],
  }));
  section('Audit chain', report.audit, (audit) => ({ tone: audit.valid ? 'ok' : 'fail', blocks: [{ type: 'checks', items: [{ name: 'Audit chain', tone: audit.valid ? 'ok' : 'fail', text: audit.detail }] }] }));
  const tone = worstTone([...tones, report.needs_a_human.length > 0 ? 'warn' : 'ok']);
  return {
    title: 'Daily health report',
    tone,
    summary: report.needs_a_human.length === 0 ? 'Nothing needs a human today.' : `${things(report.needs_a_human.length)} a human today.`,
    blocks,
    footer: [`${formatTimestamp(report.from)} to ${formatTimestamp(report.to)} · metrics from ${report.history_source}`, ...(options.charts?.length ? [`Charts: ${options.charts.join(', ')}`] : [])].join('\n'),
    data: report,
  };
}

function kpiLine(kpi: KpiFinding): CheckLine {
  const limit = kpiLimit(kpi);
  if (kpi.value === null) return { name: kpi.label, tone: 'info', text: `no samples in the last 24 h (${limit})` };
  const of = (service: string) => (isPerServiceKpi(kpi.metric) ? ` ${service}` : '');
  const worst = kpi.worst_hour ? ` · worst hour ${formatTimestamp(kpi.worst_hour.start)}${of(kpi.worst_hour.service)}: ${figure(kpi.worst_hour.value)} ${kpi.unit}` : '';
  return { name: kpi.label, tone: kpi.tone, text: `${figure(kpi.value)} ${kpi.unit}${of(kpi.service ?? '')} (${limit})${worst}` };
}
