-- Up Migration

-- Signed checkpoints of the trail (trail-checkpoints.ts, services/audit-engine/checkpoint-ledger.ts):
-- the head (sequence, hash, time) signed with an Ed25519 key kept outside the database, and the
-- (sequence, key, hash) of every record since the checkpoint before. Whoever owns the tables can
-- rewrite records and recompute the hashes, but not sign a matching checkpoint.
CREATE TABLE bot_audit_trail_checkpoints (
  sequence   bigint PRIMARY KEY CONSTRAINT bot_audit_trail_checkpoints_sequence_positive CHECK (sequence > 0),
  checkpoint jsonb NOT NULL,
  records    jsonb NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER bot_audit_trail_checkpoints_append_only
  BEFORE UPDATE OR DELETE ON bot_audit_trail_checkpoints
  FOR EACH ROW EXECUTE FUNCTION bot_audit_trail_reject_change();

CREATE TRIGGER bot_audit_trail_checkpoints_no_truncate
  BEFORE TRUNCATE ON bot_audit_trail_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION bot_audit_trail_reject_change();

-- Down Migration

DROP TABLE bot_audit_trail_checkpoints;
