/**
 * The bot's own append-only, hash-chained audit trail (README.md in this folder). The bot computes
 * the hashes (trail-chain.ts); the database keeps the order and refuses to change history (the
 * triggers shared with the Audit Engine, services/kit/hash-chain/chain-schema.ts).
 *
 * A .sql file until that SQL was shared: node-pg-migrate knows a migration by its name without
 * the extension, so a database that ran the .sql has run this.
 */
import { chainTablesMigration } from '../../../services/kit/hash-chain/chain-schema.js';
import { TRAIL_TABLES } from '../trail-chain.js';

export const { up, down } = chainTablesMigration(
  TRAIL_TABLES,
  `
CREATE TABLE bot_audit_trail (
  sequence            bigint PRIMARY KEY CONSTRAINT bot_audit_trail_sequence_positive CHECK (sequence > 0),
  idempotency_key     text NOT NULL CONSTRAINT bot_audit_trail_idempotency_key_unique UNIQUE,
  at                  timestamptz NOT NULL,
  recorded_at         timestamptz NOT NULL,
  kind                text NOT NULL CONSTRAINT bot_audit_trail_kind_slug CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
  actor               text,
  origin              text,
  channel             text,
  command             text,
  arguments           jsonb,
  decision            text,
  level               smallint CONSTRAINT bot_audit_trail_level_range CHECK (level BETWEEN 0 AND 4),
  outcome             text,
  details             jsonb,
  constitutional_hash text NOT NULL,
  content_hash        text NOT NULL,
  prev_hash           text NOT NULL,
  hash                text NOT NULL
);

-- /acgs audit --user, --command, --since: newest first.
CREATE INDEX bot_audit_trail_actor_sequence ON bot_audit_trail (actor, sequence DESC) WHERE actor IS NOT NULL;
CREATE INDEX bot_audit_trail_command_sequence ON bot_audit_trail (command, sequence DESC) WHERE command IS NOT NULL;
CREATE INDEX bot_audit_trail_at ON bot_audit_trail (at);
`,
);
