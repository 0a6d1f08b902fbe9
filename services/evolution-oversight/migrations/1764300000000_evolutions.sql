-- Up Migration

CREATE TABLE evolutions (
  id uuid PRIMARY KEY,
  -- Insertion order, so that "newest first" is stable even within one clock tick.
  seq bigserial NOT NULL UNIQUE,
  agent_id text NOT NULL,
  trust_level double precision NOT NULL CHECK (trust_level BETWEEN 0 AND 1),
  change_description text NOT NULL,
  new_version text NOT NULL,
  requester_id text NOT NULL,
  priority text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  privilege_escalation boolean NOT NULL,
  external_dependencies boolean NOT NULL,
  experimental_features boolean NOT NULL,
  rollback_plan text,
  status text NOT NULL CHECK (status IN ('auto_approved', 'fast_track', 'human_review', 'approved', 'rejected', 'rolled_back')),
  -- The Policy Engine's decision as it was given (allow, score, reasons, violations, evolution).
  policy_decision jsonb NOT NULL,
  risk_score double precision,
  risk_factors text[] NOT NULL DEFAULT '{}',
  reviewer_id text,
  review_justification text,
  reviewed_at timestamptz,
  rolled_back_by text,
  rollback_reason text,
  rolled_back_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX evolutions_status_seq_idx ON evolutions (status, seq DESC);
CREATE INDEX evolutions_agent_seq_idx ON evolutions (agent_id, seq DESC);

CREATE TABLE evolution_transitions (
  id uuid PRIMARY KEY,
  evolution_id uuid NOT NULL REFERENCES evolutions (id),
  seq bigserial NOT NULL UNIQUE,
  transition text NOT NULL CHECK (transition IN ('created', 'approved', 'rejected', 'rolled_back')),
  from_status text,
  to_status text NOT NULL,
  actor_id text NOT NULL,
  justification text,
  occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Set once the audit event is in the durable outbox; rows still NULL at start-up are re-sent.
  audit_recorded_at timestamptz
);

CREATE INDEX evolution_transitions_evolution_idx ON evolution_transitions (evolution_id, seq);
CREATE INDEX evolution_transitions_unrecorded_idx ON evolution_transitions (seq) WHERE audit_recorded_at IS NULL;

-- Down Migration

DROP TABLE evolution_transitions;
DROP TABLE evolutions;
