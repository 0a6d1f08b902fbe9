/**
 * The DR report: the restore time against the earlier DR tests' (the "restore time against
 * the last months'"), and each service's detection and recovery times. Plain lines so that the
 * bot renders it as it renders any document, and the trail keeps the same figures.
 */
import type { DrReport, PastRestoreTime } from '../engine/ports.js';
import type { ServiceFailover } from './failover.js';
import type { RestoreTestResult } from './restore-test.js';

export interface DrReportInput {
  runId: string;
  restore: RestoreTestResult;
  past: readonly PastRestoreTime[];
  failover: { tested: true; services: readonly ServiceFailover[] } | { tested: false; why: string };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function restoreComparison(restore: RestoreTestResult, past: readonly PastRestoreTime[]): string {
  if (past.length === 0) return 'the first DR test on record: nothing to compare with';
  const median = [...past.map((entry) => entry.restoreMs)].sort((a, b) => a - b)[Math.floor(past.length / 2)]!;
  const change = median === 0 ? 0 : Math.round(((restore.restoreMs - median) / median) * 100);
  const previous = past.slice(0, 6).map((entry) => `${entry.at.slice(0, 10)} ${seconds(entry.restoreMs)}`).join(', ');
  return `${change >= 0 ? '+' : ''}${change} % against the median of ${past.length} earlier test(s) (${seconds(median)}); earlier: ${previous}`;
}

export function drReport({ runId, restore, past, failover }: DrReportInput): DrReport {
  const rows = Object.entries(restore.rows).map(([dump, count]) => `${dump} ${count} rows`).join(', ');
  const lines = [
    `*Restore test*: backup ${restore.backup} (taken ${restore.backupStartedAt}) restored and verified in ${seconds(restore.restoreMs)}: ${rows || 'no dumps'}; audit chains intact.`,
    `Restore time: ${restoreComparison(restore, past)}.`,
  ];
  if (failover.tested) {
    lines.push('*Failover test*: each service stopped alone, detection = its health check failing, recovery = healthy again, both from the stop.');
    for (const entry of failover.services) {
      const detected = entry.detectionMs === null ? 'never seen failing' : `detected in ${seconds(entry.detectionMs)}`;
      const by = entry.recoveredBy === 'level-1' ? 'by Level 1 auto-resolution' : 'restarted by the runbook';
      const neighbours = entry.degradedMeanwhile.length > 0 ? `; meanwhile degraded: ${entry.degradedMeanwhile.join(', ')}` : '';
      lines.push(`• ${entry.service}: ${detected}, healthy again in ${seconds(entry.recoveryMs)} (${by})${neighbours}`);
    }
  } else {
    lines.push(`*Failover test*: not run: ${failover.why}.`);
  }
  lines.push(`Run ${runId} (\`run status ${runId}\`).`);
  const slowest = failover.tested ? Math.max(0, ...failover.services.map((entry) => entry.recoveryMs)) : undefined;
  const summary = failover.tested
    ? `Restore in ${seconds(restore.restoreMs)}; ${failover.services.length} services failed over, slowest back in ${seconds(slowest!)}.`
    : `Restore in ${seconds(restore.restoreMs)}; failover not tested.`;
  return { title: `DR test: ${restore.backup}`, summary, lines };
}
