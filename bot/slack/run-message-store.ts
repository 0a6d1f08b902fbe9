/**
 * Where each runbook run's Slack message is, and which replica keeps it current: the table
 * `bot_slack_run_messages` in the bot's database, shared by every replica. Publishing starts with
 * a claim, one statement that only one caller anywhere wins (a new row, or a row whose lease ran
 * out), so a run is posted once and edited by one replica at a time. Every time is the database's
 * now(): replicas on different hosts may not agree on the time.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { isRunId } from '../../runbooks/engine/run-store.js';
import { migrate } from '../../services/kit/postgres.js';

export const RUN_MESSAGE_MIGRATIONS_DIR = fileURLToPath(new URL('./run-message-migrations', import.meta.url));
export const RUN_MESSAGE_MIGRATIONS_TABLE = 'bot_slack_run_messages_migrations';

/** Creates or updates the table; safe when several replicas start together (migrate holds an advisory lock). */
export function migrateRunMessageStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: RUN_MESSAGE_MIGRATIONS_DIR, table: RUN_MESSAGE_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/**
 * How long a claim whose message is not posted yet holds: longer than a post can take with the
 * Web API client's retries and rate-limit waits, so that a slow post is never taken over (and
 * doubled); a replica that died between claim and post delays the message by at most this much.
 */
export const DEFAULT_POST_LEASE_MS = 3 * 60_000;
/** How long a posted message's publisher holds it without renewing (it renews on every poll). */
export const DEFAULT_PUBLISH_LEASE_MS = 15_000;

/** A won claim: only its holder may record the post, the thread replies, or close the message. */
export interface RunMessageClaim {
  runId: string;
  token: string;
  channel: string;
  /** The message, when an earlier holder posted it already. */
  ts?: string;
  /** Thread replies posted already (keys as `detailKey` makes them). */
  detailsPosted: ReadonlySet<string>;
}

export interface RunMessageRow {
  runId: string;
  channel: string;
  publisher: string;
  ts?: string;
  finalState?: string;
  closed: boolean;
}

export interface RunMessageStore {
  /**
   * Claims the run's message for publishing in `channel` (a run already claimed keeps its first
   * channel). Undefined when another replica holds a live lease on it or it is closed.
   */
  claim(runId: string, channel: string): Promise<RunMessageClaim | undefined>;
  /** Records the message Slack accepted and shortens the lease to the publishing one; false when the claim was lost. */
  posted(claim: RunMessageClaim, ts: string): Promise<boolean>;
  /**
   * Forgets a posted message Slack no longer has (deleted, or a local console that started
   * afresh) and the replies in its thread, with the posting lease again: the holder posts the run
   * anew. False when the claim was lost.
   */
  forgetPost(claim: RunMessageClaim): Promise<boolean>;
  /** Extends the lease; false when the claim was lost (another replica took the message over). */
  renew(claim: RunMessageClaim): Promise<boolean>;
  /**
   * Takes a thread reply for posting, before it is posted: true only for the one holder that
   * takes it, so a reply is never posted twice (a crash right after taking loses that reply).
   */
  takeDetail(claim: RunMessageClaim, key: string): Promise<boolean>;
  /** Gives a reply back whose post Slack refused, so the next round tries again. */
  returnDetail(claim: RunMessageClaim, key: string): Promise<void>;
  /** Marks the message closed with the run's final state; true only for the call that closed it. */
  close(claim: RunMessageClaim, finalState: string): Promise<boolean>;
  /**
   * Lets go of the claim for another replica: an unposted claim is dropped, a posted one is left
   * for the next scan to take over at once.
   */
  release(claim: RunMessageClaim): Promise<void>;
  /** Open messages nobody holds a live lease on, oldest first (a scan takes them over). */
  orphaned(limit?: number): Promise<RunMessageRow[]>;
  get(runId: string): Promise<RunMessageRow | undefined>;
}

export interface RunMessageStoreOptions {
  pool: pg.Pool;
  /** This replica's name, kept with its claims (ACGS_BOT_INSTANCE). */
  instance: string;
  postLeaseMs?: number;
  publishLeaseMs?: number;
}

interface Row {
  run_id: string;
  channel: string;
  publisher: string;
  claim_token: string;
  ts: string | null;
  details_posted: string[];
  final_state: string | null;
  closed_at: Date | null;
}

const toRow = (row: Row): RunMessageRow => ({
  runId: row.run_id,
  channel: row.channel,
  publisher: row.publisher,
  ...(row.ts !== null ? { ts: row.ts } : {}),
  ...(row.final_state !== null ? { finalState: row.final_state } : {}),
  closed: row.closed_at !== null,
});

/** One key per step attempt (or compensation attempt): what a thread reply is about. */
export function detailKey(attempt: { stepIndex: number; action: string; attempt: number }): string {
  return `${attempt.stepIndex}:${attempt.action}:${attempt.attempt}`;
}

export function createRunMessageStore(options: RunMessageStoreOptions): RunMessageStore {
  const { pool, instance } = options;
  const postLeaseMs = options.postLeaseMs ?? DEFAULT_POST_LEASE_MS;
  const publishLeaseMs = options.publishLeaseMs ?? DEFAULT_PUBLISH_LEASE_MS;
  const later = (parameter: number) => `now() + make_interval(secs => $${parameter}::double precision / 1000)`;
  const held = 'run_id = $1 AND claim_token = $2 AND closed_at IS NULL';

  return {
    async claim(runId, channel) {
      if (!isRunId(runId)) throw new Error(`not a run id: ${JSON.stringify(runId.slice(0, 40))}`);
      const token = randomUUID();
      // DO NOTHING for a live lease or a closed message; one whose lease ran out is taken over in
      // the same statement, so exactly one caller wins either way. A takeover of a posted message
      // gets the short lease at once; of an unposted one, the long one (it is about to post).
      const { rows } = await pool.query<Row>(
        `INSERT INTO bot_slack_run_messages AS m (run_id, channel, publisher, claim_token, lease_expires_at)
         VALUES ($1, $2, $3, $4, ${later(5)})
         ON CONFLICT (run_id) DO UPDATE SET publisher = EXCLUDED.publisher, claim_token = EXCLUDED.claim_token,
           lease_expires_at = CASE WHEN m.ts IS NULL THEN EXCLUDED.lease_expires_at ELSE ${later(6)} END
           WHERE m.closed_at IS NULL AND m.lease_expires_at <= now()
         RETURNING *`,
        [runId, channel, instance, token, postLeaseMs, publishLeaseMs],
      );
      const row = rows[0];
      if (!row || row.claim_token !== token) return undefined;
      return { runId, token, channel: row.channel, ...(row.ts !== null ? { ts: row.ts } : {}), detailsPosted: new Set(row.details_posted) };
    },
    async posted(claim, ts) {
      const { rowCount } = await pool.query(
        `UPDATE bot_slack_run_messages SET ts = $3, posted_at = now(), lease_expires_at = ${later(4)} WHERE ${held} AND ts IS NULL`,
        [claim.runId, claim.token, ts, publishLeaseMs],
      );
      return rowCount === 1;
    },
    async forgetPost(claim) {
      const { rowCount } = await pool.query(
        `UPDATE bot_slack_run_messages SET ts = NULL, posted_at = NULL, details_posted = '{}', lease_expires_at = ${later(3)} WHERE ${held} AND ts IS NOT NULL`,
        [claim.runId, claim.token, postLeaseMs],
      );
      return rowCount === 1;
    },
    async renew(claim) {
      const { rowCount } = await pool.query(
        `UPDATE bot_slack_run_messages SET lease_expires_at = greatest(lease_expires_at, ${later(3)}) WHERE ${held} AND lease_expires_at > now()`,
        [claim.runId, claim.token, publishLeaseMs],
      );
      return rowCount === 1;
    },
    async takeDetail(claim, key) {
      const { rowCount } = await pool.query(
        `UPDATE bot_slack_run_messages SET details_posted = array_append(details_posted, $3) WHERE ${held} AND NOT ($3 = ANY (details_posted))`,
        [claim.runId, claim.token, key],
      );
      return rowCount === 1;
    },
    async returnDetail(claim, key) {
      await pool.query(`UPDATE bot_slack_run_messages SET details_posted = array_remove(details_posted, $3) WHERE ${held}`, [claim.runId, claim.token, key]);
    },
    async close(claim, finalState) {
      const { rowCount } = await pool.query(`UPDATE bot_slack_run_messages SET final_state = $3, closed_at = now() WHERE ${held} AND ts IS NOT NULL`, [
        claim.runId,
        claim.token,
        finalState,
      ]);
      return rowCount === 1;
    },
    async release(claim) {
      await pool.query(`DELETE FROM bot_slack_run_messages WHERE ${held} AND ts IS NULL`, [claim.runId, claim.token]);
      await pool.query(`UPDATE bot_slack_run_messages SET lease_expires_at = now() WHERE ${held}`, [claim.runId, claim.token]);
    },
    async orphaned(limit = 20) {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM bot_slack_run_messages WHERE closed_at IS NULL AND lease_expires_at <= now() ORDER BY lease_expires_at LIMIT $1',
        [limit],
      );
      return rows.map(toRow);
    },
    async get(runId) {
      if (!isRunId(runId)) return undefined;
      const { rows } = await pool.query<Row>('SELECT * FROM bot_slack_run_messages WHERE run_id = $1', [runId]);
      return rows[0] ? toRow(rows[0]) : undefined;
    },
  };
}
