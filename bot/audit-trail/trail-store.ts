/**
 * The trail's PostgreSQL side: migrations, appends serialised on the head row, queries. No
 * spooling or retrying here; trail-append-queue.ts and trail-replay.ts decide what to do when
 * PostgreSQL is not there.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ensureChainHead } from '../../services/kit/hash-chain/chain-head.js';
import type { ChainQuery } from '../../services/kit/hash-chain/chain-query.js';
import { migrate, withTransaction } from '../../services/kit/postgres.js';
import { type ChainedRecord, TRAIL_TABLES, chainRecords, trailGenesisHash } from './trail-chain.js';
import { type PendingRecord, type TrailRecord, levelFromCode } from './trail-record.js';

export const TRAIL_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const TRAIL_MIGRATIONS_TABLE = 'bot_audit_trail_migrations';

export const TRAIL_COLUMNS =
  'sequence, idempotency_key, at, recorded_at, kind, actor, origin, channel, command, arguments, decision, level, outcome, details, constitutional_hash, content_hash, prev_hash, hash';

/** A row of bot_audit_trail as pg returns it: the pending record's columns plus the chain's. */
export type TrailRow = Omit<PendingRecord, 'at'> & {
  sequence: string;
  at: Date;
  recorded_at: Date;
  constitutional_hash: string;
  content_hash: string;
  prev_hash: string;
  hash: string;
};

export function rowToChained(row: TrailRow): ChainedRecord {
  return {
    sequence: Number(row.sequence),
    idempotency_key: row.idempotency_key,
    at: row.at.toISOString(),
    recorded_at: row.recorded_at.toISOString(),
    kind: row.kind,
    actor: row.actor,
    origin: row.origin,
    channel: row.channel,
    command: row.command,
    arguments: row.arguments,
    decision: row.decision,
    level: row.level,
    outcome: row.outcome,
    details: row.details,
    constitutional_hash: row.constitutional_hash,
    content_hash: row.content_hash,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

export function toTrailRecord(record: ChainedRecord): TrailRecord {
  return {
    sequence: record.sequence,
    key: record.idempotency_key,
    at: record.at,
    recordedAt: record.recorded_at,
    kind: record.kind,
    actor: record.actor,
    origin: record.origin,
    channel: record.channel,
    command: record.command,
    args: record.arguments ?? null,
    decision: record.decision,
    level: levelFromCode(record.level),
    outcome: record.outcome,
    details: record.details,
    constitutionalHash: record.constitutional_hash,
    contentHash: record.content_hash,
    prevHash: record.prev_hash,
    hash: record.hash,
  };
}

/** Where a record sits in the chain once written. */
export interface ChainReceipt {
  key: string;
  sequence: number;
  hash: string;
  /** True when a record with this key was already in the chain and nothing was written. */
  duplicate: boolean;
}

export interface TrailQueryFilter {
  /** The actor's ID (a Slack user ID, `cli:<user>`). */
  user?: string;
  /** A command name; a first word also matches its two-word commands (`lockdown` finds `lockdown lift`). */
  command?: string;
  kind?: string;
  /** Records that happened at or after this time. */
  since?: Date;
  /** Only records older than this sequence: the next page after a result's last record. */
  beforeSequence?: number;
  limit: number;
}

export interface TrailHead {
  sequence: number;
  hash: string;
}

/** The group's records as rows from one JSON parameter: one statement whatever the batch size. */
const INSERT_RECORDS = `
INSERT INTO bot_audit_trail (${TRAIL_COLUMNS})
SELECT ${TRAIL_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS r(
  sequence bigint, idempotency_key text, at timestamptz, recorded_at timestamptz, kind text,
  actor text, origin text, channel text, command text, arguments jsonb, decision text,
  level smallint, outcome text, details jsonb, constitutional_hash text, content_hash text,
  prev_hash text, hash text)`;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

export interface TrailStore {
  /** Applies the trail's migrations and creates the head at the genesis; safe to repeat. */
  initialize(): Promise<void>;
  /**
   * Appends the records in order, in one transaction, after taking the head row's lock: writers
   * in every process take turns, so the chain never forks. Records whose key is already in the
   * chain (a replay after an unanswered commit) are answered from the chain and not written again.
   */
  append(records: readonly PendingRecord[], statementTimeoutMs: number): Promise<ChainReceipt[]>;
  query(filter: TrailQueryFilter): Promise<{ records: TrailRecord[]; more: boolean }>;
  head(): Promise<TrailHead>;
  /** Records with sequence in (after, upTo], oldest first. */
  range(after: number, upTo: number, limit: number): Promise<ChainedRecord[]>;
}

export function createTrailStore(pool: pg.Pool): TrailStore {
  return {
    async initialize() {
      // With nothing pending this only reads the bookkeeping table, which the bot's restricted role
      // may (bot/bot-database.ts); a pending migration needs the owner role.
      await migrate(pool, { directory: TRAIL_MIGRATIONS_DIR, table: TRAIL_MIGRATIONS_TABLE });
      await ensureChainHead(pool, TRAIL_TABLES, trailGenesisHash());
    },

    append(records, statementTimeoutMs) {
      return withTransaction(pool, async (client) => {
        // A stuck lock or statement fails the append (and the record is spooled) instead of hanging it.
        await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(statementTimeoutMs))}`);
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(statementTimeoutMs))}`);
        const headResult = await client.query<{ sequence: string; hash: string }>(
          'SELECT sequence, hash FROM bot_audit_trail_head WHERE id = 1 FOR UPDATE',
        );
        const headRow = headResult.rows[0];
        if (!headRow) throw new Error('bot_audit_trail_head has no row: the trail was not initialized, or the row was removed');
        const keys = records.map((record) => record.idempotency_key);
        const existing = await client.query<{ idempotency_key: string; sequence: string; hash: string }>(
          'SELECT idempotency_key, sequence, hash FROM bot_audit_trail WHERE idempotency_key = ANY($1::text[])',
          [keys],
        );
        const known = new Map<string, ChainReceipt>(
          existing.rows.map((row) => [
            row.idempotency_key,
            { key: row.idempotency_key, sequence: Number(row.sequence), hash: row.hash, duplicate: true },
          ]),
        );
        // A key twice in one batch is written once, like a key already in the chain.
        const fresh: PendingRecord[] = [];
        const freshKeys = new Set<string>();
        for (const record of records) {
          if (known.has(record.idempotency_key) || freshKeys.has(record.idempotency_key)) continue;
          freshKeys.add(record.idempotency_key);
          fresh.push(record);
        }
        const chained = chainRecords({ sequence: Number(headRow.sequence), hash: headRow.hash }, fresh, new Date().toISOString());
        if (chained.length > 0) {
          await client.query(INSERT_RECORDS, [JSON.stringify(chained)]);
          const last = chained[chained.length - 1]!;
          await client.query('UPDATE bot_audit_trail_head SET sequence = $1, hash = $2, updated_at = now() WHERE id = 1', [
            last.sequence,
            last.hash,
          ]);
        }
        const written = new Map(chained.map((record) => [record.idempotency_key, record]));
        const seen = new Set<string>();
        return records.map((record): ChainReceipt => {
          const key = record.idempotency_key;
          const stored = written.get(key);
          if (stored && !seen.has(key)) {
            seen.add(key);
            return { key, sequence: stored.sequence, hash: stored.hash, duplicate: false };
          }
          if (stored) return { key, sequence: stored.sequence, hash: stored.hash, duplicate: true };
          return known.get(key)!;
        });
      });
    },

    async query(filter) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      const add = (template: (placeholder: string) => string, value: unknown) => {
        params.push(value);
        conditions.push(template(`$${params.length}`));
      };
      if (filter.user !== undefined) add((p) => `actor = ${p}`, filter.user);
      if (filter.command !== undefined) {
        params.push(filter.command, `${escapeLike(filter.command)} %`);
        conditions.push(`(command = $${params.length - 1} OR command LIKE $${params.length})`);
      }
      if (filter.kind !== undefined) add((p) => `kind = ${p}`, filter.kind);
      if (filter.since !== undefined) add((p) => `at >= ${p}`, filter.since);
      if (filter.beforeSequence !== undefined) add((p) => `sequence < ${p}`, filter.beforeSequence);
      params.push(filter.limit + 1);
      const sql =
        `SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail` +
        (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '') +
        ` ORDER BY sequence DESC LIMIT $${params.length}`;
      const result = await pool.query<TrailRow>(sql, params);
      return {
        records: result.rows.slice(0, filter.limit).map((row) => toTrailRecord(rowToChained(row))),
        more: result.rows.length > filter.limit,
      };
    },

    ...createTrailReader(pool),
  };
}

/**
 * What a walk of the trail reads: the head and the records. Over any ChainQuery, so that
 * `backup verify` walks a restored copy of either kind (PostgreSQL, embedded PGlite) the same way.
 */
export function createTrailReader(db: ChainQuery): Pick<TrailStore, 'head' | 'range'> {
  return {
    async head() {
      const result = await db.query<{ sequence: string; hash: string }>('SELECT sequence, hash FROM bot_audit_trail_head WHERE id = 1');
      const row = result.rows[0];
      if (!row) throw new Error('bot_audit_trail_head has no row: the trail was not initialized, or the row was removed');
      return { sequence: Number(row.sequence), hash: row.hash };
    },

    async range(after, upTo, limit) {
      const result = await db.query<TrailRow>(
        `SELECT ${TRAIL_COLUMNS} FROM bot_audit_trail WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3`,
        [after, upTo, limit],
      );
      return result.rows.map(rowToChained);
    },
  };
}
