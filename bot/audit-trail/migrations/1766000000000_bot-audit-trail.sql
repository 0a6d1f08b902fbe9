-- Up Migration

-- The bot's own append-only, hash-chained audit trail (bot/audit-trail/README.md). The bot
-- computes the hashes (trail-chain.ts); the database keeps the order and refuses to change history.
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

-- `/acgs audit --user`, `--command`, `--since`: newest first.
CREATE INDEX bot_audit_trail_actor_sequence ON bot_audit_trail (actor, sequence DESC) WHERE actor IS NOT NULL;
CREATE INDEX bot_audit_trail_command_sequence ON bot_audit_trail (command, sequence DESC) WHERE command IS NOT NULL;
CREATE INDEX bot_audit_trail_at ON bot_audit_trail (at);

-- One row: the last record. Writers lock it (SELECT ... FOR UPDATE), which makes them take turns
-- across processes and replicas, and verify uses it to notice records deleted from the end.
CREATE TABLE bot_audit_trail_head (
  id         smallint PRIMARY KEY DEFAULT 1 CONSTRAINT bot_audit_trail_head_single_row CHECK (id = 1),
  sequence   bigint NOT NULL,
  hash       text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION bot_audit_trail_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'bot_audit_trail is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit records are never changed or removed; append a correcting record instead.';
END;
$$;

CREATE TRIGGER bot_audit_trail_append_only
  BEFORE UPDATE OR DELETE ON bot_audit_trail
  FOR EACH ROW EXECUTE FUNCTION bot_audit_trail_reject_change();

CREATE TRIGGER bot_audit_trail_no_truncate
  BEFORE TRUNCATE ON bot_audit_trail
  FOR EACH STATEMENT EXECUTE FUNCTION bot_audit_trail_reject_change();

CREATE FUNCTION bot_audit_trail_head_only_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.sequence <= OLD.sequence THEN
    RAISE EXCEPTION 'bot_audit_trail_head only moves forward: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER bot_audit_trail_head_forward_only
  BEFORE UPDATE OR DELETE ON bot_audit_trail_head
  FOR EACH ROW EXECUTE FUNCTION bot_audit_trail_head_only_forward();

CREATE TRIGGER bot_audit_trail_head_no_truncate
  BEFORE TRUNCATE ON bot_audit_trail_head
  FOR EACH STATEMENT EXECUTE FUNCTION bot_audit_trail_head_only_forward();

-- Down Migration

DROP TABLE bot_audit_trail_head;
DROP TABLE bot_audit_trail;
DROP FUNCTION bot_audit_trail_head_only_forward();
DROP FUNCTION bot_audit_trail_reject_change();
