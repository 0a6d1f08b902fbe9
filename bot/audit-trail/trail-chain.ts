/**
 * The bot trail's chain (README.md in this folder): the recipe and tables shared with the Audit
 * Engine (services/kit/hash-chain/) with the trail's names, genesis and content:
 *
 *   content_hash = sha256_hex(RFC 8785 canonical JSON of the record's content: every column but
 *                  the three hashes, absent values as null, level as its number)
 *   hash         = sha256_hex(prev_hash + content_hash)
 *   prev_hash    = hash of the record before; for record 1 the genesis,
 *                  sha256_hex("acgs-bot-audit-genesis:" + constitutional hash)
 */
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { canonicalContentWriter, chainHash, genesisHash, sha256Hex } from '../../services/kit/hash-chain/chain-recipe.js';
import type { HashChainTables } from '../../services/kit/hash-chain/chain-schema.js';
import type { PendingRecord } from './trail-record.js';

export const TRAIL_TABLES: HashChainTables = {
  records: 'bot_audit_trail',
  head: 'bot_audit_trail_head',
  checkpoints: 'bot_audit_trail_checkpoints',
  hashColumn: 'hash',
  recordNoun: 'record',
};

/** Not the Audit Engine's genesis: a record can never be moved from one chain to the other. */
export const TRAIL_GENESIS_PREFIX = 'acgs-bot-audit-genesis:';

export function trailGenesisHash(): string {
  return genesisHash(TRAIL_GENESIS_PREFIX);
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

// Only the content columns, whatever else the object carries (a whole stored row, say).
const writeContent = canonicalContentWriter<TrailContent>([
  'sequence',
  'idempotency_key',
  'at',
  'recorded_at',
  'kind',
  'actor',
  'origin',
  'channel',
  'command',
  'arguments',
  'decision',
  'level',
  'outcome',
  'details',
  'constitutional_hash',
]);

export function trailContentHash(content: TrailContent): string {
  // Absent arguments are hashed as null, like the column reads back.
  return sha256Hex(writeContent(content.arguments === undefined ? { ...content, arguments: null } : content));
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
