/**
 * Where each alert's Slack message is, in the bot's database, shared by every replica
 * (`bot_slack_alert_messages`, `bot_slack_alert_storms`). An alert's first firing decides, in one
 * transaction under an advisory lock, whether it gets a message of its own or joins a storm's
 * summary (more than N alerts decided within the last minute): so the storm holds across replicas,
 * and the row's insert is the claim that lets one replica post. Thread replies are taken by
 * advancing `told_through` with compare-and-set before they are posted, so each is posted once.
 * Every time is the database's now(): replicas on different hosts may not agree on the time.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate, withTransaction } from '../../services/kit/postgres.js';

export const ALERT_MESSAGE_MIGRATIONS_DIR = fileURLToPath(new URL('./alert-message-migrations', import.meta.url));
export const ALERT_MESSAGE_MIGRATIONS_TABLE = 'bot_slack_alert_messages_migrations';
export const ALERT_MESSAGE_TABLES = ['bot_slack_alert_messages', 'bot_slack_alert_storms'] as const;

/** Creates or updates the tables; safe when several replicas start together (migrate holds an advisory lock). */
export function migrateAlertMessageStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: ALERT_MESSAGE_MIGRATIONS_DIR, table: ALERT_MESSAGE_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/**
 * How long a claim to post holds: longer than a post with the Web API client's retries and
 * rate-limit waits can take, so a slow post is never doubled; a replica that died between claim
 * and post delays the message until the alert's next change after this.
 */
export const DEFAULT_POST_LEASE_MS = 3 * 60_000;
/** The window of a storm: more than N alerts decided within it. */
export const STORM_WINDOW_MS = 60_000;
/** pg_advisory_xact_lock key of the storm decision ("acgs" "alrt"). */
const STORM_LOCK_KEY = 0x6163_6773_616c_7274n;

/** A won claim to post a message (an alert's or a storm's summary): only its holder records the ts. */
export interface PostClaim {
  token: string;
}

export interface AlertMessageRow {
  alertId: string;
  channel: string;
  stormId?: string;
  ts?: string;
  toldThrough: string;
}

export type AlertMessageDecision =
  | { kind: 'message'; row: AlertMessageRow; claim: PostClaim }
  | { kind: 'storm'; row: AlertMessageRow; stormId: string; claim?: PostClaim }
  /** Decided before (by another replica, or an earlier firing): the row as it is. */
  | { kind: 'decided'; row: AlertMessageRow };

export interface StormRow {
  id: string;
  channel: string;
  startedAt: Date;
  ts?: string;
  total: number;
  open: number;
  byRule: Array<{ name: string; count: number }>;
  byService: Array<{ name: string; count: number }>;
}

export interface AlertMessageStore {
  /**
   * Decides how an alert that fired is shown, once: a message of its own (this caller posts it),
   * or a member of a storm when more than `stormThreshold` alerts were decided within the last
   * minute (the caller that opens the storm posts its summary). `toldThrough` is the firing's own
   * event: the message tells it, not a reply.
   */
  decide(alertId: string, options: { channel: string; stormThreshold: number; toldThrough: string }): Promise<AlertMessageDecision>;
  /**
   * Decides again for a storm member that fired again once its storm is over (no member joined for
   * a minute), as `decide` would for a new firing; `decided` while the storm goes on or when the
   * alert is not a member.
   */
  refire(alertId: string, options: { channel: string; stormThreshold: number; toldThrough: string }): Promise<AlertMessageDecision>;
  get(alertId: string): Promise<AlertMessageRow | undefined>;
  /** Claims an unposted message whose earlier claim ran out (its poster died, or Slack refused the post). */
  reclaim(alertId: string): Promise<PostClaim | undefined>;
  /** Records the message Slack accepted; false when the claim was lost. */
  posted(alertId: string, claim: PostClaim, ts: string): Promise<boolean>;
  /** Lets the claim go at once (the post failed): the alert's next change tries again. */
  release(alertId: string, claim: PostClaim): Promise<void>;
  /** Forgets a message Slack no longer has, and claims its repost; undefined when another replica did first. */
  forget(alertId: string, ts: string): Promise<PostClaim | undefined>;
  /** Takes the replies of events after `from` up to `to`; true only for the one caller that moved it. */
  takeReplies(alertId: string, from: string, to: string): Promise<boolean>;
  storm(stormId: string): Promise<StormRow | undefined>;
  stormPosted(stormId: string, claim: PostClaim, ts: string): Promise<boolean>;
  releaseStorm(stormId: string, claim: PostClaim): Promise<void>;
  reclaimStorm(stormId: string): Promise<PostClaim | undefined>;
  forgetStorm(stormId: string, ts: string): Promise<PostClaim | undefined>;
}

interface MessageRecord {
  alert_id: string;
  channel: string;
  storm_id: string | null;
  ts: string | null;
  told_through: string;
}

const toRow = (row: MessageRecord): AlertMessageRow => ({
  alertId: row.alert_id,
  channel: row.channel,
  ...(row.storm_id !== null ? { stormId: row.storm_id } : {}),
  ...(row.ts !== null ? { ts: row.ts } : {}),
  toldThrough: row.told_through,
});

export function createAlertMessageStore(options: { pool: pg.Pool; postLeaseMs?: number }): AlertMessageStore {
  const { pool } = options;
  const postLeaseMs = options.postLeaseMs ?? DEFAULT_POST_LEASE_MS;
  const later = (parameter: number) => `now() + make_interval(secs => $${parameter}::double precision / 1000)`;

  /** A new claim on a row without a ts whose claim ran out. */
  async function reclaimIn(table: string, key: string, id: string): Promise<PostClaim | undefined> {
    const token = randomUUID();
    const { rowCount } = await pool.query(
      `UPDATE ${table} SET claim_token = $2, claim_expires_at = ${later(3)} WHERE ${key} = $1 AND ts IS NULL AND (claim_expires_at IS NULL OR claim_expires_at <= now())`,
      [id, token, postLeaseMs],
    );
    return rowCount === 1 ? { token } : undefined;
  }

  async function forgetIn(table: string, key: string, id: string, ts: string): Promise<PostClaim | undefined> {
    const token = randomUUID();
    const { rowCount } = await pool.query(`UPDATE ${table} SET ts = NULL, claim_token = $3, claim_expires_at = ${later(4)} WHERE ${key} = $1 AND ts = $2`, [id, ts, token, postLeaseMs]);
    return rowCount === 1 ? { token } : undefined;
  }

  /**
   * The decision for an alert under the storm lock: a message of its own while fewer than
   * `stormThreshold` were decided within the window, else a member of the open storm (or of a new
   * one, whose summary this caller posts). `write` records the alert's row (insert or update).
   */
  async function decideIn(
    client: pg.PoolClient,
    alertId: string,
    channel: string,
    stormThreshold: number,
    write: (stormId: string | null, claimToken: string | null) => Promise<pg.QueryResult<MessageRecord>>,
  ): Promise<AlertMessageDecision> {
    const { rows: counted } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bot_slack_alert_messages WHERE decided_at > now() - make_interval(secs => $1::double precision / 1000) AND alert_id <> $2`,
      [STORM_WINDOW_MS, alertId],
    );
    const token = randomUUID();
    if (counted[0]!.n < stormThreshold) {
      const { rows } = await write(null, token);
      return { kind: 'message', row: toRow(rows[0]!), claim: { token } };
    }
    const open = await client.query<{ id: string }>(
      `UPDATE bot_slack_alert_storms SET last_member_at = now()
       WHERE id = (SELECT id FROM bot_slack_alert_storms WHERE last_member_at > now() - make_interval(secs => $1::double precision / 1000) ORDER BY id DESC LIMIT 1)
       RETURNING id`,
      [STORM_WINDOW_MS],
    );
    let stormId = open.rows[0]?.id;
    let claim: PostClaim | undefined;
    if (!stormId) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO bot_slack_alert_storms (channel, started_at, last_member_at, claim_token, claim_expires_at) VALUES ($1, now(), now(), $2, ${later(3)}) RETURNING id`,
        [channel, token, postLeaseMs],
      );
      stormId = rows[0]!.id;
      claim = { token };
    }
    const { rows } = await write(stormId, null);
    return { kind: 'storm', row: toRow(rows[0]!), stormId, ...(claim ? { claim } : {}) };
  }

  return {
    decide(alertId, { channel, stormThreshold, toldThrough }) {
      return withTransaction<AlertMessageDecision>(pool, async (client) => {
        // One decision at a time across replicas: the count and the insert must see each other.
        await client.query('SELECT pg_advisory_xact_lock($1)', [STORM_LOCK_KEY.toString()]);
        const existing = await client.query<MessageRecord>('SELECT * FROM bot_slack_alert_messages WHERE alert_id = $1', [alertId]);
        if (existing.rows[0]) return { kind: 'decided', row: toRow(existing.rows[0]) };
        return decideIn(client, alertId, channel, stormThreshold, (stormId, claimToken) =>
          client.query<MessageRecord>(
            `INSERT INTO bot_slack_alert_messages (alert_id, channel, decided_at, storm_id, claim_token, claim_expires_at, told_through)
             VALUES ($1, $2, now(), $3, $4, CASE WHEN $4::uuid IS NULL THEN NULL ELSE ${later(5)} END, $6) RETURNING *`,
            [alertId, channel, stormId, claimToken, postLeaseMs, toldThrough],
          ),
        );
      });
    },

    refire(alertId, { channel, stormThreshold, toldThrough }) {
      return withTransaction<AlertMessageDecision>(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [STORM_LOCK_KEY.toString()]);
        const { rows } = await client.query<MessageRecord & { storm_over: boolean }>(
          `SELECT m.*, s.last_member_at <= now() - make_interval(secs => $2::double precision / 1000) AS storm_over
           FROM bot_slack_alert_messages m LEFT JOIN bot_slack_alert_storms s ON s.id = m.storm_id WHERE m.alert_id = $1`,
          [alertId, STORM_WINDOW_MS],
        );
        const row = rows[0];
        if (!row) throw new Error(`alert ${alertId} was never decided`);
        if (row.storm_id === null || !row.storm_over) return { kind: 'decided', row: toRow(row) };
        return decideIn(client, alertId, channel, stormThreshold, (stormId, claimToken) =>
          client.query<MessageRecord>(
            `UPDATE bot_slack_alert_messages SET channel = $2, decided_at = now(), storm_id = $3, claim_token = $4,
               claim_expires_at = CASE WHEN $4::uuid IS NULL THEN NULL ELSE ${later(5)} END, ts = NULL, posted_at = NULL, told_through = $6
             WHERE alert_id = $1 RETURNING *`,
            [alertId, channel, stormId, claimToken, postLeaseMs, toldThrough],
          ),
        );
      });
    },

    async get(alertId) {
      const { rows } = await pool.query<MessageRecord>('SELECT * FROM bot_slack_alert_messages WHERE alert_id = $1', [alertId]);
      return rows[0] ? toRow(rows[0]) : undefined;
    },

    reclaim: (alertId) => reclaimIn('bot_slack_alert_messages', 'alert_id', alertId),

    async posted(alertId, claim, ts) {
      const { rowCount } = await pool.query(
        'UPDATE bot_slack_alert_messages SET ts = $3, posted_at = now(), claim_expires_at = NULL WHERE alert_id = $1 AND claim_token = $2 AND ts IS NULL',
        [alertId, claim.token, ts],
      );
      return rowCount === 1;
    },

    async release(alertId, claim) {
      await pool.query('UPDATE bot_slack_alert_messages SET claim_expires_at = now() WHERE alert_id = $1 AND claim_token = $2 AND ts IS NULL', [alertId, claim.token]);
    },

    forget: (alertId, ts) => forgetIn('bot_slack_alert_messages', 'alert_id', alertId, ts),

    async takeReplies(alertId, from, to) {
      const { rowCount } = await pool.query('UPDATE bot_slack_alert_messages SET told_through = $3 WHERE alert_id = $1 AND told_through = $2', [alertId, from, to]);
      return rowCount === 1;
    },

    async storm(stormId) {
      const { rows } = await pool.query<{ id: string; channel: string; started_at: Date; ts: string | null }>('SELECT * FROM bot_slack_alert_storms WHERE id = $1', [stormId]);
      const storm = rows[0];
      if (!storm) return undefined;
      const members = 'FROM bot_slack_alert_messages m JOIN alerts a ON a.id = m.alert_id WHERE m.storm_id = $1';
      const [totals, byRule, byService] = await Promise.all([
        pool.query<{ total: number; open: number }>(`SELECT count(*)::int AS total, (count(*) FILTER (WHERE a.state <> 'resolved'))::int AS open ${members}`, [stormId]),
        pool.query<{ name: string; count: number }>(`SELECT a.rule AS name, count(*)::int AS count ${members} GROUP BY a.rule ORDER BY count DESC, name`, [stormId]),
        pool.query<{ name: string; count: number }>(
          `SELECT coalesce(a.labels->>'service', a.labels->>'job', '(no service)') AS name, count(*)::int AS count ${members} GROUP BY 1 ORDER BY count DESC, name`,
          [stormId],
        ),
      ]);
      return {
        id: storm.id,
        channel: storm.channel,
        startedAt: storm.started_at,
        ...(storm.ts !== null ? { ts: storm.ts } : {}),
        total: totals.rows[0]!.total,
        open: totals.rows[0]!.open,
        byRule: byRule.rows,
        byService: byService.rows,
      };
    },

    async stormPosted(stormId, claim, ts) {
      const { rowCount } = await pool.query('UPDATE bot_slack_alert_storms SET ts = $3, claim_expires_at = NULL WHERE id = $1 AND claim_token = $2 AND ts IS NULL', [stormId, claim.token, ts]);
      return rowCount === 1;
    },

    async releaseStorm(stormId, claim) {
      await pool.query('UPDATE bot_slack_alert_storms SET claim_expires_at = now() WHERE id = $1 AND claim_token = $2 AND ts IS NULL', [stormId, claim.token]);
    },

    reclaimStorm: (stormId) => reclaimIn('bot_slack_alert_storms', 'id', stormId),
    forgetStorm: (stormId, ts) => forgetIn('bot_slack_alert_storms', 'id', stormId, ts),
  };
}
