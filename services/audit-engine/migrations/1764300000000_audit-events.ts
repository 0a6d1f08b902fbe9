/**
 * Append-only, hash-chained audit events. The hashes are computed by the engine (hash-chain.ts);
 * the database keeps the order (sequence) and refuses to change history (the triggers shared with
 * the bot's trail, services/kit/hash-chain/chain-schema.ts).
 *
 * A .sql file until that SQL was shared: node-pg-migrate knows a migration by its name without
 * the extension, so a database that ran the .sql has run this.
 */
import { chainTablesMigration } from '../../kit/hash-chain/chain-schema.js';
import { AUDIT_CHAIN_TABLES } from '../hash-chain.js';

export const { up, down } = chainTablesMigration(
  AUDIT_CHAIN_TABLES,
  `
CREATE TABLE audit_events (
  id                  uuid PRIMARY KEY,
  sequence            bigint NOT NULL CONSTRAINT audit_events_sequence_positive CHECK (sequence > 0),
  event_type          text NOT NULL,
  source              text,
  agent_id            text,
  severity            text,
  occurred_at         timestamptz NOT NULL,
  recorded_at         timestamptz NOT NULL,
  idempotency_key     text,
  data                jsonb,
  constitutional_hash text NOT NULL,
  content_hash        text NOT NULL,
  prev_chain_hash     text NOT NULL,
  chain_hash          text NOT NULL,
  CONSTRAINT audit_events_sequence_unique UNIQUE (sequence),
  CONSTRAINT audit_events_idempotency_key_unique UNIQUE (idempotency_key)
);

-- Listing is newest first, optionally filtered by one of these columns.
CREATE INDEX audit_events_event_type_sequence ON audit_events (event_type, sequence DESC);
CREATE INDEX audit_events_agent_id_sequence ON audit_events (agent_id, sequence DESC) WHERE agent_id IS NOT NULL;
CREATE INDEX audit_events_source_sequence ON audit_events (source, sequence DESC) WHERE source IS NOT NULL;
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
`,
);
