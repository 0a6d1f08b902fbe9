/**
 * The daily health report's figures (issue 15, "Reports"): for the last 24 h, every service's
 * health and uptime, the runbook's KPIs against their thresholds with the worst hour, the alerts
 * of the night and how they ended, the last backup and its verification, the audit chain, and
 * what needs a human today. Each part is gathered on its own (report-part.ts): a source that is
 * down makes its part say so and the others still answer. Slack-free: the command renders it
 * (daily-report-document.ts) and postDailyReport posts it with its charts.
 */
import type { AlertHistoryInfo, BackupListing } from '../../commands/ports.js';
import type { HealthCheckData } from '../../commands/health.js';
import type { Tone } from '../../commands/result.js';
import type { MetricName, MetricSeries, MetricsHistory } from '../metrics-history/index.js';
import { DAILY_KPIS, summariseKpi, type KpiFinding } from './kpi-summary.js';
import { ALERT_EVENTS_LIMIT, nightAlerts, type NightAlert } from './night-alerts.js';
import { missingParts } from './report-document-kit.js';
import { gatherPart, type ReportPart } from './report-part.js';

export interface AuditChainStatus {
  valid: boolean;
  /** The verdict in words ("all 120 records match", "broken at #12: ..."). */
  detail: string;
}

/** Where each part comes from; a source that cannot answer throws, and only its part says so. */
export interface DailyReportSources {
  history: Pick<MetricsHistory, 'query' | 'uptime' | 'source'>;
  health(): Promise<HealthCheckData[]>;
  alertHistory(since: Date, limit: number): Promise<AlertHistoryInfo[]>;
  /** Newest first. */
  backups(): Promise<BackupListing[]>;
  auditChain(): Promise<AuditChainStatus>;
}

export interface BackupFinding {
  id: string | null;
  state: string | null;
  age_hours: number | null;
  verification: BackupListing['verification'] | null;
  tone: Tone;
  problem: string | null;
}

export interface DailyReport {
  from: string;
  to: string;
  history_source: string;
  /** Anything failing or over its threshold, and every part that could not be gathered. */
  needs_a_human: string[];
  health: ReportPart<HealthCheckData[]>;
  uptime: ReportPart<{ service: string; up_percent: number | null }[]>;
  kpis: ReportPart<KpiFinding[]>;
  alerts: ReportPart<{ alerts: NightAlert[]; cut: boolean }>;
  backup: ReportPart<BackupFinding>;
  audit: ReportPart<AuditChainStatus>;
}

/** The day's minute series the charts draw, beside the report's figures. */
export type DailySeries = Partial<Record<MetricName, MetricSeries[]>>;

export const REPORT_RANGE_MS = 24 * 3600_000;
/** The runbook backs up daily at 02:00: a newest backup older than this missed a day. */
export const BACKUP_MAX_AGE_HOURS = 26;

export async function gatherDailyReport(sources: DailyReportSources, now: Date = new Date()): Promise<{ report: DailyReport; series: DailySeries }> {
  const from = new Date(now.getTime() - REPORT_RANGE_MS);
  const series: DailySeries = {};
  const [health, uptime, kpis, alerts, backup, audit] = await Promise.all([
    gatherPart('health checks', () => sources.health()),
    gatherPart('metrics history', async () =>
      (await sources.history.uptime({ from, to: now })).map((one) => ({ service: one.service, up_percent: one.upFraction === null ? null : one.upFraction * 100 })),
    ),
    gatherPart('metrics history', async () => {
      const answers = await Promise.all(DAILY_KPIS.map((kpi) => sources.history.query({ metric: kpi.metric, from, to: now })));
      DAILY_KPIS.forEach((kpi, index) => (series[kpi.metric] = answers[index]!));
      return DAILY_KPIS.map((kpi, index) => summariseKpi(kpi, answers[index]!));
    }),
    gatherPart('alert history', async () => {
      const events = await sources.alertHistory(from, ALERT_EVENTS_LIMIT);
      return { alerts: nightAlerts(events), cut: events.length >= ALERT_EVENTS_LIMIT };
    }),
    gatherPart('backups', async () => backupFinding((await sources.backups())[0])),
    gatherPart('audit chain', () => sources.auditChain()),
  ]);
  const report: DailyReport = { from: from.toISOString(), to: now.toISOString(), history_source: sources.history.source, needs_a_human: [], health, uptime, kpis, alerts, backup, audit };
  report.needs_a_human = needsAHuman(report);
  return { report, series };
}

function backupFinding(newest: BackupListing | undefined): BackupFinding {
  if (!newest) return { id: null, state: null, age_hours: null, verification: null, tone: 'fail', problem: 'there is no backup' };
  const ageHours = newest.ageSeconds / 3600;
  const problem =
    newest.state !== 'complete'
      ? `the newest backup ${newest.id} is ${newest.state}${newest.problem ? `: ${newest.problem}` : ''}`
      : ageHours > BACKUP_MAX_AGE_HOURS
        ? `the newest backup ${newest.id} is ${Math.floor(ageHours)} h old (a daily backup is due every 24 h)`
        : newest.verification.state === 'failed'
          ? `the newest backup ${newest.id} failed its verification${newest.verification.problem ? `: ${newest.verification.problem}` : ''}`
          : newest.verification.state === 'never'
            ? `the newest backup ${newest.id} was never verified`
            : null;
  const tone: Tone = problem === null ? 'ok' : newest.verification.state === 'never' && newest.state === 'complete' && ageHours <= BACKUP_MAX_AGE_HOURS ? 'warn' : 'fail';
  return { id: newest.id, state: newest.state, age_hours: Math.round(ageHours * 10) / 10, verification: newest.verification, tone, problem };
}

function needsAHuman(report: DailyReport): string[] {
  const needs = missingParts([report.health, report.uptime, report.kpis, report.alerts, report.backup, report.audit]);
  if (report.health.state === 'ok') for (const check of report.health.value) if (check.tone === 'fail' || check.tone === 'warn') needs.push(`${check.name} is ${check.status}${check.detail ? `: ${check.detail}` : ''}`);
  if (report.kpis.state === 'ok') for (const kpi of report.kpis.value) if (kpi.tone === 'fail') needs.push(`${kpi.label} over the day ${kpi.breached_when === 'above' ? 'above' : 'below'} ${kpi.threshold} ${kpi.unit}`);
  if (report.alerts.state === 'ok') for (const alert of report.alerts.value.alerts) if (alert.state !== 'resolved') needs.push(`alert #${alert.id} ${alert.rule}${alert.service ? ` (${alert.service})` : ''} is still ${alert.state}`);
  if (report.backup.state === 'ok' && report.backup.value.problem) needs.push(report.backup.value.problem);
  if (report.audit.state === 'ok' && !report.audit.value.valid) needs.push(`audit chain broken: ${report.audit.value.detail}`);
  return needs;
}
