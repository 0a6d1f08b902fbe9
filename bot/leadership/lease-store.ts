/**
 * Named leases in PostgreSQL (migrations/): one holder per name until its lease runs out, a
 * fencing token that grows on every takeover. Each operation is one statement timed by the
 * database's clock, so two replicas asking at once never both win, and their own clocks do not
 * matter. Nothing here runs work: leader-duty.ts does, on top of it.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate } from '../../services/kit/postgres.js';

export const LEASE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const LEASE_MIGRATIONS_TABLE = 'bot_leadership_migrations';
export const LEASE_TABLES = ['leadership_leases'] as const;

export function migrateLeaseStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: LEASE_MIGRATIONS_DIR, table: LEASE_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/** A lease as held: who, its fencing token (text: a bigint), and until when (the database's time). */
export interface HeldLease {
  name: string;
  holder: string;
  fencingToken: string;
  acquiredAt: Date;
  expiresAt: Date;
}

export interface LeaseStore {
  /**
   * Takes the lease when nobody holds it, its lease ran out, or `holder` holds it already (then it
   * is renewed, same token). Undefined when another holder's lease is live.
   */
  acquire(name: string, holder: string, leaseMs: number): Promise<HeldLease | undefined>;
  /** Extends a lease still held with that token; undefined when it ran out or changed hands. */
  renew(lease: HeldLease, leaseMs: number): Promise<HeldLease | undefined>;
  /** Lets the lease go at once (another replica may take it on its next try); nothing if it is not held so. */
  release(lease: HeldLease): Promise<void>;
  /** The lease's row as it is, live or not; undefined when it was never taken. */
  current(name: string): Promise<(HeldLease & { live: boolean }) | undefined>;
}

interface LeaseRow {
  name: string;
  holder: string;
  fencing_token: string;
  acquired_at: Date;
  expires_at: Date;
}

const toLease = (row: LeaseRow): HeldLease => ({ name: row.name, holder: row.holder, fencingToken: row.fencing_token, acquiredAt: row.acquired_at, expiresAt: row.expires_at });

/** Lease names are the work's name (`alert-monitor`): lower-case words joined by "-". */
export const LEASE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

function checkLease(name: string, holder: string, leaseMs: number): void {
  if (!LEASE_NAME.test(name)) throw new RangeError(`a lease name is lower-case words joined by "-", not ${JSON.stringify(name)}`);
  if (holder.trim() === '' || holder.length > 200) throw new RangeError('a lease holder is a replica id of 1 to 200 characters');
  if (!Number.isInteger(leaseMs) || leaseMs < 100) throw new RangeError(`a lease lasts at least 100 ms, not ${leaseMs}`);
}

export function createLeaseStore(pool: pg.Pool): LeaseStore {
  return {
    async acquire(name, holder, leaseMs) {
      checkLease(name, holder, leaseMs);
      // The same holder with a live lease keeps its token; anyone taking a lease that ran out
      // (its former holder included) starts a new term with the next token.
      const { rows } = await pool.query<LeaseRow>(
        `INSERT INTO leadership_leases AS l (name, holder, fencing_token, acquired_at, renewed_at, expires_at)
         VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE SET
           fencing_token = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp() THEN l.fencing_token ELSE l.fencing_token + 1 END,
           acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp() THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
           holder = EXCLUDED.holder,
           renewed_at = EXCLUDED.renewed_at,
           expires_at = EXCLUDED.expires_at
         WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
         RETURNING name, holder, fencing_token, acquired_at, expires_at`,
        [name, holder, leaseMs],
      );
      return rows[0] ? toLease(rows[0]) : undefined;
    },

    async renew(lease, leaseMs) {
      checkLease(lease.name, lease.holder, leaseMs);
      const { rows } = await pool.query<LeaseRow>(
        `UPDATE leadership_leases SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + $4 * interval '1 millisecond'
         WHERE name = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > clock_timestamp()
         RETURNING name, holder, fencing_token, acquired_at, expires_at`,
        [lease.name, lease.holder, lease.fencingToken, leaseMs],
      );
      return rows[0] ? toLease(rows[0]) : undefined;
    },

    async release(lease) {
      await pool.query(
        'UPDATE leadership_leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > clock_timestamp()',
        [lease.name, lease.holder, lease.fencingToken],
      );
    },

    async current(name) {
      const { rows } = await pool.query<LeaseRow & { live: boolean }>(
        'SELECT name, holder, fencing_token, acquired_at, expires_at, expires_at > clock_timestamp() AS live FROM leadership_leases WHERE name = $1',
        [name],
      );
      return rows[0] ? { ...toLease(rows[0]), live: rows[0].live } : undefined;
    },
  };
}
