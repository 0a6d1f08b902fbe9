/** The head row of a chain (chain-schema.ts): its last sequence and hash. */
import type pg from 'pg';
import type { HashChainTables } from './chain-schema.js';

/** Where a chain stands, or where a walk of it starts: the genesis (sequence 0) or a record. */
export interface ChainPosition {
  sequence: number;
  hash: string;
}

/**
 * Creates the head at the genesis if this is a new chain. Only then: a runtime role restricted to
 * appending may read and move the head, not INSERT it. Safe to repeat and to race.
 */
export async function ensureChainHead(pool: pg.Pool, tables: HashChainTables, genesisHash: string): Promise<void> {
  const existing = await pool.query(`SELECT 1 FROM ${tables.head} WHERE id = 1`);
  if (existing.rowCount !== 0) return;
  await pool.query(`INSERT INTO ${tables.head} (id, sequence, ${tables.hashColumn}) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING`, [genesisHash]);
}

/**
 * Walks the records in (start.sequence, upTo] in keyset-paginated batches: holds one batch in
 * memory, never the whole chain. `check` names the first problem of a record that must follow the
 * position before it (each chain has its own checks and words for them). Returns how many records
 * passed, the position after the last of them, and the first problem, if any.
 */
export async function walkChain<Row, Problem>(
  walk: {
    /** Records with a sequence in (after, upTo], oldest first, at most `limit`. */
    read(after: number, upTo: number, limit: number): Promise<Row[]>;
    check(record: Row, after: ChainPosition): Problem | undefined;
    positionOf(record: Row): ChainPosition;
  },
  start: ChainPosition,
  upTo: number,
  batchSize: number,
): Promise<{ checked: number; last: ChainPosition; problem?: Problem }> {
  let last = start;
  let checked = 0;
  for (;;) {
    const batch = await walk.read(last.sequence, upTo, batchSize);
    for (const record of batch) {
      const problem = walk.check(record, last);
      if (problem !== undefined) return { checked, last, problem };
      checked += 1;
      last = walk.positionOf(record);
    }
    if (batch.length < batchSize) return { checked, last };
  }
}
