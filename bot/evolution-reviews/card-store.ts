/**
 * Which proposals have a review card, and where: the table `evolution_review_cards` in the bot's
 * database (beside the approval store), shared by every bot replica. Posting a card starts with a
 * claim, one INSERT that only one caller anywhere wins, so a proposal is posted once across
 * restarts and replicas. Slack-free: a card's place is an opaque channel and ts.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { isEvolutionId } from '../../services/evolution-oversight/contract.js';
import { migrate } from '../../services/kit/postgres.js';

export const EVOLUTION_REVIEW_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const EVOLUTION_REVIEW_MIGRATIONS_TABLE = 'bot_evolution_reviews_migrations';

/** Creates or updates the table; safe when several replicas start together (migrate holds an advisory lock). */
export function migrateEvolutionReviewCards(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: EVOLUTION_REVIEW_MIGRATIONS_DIR, table: EVOLUTION_REVIEW_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/**
 * How long a claim without a posted message holds. Longer than a post can take with the Web API
 * client's retries and rate-limit waits, so that a slow post is never taken over (and doubled);
 * a replica that died between claim and post delays its card by at most this much.
 */
export const DEFAULT_CLAIM_LEASE_MS = 3 * 60_000;

export interface CardRef {
  channel: string;
  ts: string;
}

export interface ReviewCard {
  evolutionId: string;
  claimedBy: string;
  claimedAt: Date;
  /** Where the card is; absent while it is being posted. */
  ref?: CardRef;
  postedAt?: Date;
  /** The status the card showed when it was closed (approved, rejected, gone ...). */
  finalStatus?: string;
  closedAt?: Date;
}

/** A won claim: only its holder may record the post or give the claim back. */
export interface CardClaim {
  evolutionId: string;
  token: string;
}

export interface ReviewCardStore {
  /**
   * Claims the proposal for posting: a new row, or an abandoned claim (no message, older than the
   * lease). Undefined when someone else holds it or it was posted already.
   */
  claim(evolutionId: string): Promise<CardClaim | undefined>;
  /** Records where the claimed card was posted; false when the claim was lost meanwhile. */
  posted(claim: CardClaim, ref: CardRef): Promise<boolean>;
  /** Gives back a claim whose post failed, so that the next round (on any replica) tries again. */
  release(claim: CardClaim): Promise<void>;
  /** Cards not yet closed, oldest claim first. */
  open(): Promise<ReviewCard[]>;
  get(evolutionId: string): Promise<ReviewCard | undefined>;
  /** Marks a posted card closed with the status it now shows; true only for the call that closed it. */
  close(evolutionId: string, finalStatus: string): Promise<boolean>;
  /** Drops an abandoned claim that never posted, for a proposal that no longer waits. */
  dropAbandoned(evolutionId: string): Promise<boolean>;
}

export interface ReviewCardStoreOptions {
  pool: pg.Pool;
  /** This replica's name, kept with its claims (ACGS_BOT_INSTANCE). */
  instance: string;
  /** Measured by the database's clock, the one clock every replica shares. */
  claimLeaseMs?: number;
}

interface CardRow {
  evolution_id: string;
  claimed_by: string;
  claimed_at: Date;
  channel: string | null;
  ts: string | null;
  posted_at: Date | null;
  final_status: string | null;
  closed_at: Date | null;
}

function toCard(row: CardRow): ReviewCard {
  return {
    evolutionId: row.evolution_id,
    claimedBy: row.claimed_by,
    claimedAt: row.claimed_at,
    ...(row.channel !== null && row.ts !== null ? { ref: { channel: row.channel, ts: row.ts } } : {}),
    ...(row.posted_at !== null ? { postedAt: row.posted_at } : {}),
    ...(row.final_status !== null ? { finalStatus: row.final_status } : {}),
    ...(row.closed_at !== null ? { closedAt: row.closed_at } : {}),
  };
}

export function createReviewCardStore(options: ReviewCardStoreOptions): ReviewCardStore {
  const { pool, instance } = options;
  const leaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  const requireId = (id: string) => {
    if (!isEvolutionId(id)) throw new Error(`not an evolution id: ${JSON.stringify(id.slice(0, 40))}`);
  };
  // Every time is the database's now(): replicas on different hosts may not agree on the time, and
  // a clock running ahead would take over (and post again) a claim that is still being posted.
  const stale = (leaseParameter: number) => `now() - make_interval(secs => $${leaseParameter}::double precision / 1000)`;

  return {
    async claim(evolutionId) {
      requireId(evolutionId);
      const token = randomUUID();
      // DO NOTHING for a live claim or a posted card; an abandoned claim (never posted, older
      // than the lease) is taken over in the same statement, so exactly one caller wins either way.
      const { rows } = await pool.query<{ claim_token: string }>(
        `INSERT INTO evolution_review_cards AS card (evolution_id, claimed_by, claim_token, claimed_at)
         VALUES ($1, $2, $3, now())
         ON CONFLICT (evolution_id) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, claim_token = EXCLUDED.claim_token, claimed_at = EXCLUDED.claimed_at
           WHERE card.ts IS NULL AND card.closed_at IS NULL AND card.claimed_at < ${stale(4)}
         RETURNING claim_token`,
        [evolutionId, instance, token, leaseMs],
      );
      return rows[0]?.claim_token === token ? { evolutionId, token } : undefined;
    },
    async posted(claim, ref) {
      const { rowCount } = await pool.query(
        'UPDATE evolution_review_cards SET channel = $3, ts = $4, posted_at = now() WHERE evolution_id = $1 AND claim_token = $2 AND ts IS NULL',
        [claim.evolutionId, claim.token, ref.channel, ref.ts],
      );
      return rowCount === 1;
    },
    async release(claim) {
      await pool.query('DELETE FROM evolution_review_cards WHERE evolution_id = $1 AND claim_token = $2 AND ts IS NULL', [claim.evolutionId, claim.token]);
    },
    async open() {
      const { rows } = await pool.query<CardRow>('SELECT * FROM evolution_review_cards WHERE closed_at IS NULL ORDER BY claimed_at, evolution_id');
      return rows.map(toCard);
    },
    async get(evolutionId) {
      if (!isEvolutionId(evolutionId)) return undefined;
      const { rows } = await pool.query<CardRow>('SELECT * FROM evolution_review_cards WHERE evolution_id = $1', [evolutionId]);
      return rows[0] ? toCard(rows[0]) : undefined;
    },
    async close(evolutionId, finalStatus) {
      if (!isEvolutionId(evolutionId)) return false;
      const { rowCount } = await pool.query(
        'UPDATE evolution_review_cards SET final_status = $2, closed_at = now() WHERE evolution_id = $1 AND ts IS NOT NULL AND closed_at IS NULL',
        [evolutionId, finalStatus],
      );
      return rowCount === 1;
    },
    async dropAbandoned(evolutionId) {
      const { rowCount } = await pool.query(`DELETE FROM evolution_review_cards WHERE evolution_id = $1 AND ts IS NULL AND claimed_at < ${stale(2)}`, [evolutionId, leaseMs]);
      return rowCount === 1;
    },
  };
}
