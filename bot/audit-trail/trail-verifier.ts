/**
 * Walks the trail, recomputing every hash, and names the first record that was altered or is
 * missing. Holds one batch in memory, never the whole chain. A walk starts at the genesis (full)
 * or at a signed checkpoint the trail still matches (trail-checkpoints.ts), so that a routine
 * `audit verify` reads only the records written since.
 */
import type { CheckpointCheck } from '../../services/audit-engine/checkpoint-ledger.js';
import { type ChainPosition, walkChain } from '../../services/kit/hash-chain/chain-head.js';
import { type ChainedRecord, trailChainHash, trailContentHash, trailGenesisHash } from './trail-chain.js';
import type { TrailHead, TrailStore } from './trail-store.js';

/**
 * - `missing`: a record (or a run of them, or the end of the trail) is gone;
 * - `content`: the record's content no longer matches its content hash;
 * - `hash`: the record's chain hash no longer matches its link and content;
 * - `link`: two records that are each self-consistent do not link: one was rewritten with
 *   recomputed hashes (the earlier one is named), or the later one's link was changed;
 * - `head`: the last record does not match the hash the head row recorded for it;
 * - `checkpoint`: the record differs from what a signed checkpoint recorded for it (moved or
 *   changed, hashes recomputed); a record a checkpoint lists that is gone is `missing`.
 */
export type TrailCheck = 'missing' | 'content' | 'hash' | 'link' | 'head' | 'checkpoint';

export interface TrailBreak {
  /** The first altered or missing record. */
  sequence: number;
  check: TrailCheck;
  /** A sentence for people, naming the record and what is wrong with it. */
  problem: string;
}

/** `checkpoint`: from the newest signed checkpoint the trail matches; `full`: from the genesis. */
export type TrailVerifyScope = 'checkpoint' | 'full';

export interface TrailVerification {
  valid: boolean;
  /** Records walked that passed every check before the first break (all of them when valid). */
  checked: number;
  head: TrailHead;
  firstBad?: TrailBreak;
  checkedAt: string;
  durationMs: number;
  scope?: TrailVerifyScope;
  /** The signed checkpoint the walk started from (records up to it were vouched for by it). */
  checkpoint?: { sequence: number; at: string; keyId: string };
  /** Records a signed checkpoint lists that are nowhere in the trail any more (the first 50). */
  missing?: { sequence: number; key: string }[];
  /** Sentences about the checkpoints themselves (rows deleted, rows not signed by the key). */
  notes?: string[];
}

/** The first problem of one record, given the sequence and hash it must follow. */
function checkRecord(record: ChainedRecord, after: ChainPosition): TrailBreak | undefined {
  const at = (sequence: number, check: TrailCheck, problem: string): TrailBreak => ({ sequence, check, problem });
  const expectedSequence = after.sequence + 1;
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
  if (record.prev_hash !== after.hash) {
    if (after.sequence === 0) return at(1, 'link', 'record #1 does not start from the genesis hash: it was rewritten');
    return at(
      after.sequence,
      'link',
      `record #${record.sequence} does not link to record #${after.sequence}: record #${after.sequence} was rewritten with recomputed hashes, or the link of record #${record.sequence} was changed`,
    );
  }
  return undefined;
}

export interface WalkResult {
  /** Records that passed every check before the first break. */
  checked: number;
  firstBad?: TrailBreak;
}

/**
 * Walks the records in (start.sequence, upTo] in batches; `upTo` is a head read before the walk
 * (records up to it were committed with it, so no snapshot is needed while appends go on).
 * `expectedLast` is the hash the last record must have (the head row's), when known.
 */
export async function walkTrail(
  store: Pick<TrailStore, 'range'>,
  start: ChainPosition,
  upTo: number,
  options: { batchSize?: number; expectedLast?: string } = {},
): Promise<WalkResult> {
  const walked = await walkChain(
    { read: (after, until, limit) => store.range(after, until, limit), check: checkRecord, positionOf: (record) => ({ sequence: record.sequence, hash: record.hash }) },
    start,
    upTo,
    options.batchSize ?? 500,
  );
  const { checked, last: position, problem } = walked;
  // A link break names the record before, which was counted as checked: it no longer is.
  if (problem) return { checked: problem.check === 'link' && checked > 0 ? checked - 1 : checked, firstBad: problem };

  if (position.sequence < upTo) {
    const first = position.sequence + 1;
    return {
      checked,
      firstBad: {
        sequence: first,
        check: 'missing',
        problem:
          first === upTo
            ? `record #${first}, the last one, is missing (deleted?)`
            : `records #${first} to #${upTo} are missing from the end of the trail (deleted?)`,
      },
    };
  }
  if (options.expectedLast !== undefined && position.hash !== options.expectedLast) {
    if (position.sequence === 0) {
      return { checked: 0, firstBad: { sequence: 0, check: 'head', problem: 'the head of the empty trail does not hold the genesis hash: it was altered' } };
    }
    return {
      checked: Math.max(0, checked - 1),
      firstBad: {
        sequence: position.sequence,
        check: 'head',
        problem: `record #${position.sequence}, the last one, does not match the hash recorded for it: it was rewritten with recomputed hashes`,
      },
    };
  }
  return { checked };
}

export interface VerifyTrailOptions {
  batchSize?: number;
  scope?: TrailVerifyScope;
  /** Checks the trail against its signed checkpoints first (absent: no checkpoints kept). */
  checkpoints?: () => Promise<CheckpointCheck>;
}

/** Verifies the trail: against the signed checkpoints when there are any, then by walking it. */
export async function verifyTrail(store: Pick<TrailStore, 'head' | 'range'>, options: VerifyTrailOptions = {}): Promise<TrailVerification> {
  const started = performance.now();
  const scope = options.scope ?? 'full';
  const checked = options.checkpoints ? await options.checkpoints() : undefined;
  const head = await store.head();
  const anchor = checked?.anchor;
  const extras = {
    scope,
    ...(anchor ? { checkpoint: { sequence: anchor.sequence, at: anchor.at, keyId: anchor.key_id } } : {}),
    ...(checked && checked.notes.length > 0 ? { notes: checked.notes } : {}),
  };
  const finish = (walked: WalkResult): TrailVerification => ({
    valid: walked.firstBad === undefined,
    checked: walked.checked,
    head,
    ...(walked.firstBad ? { firstBad: walked.firstBad } : {}),
    checkedAt: new Date().toISOString(),
    durationMs: performance.now() - started,
    ...extras,
  });

  if (checked?.breach) {
    const { breach } = checked;
    return {
      ...finish({ checked: 0, firstBad: { sequence: breach.sequence, check: breach.check, problem: breach.problem } }),
      missing: breach.missing.map((entry) => ({ sequence: entry.sequence, key: entry.id })),
    };
  }
  // A checkpoint the head has not reached means records were removed from the end.
  if (anchor && anchor.sequence > head.sequence) {
    return finish({
      checked: 0,
      firstBad: { sequence: head.sequence + 1, check: 'missing', problem: `records #${head.sequence + 1} to #${anchor.sequence}, covered by the signed checkpoint of ${anchor.at}, are missing (deleted?)` },
    });
  }
  const start = scope === 'checkpoint' && anchor ? { sequence: anchor.sequence, hash: anchor.hash } : { sequence: 0, hash: trailGenesisHash() };
  return finish(await walkTrail(store, start, head.sequence, { ...(options.batchSize ? { batchSize: options.batchSize } : {}), expectedLast: head.hash }));
}
