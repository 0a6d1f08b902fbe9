-- Up Migration

-- Signed checkpoints of the chain (checkpoint-ledger.ts): the head (sequence, chain hash, time)
-- signed with an Ed25519 key kept outside the database, and the (sequence, id, chain hash) of
-- every event since the checkpoint before. Whoever owns the tables can rewrite events and
-- recompute the hashes, but not sign a matching checkpoint.
CREATE TABLE audit_chain_checkpoints (
  sequence   bigint PRIMARY KEY CONSTRAINT audit_chain_checkpoints_sequence_positive CHECK (sequence > 0),
  checkpoint jsonb NOT NULL,
  records    jsonb NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER audit_chain_checkpoints_append_only
  BEFORE UPDATE OR DELETE ON audit_chain_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change();

CREATE TRIGGER audit_chain_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_chain_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();

-- Down Migration

DROP TABLE audit_chain_checkpoints;
