/**
 * The pages of escalated alerts in the bot's PostgreSQL (`alert_pages`): one row per (alert
 * episode, level, contact, channel, target), written before anything is sent. The insert is the
 * claim: of two replicas reaching a level at once, or a level handed over twice, one pages.
 *
 * The deployment notices' ledger (bot/notices/notice-ledger.ts) records after sending, because a
 * notify step is run again by a person; a page has nobody to run it again, so its row also carries
 * its attempts and when to try next, and whoever checks escalations retries what is due.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate } from '../../services/kit/postgres.js';

export const PAGING_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const PAGING_MIGRATIONS_TABLE = 'bot_paging_migrations';
export const PAGING_TABLES = ['alert_pages'] as const;

/** Run after the alert store's migrations: the pages reference its alerts. */
export function migratePageLedger(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: PAGING_MIGRATIONS_DIR, table: PAGING_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export type PageChannel = 'email' | 'webhook';
export type PageState = 'pending' | 'sent' | 'failed' | 'cancelled';

export interface PageKey {
  alertId: string;
  episode: Date;
  level: 2 | 3 | 4;
  contact: string;
  channel: PageChannel;
  target: string;
}

/** What a page says besides the alert itself: the level's reason and the alert's issue type. */
export interface PageWording {
  reason: string;
  issueType: string;
}

export interface PageRecord extends PageKey, PageWording {
  state: PageState;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface PageLedger {
  /** Writes the pages not written before, as pending and due at `at`; the ones this call wrote. */
  claim(keys: readonly PageKey[], wording: PageWording, at: Date): Promise<PageRecord[]>;
  /**
   * Takes a pending page for one attempt if it is due and still at `attempts` (compare-and-set):
   * counts the attempt and moves its next time to `retryAt`, so that nobody else tries it
   * meanwhile. False when another replica took it, or it is not pending or not due.
   */
  take(key: PageKey, attempts: number, now: Date, retryAt: Date): Promise<boolean>;
  /** Pending pages due at `now`, oldest due first. */
  due(now: Date, limit: number): Promise<PageRecord[]>;
  /** A failed attempt that will be tried again (at the time `take` set). */
  attemptFailed(key: PageKey, error: string): Promise<void>;
  finish(key: PageKey, state: Exclude<PageState, 'pending'>, at: Date, error?: string): Promise<void>;
  /** An alert's pages, oldest first. */
  ofAlert(alertId: string): Promise<PageRecord[]>;
}

interface PageRow {
  alert_id: string;
  episode: Date;
  level: number;
  contact: string;
  channel: PageChannel;
  target: string;
  reason: string;
  issue_type: string;
  state: PageState;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const COLUMNS = 'alert_id, episode, level, contact, channel, target, reason, issue_type, state, attempts, next_attempt_at, last_error, created_at, finished_at';
const KEY_MATCH = 'alert_id = $1 AND episode = $2 AND level = $3 AND contact = $4 AND channel = $5 AND target = $6';
const keyParams = (key: PageKey) => [key.alertId, key.episode, key.level, key.contact, key.channel, key.target];

function toRecord(row: PageRow): PageRecord {
  return {
    alertId: String(row.alert_id),
    episode: row.episode,
    level: row.level as 2 | 3 | 4,
    contact: row.contact,
    channel: row.channel,
    target: row.target,
    reason: row.reason,
    issueType: row.issue_type,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export function createPageLedger(pool: pg.Pool): PageLedger {
  return {
    async claim(keys, wording, at) {
      if (keys.length === 0) return [];
      const { rows } = await pool.query<PageRow>(
        `INSERT INTO alert_pages (alert_id, episode, level, contact, channel, target, reason, issue_type, state, attempts, next_attempt_at, created_at)
         SELECT page.*, $7, $8, 'pending', 0, $9::timestamptz, $9::timestamptz FROM unnest($1::bigint[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[], $6::text[]) AS page
         ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
        [keys.map((key) => key.alertId), keys.map((key) => key.episode), keys.map((key) => key.level), keys.map((key) => key.contact), keys.map((key) => key.channel), keys.map((key) => key.target), wording.reason, wording.issueType, at],
      );
      return rows.map(toRecord);
    },

    async take(key, attempts, now, retryAt) {
      const taken = await pool.query(
        `UPDATE alert_pages SET attempts = attempts + 1, next_attempt_at = $9 WHERE ${KEY_MATCH} AND state = 'pending' AND attempts = $7 AND next_attempt_at <= $8`,
        [...keyParams(key), attempts, now, retryAt],
      );
      return taken.rowCount === 1;
    },

    async due(now, limit) {
      const { rows } = await pool.query<PageRow>(`SELECT ${COLUMNS} FROM alert_pages WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`, [now, limit]);
      return rows.map(toRecord);
    },

    async attemptFailed(key, error) {
      await pool.query(`UPDATE alert_pages SET last_error = $7 WHERE ${KEY_MATCH} AND state = 'pending'`, [...keyParams(key), error]);
    },

    async finish(key, state, at, error) {
      await pool.query(`UPDATE alert_pages SET state = $7, finished_at = $8, last_error = COALESCE($9, last_error) WHERE ${KEY_MATCH} AND state = 'pending'`, [...keyParams(key), state, at, error ?? null]);
    },

    async ofAlert(alertId) {
      const { rows } = await pool.query<PageRow>(`SELECT ${COLUMNS} FROM alert_pages WHERE alert_id = $1 ORDER BY created_at, level, contact, channel, target`, [alertId]);
      return rows.map(toRecord);
    },
  };
}
