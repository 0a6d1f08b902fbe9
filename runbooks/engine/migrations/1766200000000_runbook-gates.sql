-- Up Migration

-- One row per approval request a gate step opened (engine/gate-step.ts): the step finds the same
-- request again after a takeover, and `run pass`, once approved, records the pass here. A retry
-- after a denial opens a new request: the latest row of a (run, step) is the one that counts.
CREATE TABLE runbook_gates (
  run_id      uuid NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
  step_id     text NOT NULL,
  request_id  text NOT NULL,
  opened_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  passed_at   timestamptz,
  PRIMARY KEY (run_id, step_id, request_id)
);
CREATE INDEX runbook_gates_latest ON runbook_gates (run_id, step_id, opened_at DESC);
