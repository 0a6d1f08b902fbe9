import type { AuditEvent } from './contract.js';
import type { EventContent } from './hash-chain.js';

/** An event as stored: its content and its three hashes, absent fields as null. */
export interface StoredEvent extends EventContent {
  content_hash: string;
  prev_chain_hash: string;
  chain_hash: string;
}

/** A row of `audit_events` as `pg` returns it. */
export interface EventRow {
  id: string;
  sequence: string;
  event_type: string;
  source: string | null;
  agent_id: string | null;
  severity: string | null;
  occurred_at: Date;
  recorded_at: Date;
  idempotency_key: string | null;
  data: Record<string, unknown> | null;
  constitutional_hash: string;
  content_hash: string;
  prev_chain_hash: string;
  chain_hash: string;
}

export const EVENT_COLUMNS =
  'id, sequence, event_type, source, agent_id, severity, occurred_at, recorded_at, idempotency_key, data, constitutional_hash, content_hash, prev_chain_hash, chain_hash';

export function rowToStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    sequence: Number(row.sequence),
    event_type: row.event_type,
    source: row.source,
    agent_id: row.agent_id,
    severity: row.severity,
    occurred_at: row.occurred_at.toISOString(),
    recorded_at: row.recorded_at.toISOString(),
    idempotency_key: row.idempotency_key,
    data: row.data,
    constitutional_hash: row.constitutional_hash,
    content_hash: row.content_hash,
    prev_chain_hash: row.prev_chain_hash,
    chain_hash: row.chain_hash,
  };
}

/** The wire form: absent optional fields are left out rather than sent as null. */
export function toAuditEvent(event: StoredEvent): AuditEvent {
  return {
    id: event.id,
    sequence: event.sequence,
    event_type: event.event_type,
    ...(event.source === null ? {} : { source: event.source }),
    ...(event.agent_id === null ? {} : { agent_id: event.agent_id }),
    ...(event.severity === null ? {} : { severity: event.severity as NonNullable<AuditEvent['severity']> }),
    occurred_at: event.occurred_at,
    recorded_at: event.recorded_at,
    ...(event.idempotency_key === null ? {} : { idempotency_key: event.idempotency_key }),
    ...(event.data === null ? {} : { data: event.data }),
    constitutional_hash: event.constitutional_hash,
    content_hash: event.content_hash,
    prev_chain_hash: event.prev_chain_hash,
    chain_hash: event.chain_hash,
  };
}
