/**
 * The hash recipe of the bot's trail (README.md in this folder), built from the Audit Engine's
 * primitives so that both chains hash the same way:
 *
 *   content_hash = sha256_hex(RFC 8785 canonical JSON of the record's content: every column but
 *                  the three hashes, absent values as null, level as its number)
 *   hash         = sha256_hex(prev_hash + content_hash)
 *   prev_hash    = hash of the record before; for record 1 the genesis,
 *                  sha256_hex("acgs-bot-audit-genesis:" + constitutional hash)
 */
import { canonicalJson } from '../../services/audit-engine/canonical-json.js';
import { chainHash, sha256Hex } from '../../services/audit-engine/hash-chain.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import type { PendingRecord } from './trail-record.js';

/** Not the Audit Engine's genesis: a record can never be moved from one chain to the other. */
export const TRAIL_GENESIS_PREFIX = 'acgs-bot-audit-genesis:';

export function trailGenesisHash(): string {
  return sha256Hex(TRAIL_GENESIS_PREFIX + CONSTITUTIONAL_HASH);
}

/** Everything that is hashed: the pending record plus where and when it joined the chain. */
export interface TrailContent extends PendingRecord {
  sequence: number;
  recorded_at: string;
  constitutional_hash: string;
}

/** A record as it sits in the table. */
export interface ChainedRecord extends TrailContent {
  content_hash: string;
  prev_hash: string;
  hash: string;
}

export function trailContentHash(content: TrailContent): string {
  // Only the content columns, whatever else the object carries (a whole stored row, say).
  const hashed = {
    sequence: content.sequence,
    idempotency_key: content.idempotency_key,
    at: content.at,
    recorded_at: content.recorded_at,
    kind: content.kind,
    actor: content.actor,
    origin: content.origin,
    channel: content.channel,
    command: content.command,
    arguments: content.arguments ?? null,
    decision: content.decision,
    level: content.level,
    outcome: content.outcome,
    details: content.details,
    constitutional_hash: content.constitutional_hash,
  };
  return sha256Hex(canonicalJson(hashed));
}

/** Lays records onto the chain after the head, in the order given. */
export function chainRecords(
  head: { sequence: number; hash: string },
  records: readonly PendingRecord[],
  recordedAt: string,
): ChainedRecord[] {
  let { sequence, hash: prev } = head;
  return records.map((record) => {
    sequence += 1;
    const content: TrailContent = { ...record, sequence, recorded_at: recordedAt, constitutional_hash: CONSTITUTIONAL_HASH };
    const contentHash = trailContentHash(content);
    const chained: ChainedRecord = { ...content, content_hash: contentHash, prev_hash: prev, hash: chainHash(prev, contentHash) };
    prev = chained.hash;
    return chained;
  });
}

export { chainHash as trailChainHash };
