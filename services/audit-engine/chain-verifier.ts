import type pg from 'pg';
import type { BrokenEvent, ChainHead, VerifyResponse } from './contract.js';
import { EVENT_COLUMNS, type EventRow, type StoredEvent, rowToStoredEvent } from './event-rows.js';
import { chainHash, contentHash, genesisChainHash } from './hash-chain.js';

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
 * Walks the chain from the genesis up to the head that was current when the walk began, in
 * keyset-paginated batches, recomputing every content and chain hash. Rows up to that head were
 * committed together with it, so no snapshot transaction is needed while appends go on.
 */
export async function verifyChain(pool: pg.Pool, options: VerifyOptions): Promise<VerifyResponse> {
  const started = Date.now();
  const headResult = await pool.query<{ sequence: string; chain_hash: string }>(
    'SELECT sequence, chain_hash FROM audit_chain_head WHERE id = 1',
  );
  const headRow = headResult.rows[0];
  const head: ChainHead = headRow
    ? { sequence: Number(headRow.sequence), chain_hash: headRow.chain_hash }
    : { sequence: 0, chain_hash: genesisChainHash() };
  const finish = (checked: number, firstBroken?: BrokenEvent): VerifyResponse => ({
    valid: firstBroken === undefined,
    events_checked: checked,
    head,
    ...(firstBroken ? { first_broken: firstBroken } : {}),
    checked_at: new Date().toISOString(),
    duration_ms: Date.now() - started,
  });

  let expectedPrev = genesisChainHash();
  let lastSequence = 0;
  let checked = 0;
  for (;;) {
    const batch = await pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3`,
      [lastSequence, head.sequence, options.batchSize],
    );
    for (const row of batch.rows) {
      const event = rowToStoredEvent(row);
      const broken = checkEvent(event, lastSequence + 1, expectedPrev);
      if (broken) return finish(checked, broken);
      checked += 1;
      lastSequence = event.sequence;
      expectedPrev = event.chain_hash;
    }
    if (batch.rows.length < options.batchSize) break;
  }

  if (lastSequence !== head.sequence || expectedPrev !== head.chain_hash) {
    return finish(checked, {
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
  return finish(checked);
}

export interface ChainVerifier {
  /** Runs a verification; concurrent callers share the walk that is already running. */
  run(): Promise<VerifyResponse>;
  /** The result of the last completed run, for health; null before the first. */
  last(): VerifyResponse | null;
}

export function createChainVerifier(
  pool: pg.Pool,
  options: VerifyOptions & { onResult?(result: VerifyResponse | Error): void },
): ChainVerifier {
  let running: Promise<VerifyResponse> | undefined;
  let last: VerifyResponse | null = null;
  return {
    run() {
      running ??= verifyChain(pool, options)
        .then((result) => {
          last = result;
          options.onResult?.(result);
          return result;
        })
        .catch((error: Error) => {
          options.onResult?.(error);
          throw error;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    last: () => last,
  };
}
