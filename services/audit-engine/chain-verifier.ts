import type pg from 'pg';
import type { CheckpointCheck } from './checkpoint-ledger.js';
import type { BrokenEvent, ChainHead, VerifyResponse, VerifyScope } from './contract.js';
import { EVENT_COLUMNS, type EventRow, type StoredEvent, rowToStoredEvent } from './event-rows.js';
import { chainHash, contentHash, genesisChainHash } from './hash-chain.js';
import { type ChainPosition, walkChain } from '../kit/hash-chain/chain-head.js';
import type { ChainQuery } from '../kit/hash-chain/chain-query.js';
import { createSharedVerification } from '../kit/hash-chain/shared-verification.js';

export interface VerifyOptions {
  /** Rows per query: the walk holds one batch in memory, never the whole chain. */
  batchSize: number;
}

/** The first check an event fails, in the order that best explains the break; undefined if none. */
export function checkEvent(event: StoredEvent, expectedSequence: number, expectedPrev: string): BrokenEvent | undefined {
  const broken = (check: BrokenEvent['check'], expected: string, stored: string, message: string): BrokenEvent => ({
    id: event.id,
    sequence: event.sequence,
    check,
    expected,
    stored,
    message,
  });
  if (event.sequence !== expectedSequence) {
    const missing = event.sequence > expectedSequence
      ? `events ${expectedSequence}..${event.sequence - 1} are missing (deleted?)`
      : `sequence ${event.sequence} appears out of order`;
    return broken('sequence', String(expectedSequence), String(event.sequence), `${missing} before event ${event.id}`);
  }
  if (event.prev_chain_hash !== expectedPrev) {
    return broken(
      'prev_chain_hash',
      expectedPrev,
      event.prev_chain_hash,
      `event ${event.id} does not link to the chain hash of the event before it (that event or this link was altered)`,
    );
  }
  const recomputedContent = contentHash(event);
  if (event.content_hash !== recomputedContent) {
    return broken('content_hash', recomputedContent, event.content_hash, `the content of event ${event.id} was altered after it was stored`);
  }
  const recomputedChain = chainHash(event.prev_chain_hash, event.content_hash);
  if (event.chain_hash !== recomputedChain) {
    return broken('chain_hash', recomputedChain, event.chain_hash, `the chain hash of event ${event.id} was altered after it was stored`);
  }
  return undefined;
}

/**
 * Walks the events in (start.sequence, upTo] in batches, recomputing every content and chain
 * hash; the first broken event, or undefined, and how many passed.
 */
export async function walkEvents(
  pool: ChainQuery,
  start: ChainPosition,
  upTo: number,
  batchSize: number,
): Promise<{ checked: number; last: ChainPosition; broken?: BrokenEvent }> {
  const walked = await walkChain(
    {
      read: async (after, until, limit) =>
        (
          await pool.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3`,
            [after, until, limit],
          )
        ).rows.map(rowToStoredEvent),
      check: (event: StoredEvent, after) => checkEvent(event, after.sequence + 1, after.hash),
      positionOf: (event) => ({ sequence: event.sequence, hash: event.chain_hash }),
    },
    start,
    upTo,
    batchSize,
  );
  return { checked: walked.checked, last: walked.last, ...(walked.problem ? { broken: walked.problem } : {}) };
}

export interface VerifyRun {
  scope: VerifyScope;
  /** Compares the chain with its signed checkpoints first (absent: none are kept). */
  checkpoints?: () => Promise<CheckpointCheck>;
}

/**
 * Verifies the chain up to the head that was current when the walk began: against the signed
 * checkpoints when there are any, then by walking from the genesis (`full`) or from the newest
 * checkpoint the chain still matches (`checkpoint`). Rows up to that head were committed together
 * with it, so no snapshot transaction is needed while appends go on. `pool` is the live pool, or
 * a restored copy that `backup verify` reads (runbooks/backup/restored-chains.ts).
 */
export async function verifyChain(pool: ChainQuery, options: VerifyOptions, run: VerifyRun = { scope: 'full' }): Promise<VerifyResponse> {
  const started = Date.now();
  const readHead = async (): Promise<ChainHead> => {
    const headRow = (await pool.query<{ sequence: string; chain_hash: string }>('SELECT sequence, chain_hash FROM audit_chain_head WHERE id = 1')).rows[0];
    return headRow ? { sequence: Number(headRow.sequence), chain_hash: headRow.chain_hash } : { sequence: 0, chain_hash: genesisChainHash() };
  };
  // The head first: a caller that joins this run asked about the chain as it was when the run began.
  let head = await readHead();
  const checked = run.checkpoints ? await run.checkpoints() : undefined;
  const anchor = checked?.anchor;
  // A checkpoint signed meanwhile is past the head read above: the head has moved on since.
  if (anchor && anchor.sequence > head.sequence) head = await readHead();
  const finish = (count: number, firstBroken?: BrokenEvent, extra: Partial<VerifyResponse> = {}): VerifyResponse => ({
    valid: firstBroken === undefined,
    events_checked: count,
    head,
    ...(firstBroken ? { first_broken: firstBroken } : {}),
    checked_at: new Date().toISOString(),
    duration_ms: Date.now() - started,
    scope: run.scope,
    ...(anchor ? { checkpoint: { sequence: anchor.sequence, at: anchor.at, key_id: anchor.key_id } } : {}),
    ...(checked && checked.notes.length > 0 ? { notes: checked.notes } : {}),
    ...extra,
  });

  if (checked?.breach) {
    const { breach } = checked;
    return finish(
      0,
      {
        id: breach.id ?? null,
        sequence: breach.sequence,
        check: breach.check,
        expected: `as signed in the checkpoint of ${breach.checkpoint.at} (#${breach.checkpoint.sequence})`,
        stored: breach.check === 'missing' ? 'absent' : 'different',
        message: breach.problem,
      },
      { missing: breach.missing.map((entry) => ({ sequence: entry.sequence, id: entry.id })) },
    );
  }

  const start = run.scope === 'checkpoint' && anchor ? { sequence: anchor.sequence, hash: anchor.hash } : { sequence: 0, hash: genesisChainHash() };
  const walked = await walkEvents(pool, start, head.sequence, options.batchSize);
  if (walked.broken) return finish(walked.checked, walked.broken);
  const { sequence: lastSequence, hash: expectedPrev } = walked.last;
  if (lastSequence !== head.sequence || expectedPrev !== head.chain_hash) {
    return finish(walked.checked, {
      id: null,
      sequence: lastSequence + 1,
      check: 'head',
      expected: `sequence ${head.sequence}, chain_hash ${head.chain_hash}`,
      stored: `sequence ${lastSequence}, chain_hash ${expectedPrev}`,
      message:
        lastSequence < head.sequence
          ? `events ${lastSequence + 1}..${head.sequence} are missing from the end of the chain (deleted?)`
          : 'the last event does not match the recorded chain head',
    });
  }
  return finish(walked.checked);
}

export interface ChainVerifier {
  /** Runs a verification (`full` by default); concurrent callers of a scope share the walk that is already running. */
  run(scope?: VerifyScope): Promise<VerifyResponse>;
  /** The result of the last completed run, for health; null before the first. */
  last(): VerifyResponse | null;
}

export function createChainVerifier(
  pool: pg.Pool,
  options: VerifyOptions & { onResult?(result: VerifyResponse | Error): void; checkpoints?: () => Promise<CheckpointCheck> },
): ChainVerifier {
  let last: VerifyResponse | null = null;
  const runs = createSharedVerification<VerifyResponse, BrokenEvent>({
    verify: (scope) => verifyChain(pool, options, { scope, ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}) }),
    headSequence: async () => Number((await pool.query<{ sequence: string }>('SELECT sequence FROM audit_chain_head WHERE id = 1')).rows[0]?.sequence ?? 0),
    headOf: (result) => result.head.sequence,
    breakOf: (result) => result.first_broken,
    checkedAt: (result) => result.checked_at,
    withBreak: (result, broken, note) => ({ ...result, valid: false, first_broken: broken, notes: [...(result.notes ?? []), note] }),
    onResult(_scope, result) {
      if (!(result instanceof Error)) last = result;
      options.onResult?.(result);
    },
  });
  return { run: (scope = 'full') => runs.run(scope), last: () => last };
}
