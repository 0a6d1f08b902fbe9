/**
 * What the `dr-test` runbook needs from the bot (runbooks/engine/ports.ts `DrTestPorts`): its
 * figures in the bot's audit trail (`dr_test` records), the ops channel for the announcement, the
 * reports channel for the DR report (channels.reports, else ops: where the daily report goes), the
 * earlier tests' restore times from the run store, and the config's standing approval. Slack is
 * handed in as a getter: the engine starts before the bot's Slack client exists.
 */
import type pg from 'pg';
import type { ResultDocument } from '../../commands/result.js';
import type { DrReport, DrTestPorts, StandingApproval } from '../../runbooks/engine/ports.js';
import type { AuditTrail } from '../audit-trail/index.js';

export interface DrTestChannels {
  /** Posts a document to a channel; returns nothing useful beyond success. */
  post(channel: string, document: ResultDocument): Promise<void>;
  ops?: string;
  reports?: string;
}

export interface DrTestHostOptions {
  pool: pg.Pool;
  trail: Pick<AuditTrail, 'append'>;
  /** Where to post, once the bot is up; undefined while it starts or without Slack. */
  channels(): DrTestChannels | undefined;
  standingApproval?: StandingApproval;
  levelOneAutoResolution: boolean;
}

export function drReportDocument(report: DrReport): ResultDocument {
  return { title: report.title, tone: report.lines.some((line) => line.includes('not run')) ? 'warn' : 'ok', summary: report.summary, blocks: report.lines.map((text) => ({ type: 'text' as const, text })) };
}

function ready(options: DrTestHostOptions, which: 'ops' | 'reports'): { channels: DrTestChannels; channel: string } {
  const channels = options.channels();
  if (!channels) throw new Error('the bot cannot post yet (its Slack client is still starting); retry the step');
  const channel = which === 'reports' ? (channels.reports ?? channels.ops) : channels.ops;
  if (!channel) throw new Error(which === 'reports' ? 'there is no channels.reports or channels.ops in ACGS_CONFIG to post the DR report in' : 'there is no channels.ops in ACGS_CONFIG to announce the failover in');
  return { channels, channel };
}

export function drTestHostPorts(options: DrTestHostOptions): DrTestPorts {
  return {
    async record(entry) {
      await options.trail.append({
        kind: 'dr_test',
        // The attempt too: a retried step measures again, and its figures must not be taken for a replay.
        key: `dr_test:${entry.runId}:${entry.what}#${entry.attempt}:${entry.outcome}:${String((entry.details as { service?: unknown }).service ?? '')}`,
        actor: 'system',
        origin: 'system',
        command: 'run dr-test',
        outcome: entry.outcome,
        details: { run: entry.runId, what: entry.what, attempt: entry.attempt, ...entry.details },
      });
    },
    async announce(text) {
      const { channels, channel } = ready(options, 'ops');
      await channels.post(channel, { title: 'DR failover test starting', tone: 'warn', summary: text, blocks: [] });
      return channel;
    },
    async postReport(report) {
      const { channels, channel } = ready(options, 'reports');
      await channels.post(channel, drReportDocument(report));
      return channel;
    },
    async pastRestoreTimes(excludingRunId) {
      const { rows } = await options.pool.query<{ run_id: string; finished_at: Date; restore_ms: string }>(
        `SELECT a.run_id, a.finished_at, a.output_summary->>'restoreMs' AS restore_ms
           FROM runbook_step_attempts a JOIN runbook_runs r ON r.id = a.run_id
          WHERE r.runbook = 'dr-test' AND a.step_id = 'restore-test' AND a.action = 'run' AND a.outcome = 'done'
            AND a.run_id <> $1 AND a.output_summary ? 'restoreMs'
          ORDER BY a.finished_at DESC LIMIT 12`,
        [excludingRunId],
      );
      return rows.map((row) => ({ runId: row.run_id, at: row.finished_at.toISOString(), restoreMs: Number(row.restore_ms) }));
    },
    ...(options.standingApproval ? { standingApproval: options.standingApproval } : {}),
    async levelOneAutoResolution() {
      return options.levelOneAutoResolution;
    },
  };
}
