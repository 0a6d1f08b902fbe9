/**
 * The delivery ledger's durable fallback, in the bot's PostgreSQL: only the keys the in-memory
 * ledger evicted before their window ended are written here (so the common path stays in memory),
 * and a claim looks here only once something was evicted.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate } from '../../services/kit/postgres.js';

export const DELIVERY_MIGRATIONS_DIR = fileURLToPath(new URL('./delivery-migrations', import.meta.url));
export const DELIVERY_MIGRATIONS_TABLE = 'bot_slack_deliveries_migrations';

export function migrateDeliveryStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: DELIVERY_MIGRATIONS_DIR, table: DELIVERY_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export interface EvictedDeliveries {
  /** Keeps a key the memory ledger dropped, until its window ends. */
  remember(key: string, expiresAt: Date): Promise<void>;
  /** Whether a key was remembered and its window has not ended. */
  seen(key: string, now?: Date): Promise<boolean>;
}

/** Expired keys are swept once every this many writes. */
const SWEEP_EVERY = 200;

export function postgresEvictedDeliveries(pool: pg.Pool): EvictedDeliveries {
  let writes = 0;
  return {
    async remember(key, expiresAt) {
      await pool.query(
        `INSERT INTO bot_slack_deliveries (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = greatest(bot_slack_deliveries.expires_at, excluded.expires_at)`,
        [key, expiresAt],
      );
      writes += 1;
      if (writes % SWEEP_EVERY === 0) await pool.query('DELETE FROM bot_slack_deliveries WHERE expires_at < now()');
    },
    async seen(key, now = new Date()) {
      const { rowCount } = await pool.query('SELECT 1 FROM bot_slack_deliveries WHERE key = $1 AND expires_at > $2', [key, now]);
      return (rowCount ?? 0) > 0;
    },
  };
}
