-- Up Migration

-- Append-only, hash-chained audit events. The hashes are computed by the engine (hash-chain.ts);
-- the database keeps the order (sequence) and refuses to change history (triggers below).
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

-- One row: the last appended event. Appenders lock it (SELECT ... FOR UPDATE), which serializes
-- them across processes, and it lets verify notice events deleted from the end of the chain.
CREATE TABLE audit_chain_head (
  id         smallint PRIMARY KEY DEFAULT 1 CONSTRAINT audit_chain_head_single_row CHECK (id = 1),
  sequence   bigint NOT NULL,
  chain_hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit events are never changed or removed; append a correcting event instead.';
END;
$$;

CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change();

CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();

CREATE FUNCTION audit_chain_head_only_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.sequence <= OLD.sequence THEN
    RAISE EXCEPTION 'audit_chain_head only moves forward: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_chain_head_forward_only
  BEFORE UPDATE OR DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_only_forward();

CREATE TRIGGER audit_chain_head_no_truncate
  BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_only_forward();

-- Down Migration

DROP TABLE audit_chain_head;
DROP TABLE audit_events;
DROP FUNCTION audit_chain_head_only_forward();
DROP FUNCTION audit_events_reject_change();
