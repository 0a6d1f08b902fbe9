/**
 * Walks the trail from the genesis to the head, recomputing every hash, and names the first record
 * that was altered or is missing. Holds one batch in memory, never the whole chain.
 */
import { type ChainedRecord, trailChainHash, trailContentHash, trailGenesisHash } from './trail-chain.js';
import type { TrailHead, TrailStore } from './trail-store.js';

/**
 * - `missing`: a record (or a run of them, or the end of the trail) is gone;
 * - `content`: the record's content no longer matches its content hash;
 * - `hash`: the record's chain hash no longer matches its link and content;
 * - `link`: two records that are each self-consistent do not link: one was rewritten with
 *   recomputed hashes (the earlier one is named), or the later one's link was changed;
 * - `head`: the last record does not match the hash the head row recorded for it.
 */
export type TrailCheck = 'missing' | 'content' | 'hash' | 'link' | 'head';

export interface TrailBreak {
  /** The first altered or missing record. */
  sequence: number;
  check: TrailCheck;
  /** A sentence for people, naming the record and what is wrong with it. */
  problem: string;
}

export interface TrailVerification {
  valid: boolean;
  /** Records that passed every check before the first break (all of them when valid). */
  checked: number;
  head: TrailHead;
  firstBad?: TrailBreak;
  checkedAt: string;
  durationMs: number;
}

/** The first problem of one record, given the record before it (undefined for record 1). */
function checkRecord(record: ChainedRecord, expectedSequence: number, previous: ChainedRecord | undefined): TrailBreak | undefined {
  const at = (sequence: number, check: TrailCheck, problem: string): TrailBreak => ({ sequence, check, problem });
  if (record.sequence !== expectedSequence) {
    const last = record.sequence - 1;
    return at(
      expectedSequence,
      'missing',
      last === expectedSequence
        ? `record #${expectedSequence} is missing (deleted?): the trail jumps from #${expectedSequence - 1} to #${record.sequence}`
        : `records #${expectedSequence} to #${last} are missing (deleted?): the trail jumps from #${expectedSequence - 1} to #${record.sequence}`,
    );
  }
  if (trailContentHash(record) !== record.content_hash) {
    return at(record.sequence, 'content', `record #${record.sequence} was altered after it was written: its content no longer matches its hash`);
  }
  if (trailChainHash(record.prev_hash, record.content_hash) !== record.hash) {
    return at(record.sequence, 'hash', `the hash of record #${record.sequence} was altered after it was written`);
  }
  const expectedPrev = previous ? previous.hash : trailGenesisHash();
  if (record.prev_hash !== expectedPrev) {
    if (!previous) return at(1, 'link', 'record #1 does not start from the genesis hash: it was rewritten');
    return at(
      previous.sequence,
      'link',
      `record #${record.sequence} does not link to record #${previous.sequence}: record #${previous.sequence} was rewritten with recomputed hashes, or the link of record #${record.sequence} was changed`,
    );
  }
  return undefined;
}

export async function verifyTrail(store: TrailStore, batchSize = 500): Promise<TrailVerification> {
  const started = performance.now();
  // Records up to the head were committed with it, so the walk needs no snapshot while appends go on.
  const head = await store.head();
  const finish = (checked: number, firstBad?: TrailBreak): TrailVerification => ({
    valid: firstBad === undefined,
    checked,
    head,
    ...(firstBad ? { firstBad } : {}),
    checkedAt: new Date().toISOString(),
    durationMs: performance.now() - started,
  });

  let previous: ChainedRecord | undefined;
  let checked = 0;
  for (;;) {
    const after = previous?.sequence ?? 0;
    const batch = await store.range(after, head.sequence, batchSize);
    for (const record of batch) {
      const problem = checkRecord(record, (previous?.sequence ?? 0) + 1, previous);
      // A link break names the record before, which was counted as checked: it no longer is.
      if (problem) return finish(problem.check === 'link' && previous ? checked - 1 : checked, problem);
      checked += 1;
      previous = record;
    }
    if (batch.length < batchSize) break;
  }

  const lastSequence = previous?.sequence ?? 0;
  const lastHash = previous?.hash ?? trailGenesisHash();
  if (lastSequence < head.sequence) {
    const first = lastSequence + 1;
    return finish(checked, {
      sequence: first,
      check: 'missing',
      problem:
        first === head.sequence
          ? `record #${first}, the last one, is missing (deleted?)`
          : `records #${first} to #${head.sequence} are missing from the end of the trail (deleted?)`,
    });
  }
  if (lastHash !== head.hash && lastSequence === 0) {
    return finish(0, { sequence: 0, check: 'head', problem: 'the head of the empty trail does not hold the genesis hash: it was altered' });
  }
  if (lastHash !== head.hash) {
    return finish(checked - 1, {
      sequence: lastSequence,
      check: 'head',
      problem: `record #${lastSequence}, the last one, does not match the hash recorded for it: it was rewritten with recomputed hashes`,
    });
  }
  return finish(checked);
}
