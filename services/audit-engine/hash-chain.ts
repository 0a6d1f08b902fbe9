/**
 * The Audit Engine's chain (documented in this service's README): the shared recipe and tables of
 * services/kit/hash-chain/ with the engine's names, genesis and content.
 *
 *   content_hash    = sha256_hex(RFC 8785 canonical JSON of the event content below)
 *   chain_hash      = sha256_hex(prev_chain_hash + content_hash)
 *   prev_chain_hash = chain_hash of the previous event; for the first event the genesis,
 *                     sha256_hex("acgs-audit-genesis:" + constitutional hash)
 *
 * Every stored field except the three hashes is content, absent optional fields as null, so
 * altering any column of a stored event is detected.
 */
import { canonicalContentWriter, genesisHash, sha256Hex } from '../kit/hash-chain/chain-recipe.js';
import type { HashChainTables } from '../kit/hash-chain/chain-schema.js';

export { chainHash } from '../kit/hash-chain/chain-recipe.js';

export const AUDIT_CHAIN_TABLES: HashChainTables = {
  records: 'audit_events',
  head: 'audit_chain_head',
  checkpoints: 'audit_chain_checkpoints',
  hashColumn: 'chain_hash',
  recordNoun: 'event',
};

export interface EventContent {
  id: string;
  sequence: number;
  event_type: string;
  source: string | null;
  agent_id: string | null;
  severity: string | null;
  /** ISO 8601 in UTC with milliseconds, as `Date.prototype.toISOString` writes it. */
  occurred_at: string;
  recorded_at: string;
  idempotency_key: string | null;
  data: Record<string, unknown> | null;
  constitutional_hash: string;
}

export const GENESIS_PREFIX = 'acgs-audit-genesis:';

export function genesisChainHash(constitutionalHash?: string): string {
  return genesisHash(GENESIS_PREFIX, constitutionalHash);
}

/** Only the content fields, in case the caller passes a whole stored row. */
export function eventContent(event: EventContent): EventContent {
  return {
    id: event.id,
    sequence: event.sequence,
    event_type: event.event_type,
    source: event.source,
    agent_id: event.agent_id,
    severity: event.severity,
    occurred_at: event.occurred_at,
    recorded_at: event.recorded_at,
    idempotency_key: event.idempotency_key,
    data: event.data,
    constitutional_hash: event.constitutional_hash,
  };
}

/** The canonical JSON of `eventContent(event)`, written straight from the event. */
export const canonicalContent = canonicalContentWriter<EventContent>(Object.keys(eventContent({} as EventContent)) as (keyof EventContent)[]);

export function contentHash(event: EventContent): string {
  return sha256Hex(canonicalContent(event));
}
