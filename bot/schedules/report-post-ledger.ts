/**
 * The scheduled reports' ledger (bot/reports/scheduled-report-posts.ts) in the bot's database,
 * `schedule_report_posts` (migrations/): one row per job and due time, claimed before the post is
 * sent and given Slack's ts once it is. The row's insert is the claim; a row without a ts is taken
 * over under its lock, so two attempts never both post believing the other did not.
 */
import type pg from 'pg';
import { withTransaction } from '../../services/kit/postgres.js';
import type { ReportPostClaim, ReportPostLedger } from '../reports/scheduled-report-posts.js';

interface PostRow {
  channel: string;
  ts: string | null;
  claimed_at: Date;
  posted_at: Date | null;
}

export function createReportPostLedger(pool: pg.Pool): ReportPostLedger {
  return {
    claim: (key, channel) =>
      withTransaction(pool, async (client): Promise<ReportPostClaim> => {
        const inserted = await client.query('INSERT INTO schedule_report_posts (job, due_at, channel, run_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [key.job, key.dueAt, channel, key.runId]);
        if (inserted.rowCount === 1) return { kind: 'claimed' };
        const { rows } = await client.query<PostRow>('SELECT channel, ts, claimed_at, posted_at FROM schedule_report_posts WHERE job = $1 AND due_at = $2 FOR UPDATE', [key.job, key.dueAt]);
        const row = rows[0]!;
        if (row.ts && row.posted_at) return { kind: 'posted', channel: row.channel, ts: row.ts, postedAt: row.posted_at };
        await client.query('UPDATE schedule_report_posts SET channel = $3, run_id = $4, claimed_at = now() WHERE job = $1 AND due_at = $2', [key.job, key.dueAt, channel, key.runId]);
        return { kind: 'unconfirmed', channel: row.channel, claimedAt: row.claimed_at };
      }),

    async confirm(key, ts) {
      await pool.query('UPDATE schedule_report_posts SET ts = $3, posted_at = now() WHERE job = $1 AND due_at = $2 AND run_id = $4 AND ts IS NULL', [key.job, key.dueAt, ts, key.runId]);
    },
  };
}
