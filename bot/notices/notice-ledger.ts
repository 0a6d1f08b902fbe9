/**
 * Which targets a deployment notice already reached, in the bot's database, so that a notify step
 * run again (a retry after a target failed, a takeover after a crash) sends only to the rest.
 * A delivery whose row could not be written is sent again by such a retry: twice is better than
 * a notice that silently never arrives.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { DeploymentNotice, NoticeTargetOutcome } from '../../runbooks/engine/ports.js';
import { migrate } from '../../services/kit/postgres.js';

export const NOTICE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const NOTICE_MIGRATIONS_TABLE = 'bot_notices_migrations';

export function migrateNoticeLedger(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: NOTICE_MIGRATIONS_DIR, table: NOTICE_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export type TargetKind = NoticeTargetOutcome['kind'];

export interface NoticeLedger {
  /** `<target kind>:<target>` of every target this notice reached before. */
  reached(notice: DeploymentNotice): Promise<Set<string>>;
  record(notice: DeploymentNotice, kind: TargetKind, target: string): Promise<void>;
}

export const targetKey = (kind: TargetKind, target: string) => `${kind}:${target}`;

export function createNoticeLedger(pool: pg.Pool): NoticeLedger {
  return {
    async reached(notice) {
      const result = await pool.query<{ target_kind: TargetKind; target: string }>(
        'SELECT target_kind, target FROM deployment_notice_deliveries WHERE run_id = $1 AND notice_kind = $2',
        [notice.runId, notice.kind],
      );
      return new Set(result.rows.map((row) => targetKey(row.target_kind, row.target)));
    },
    async record(notice, kind, target) {
      await pool.query('INSERT INTO deployment_notice_deliveries (run_id, notice_kind, target_kind, target) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [notice.runId, notice.kind, kind, target]);
    },
  };
}
