import { hash } from 'node:crypto';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { canonicalJson } from './canonical-json.js';

/**
 * The hash recipe of the audit chain (documented in this service's README):
 *
 *   content_hash    = sha256_hex(RFC 8785 canonical JSON of the event content below, as the
 *                     package canonicalize writes it; canonical-json.ts does the same, faster)
 *   chain_hash      = sha256_hex(prev_chain_hash + content_hash)   (the two hex strings joined)
 *   prev_chain_hash = chain_hash of the previous event; for the first event the genesis,
 *                     sha256_hex("acgs-audit-genesis:" + constitutional hash)
 *
 * Every stored field except the three hashes is content, absent optional fields as null, so
 * altering any column of a stored event is detected.
 */
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

export function sha256Hex(text: string): string {
  // The one-shot form: about twice as fast as createHash() for short inputs, on the append path.
  return hash('sha256', text, 'hex');
}

export function genesisChainHash(constitutionalHash: string = CONSTITUTIONAL_HASH): string {
  return sha256Hex(GENESIS_PREFIX + constitutionalHash);
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

/** The content keys in canonical (sorted) order, each with its `"key":` prefix written once. */
const CONTENT_MEMBERS = (Object.keys(eventContent({} as EventContent)) as (keyof EventContent)[])
  .sort()
  .map((key) => [key, `${JSON.stringify(key)}:`] as const);

/**
 * The canonical JSON of `eventContent(event)`, written straight from the event: the top-level
 * keys are fixed, so they are sorted once rather than copied and sorted for every event.
 */
export function canonicalContent(event: EventContent): string {
  let members = '';
  for (const [key, prefix] of CONTENT_MEMBERS) {
    const value = event[key];
    if (value === undefined) continue;
    if (members.length > 0) members += ',';
    members += prefix + canonicalJson(value);
  }
  return `{${members}}`;
}

export function contentHash(event: EventContent): string {
  return sha256Hex(canonicalContent(event));
}

export function chainHash(prevChainHash: string, eventContentHash: string): string {
  return sha256Hex(prevChainHash + eventContentHash);
}
