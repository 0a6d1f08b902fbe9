-- Up Migration

-- One row per run of a runbook. Whoever runs it holds the lease (lease_owner until
-- lease_expires_at, on the database's clock); every claim increments fencing_token, and every
-- write about the run names the token it was made under, so a runner that lost the run (it
-- stalled, its lease expired, another took over) cannot write any more.
CREATE TABLE runbook_runs (
  id               uuid PRIMARY KEY,
  runbook          text NOT NULL,
  version          text NOT NULL,
  args             jsonb NOT NULL,
  requester        text NOT NULL,
  origin           text NOT NULL,
  state            text NOT NULL CONSTRAINT runbook_runs_state CHECK (
    state IN ('pending', 'running', 'needs_decision', 'succeeded', 'failed', 'aborting', 'aborted')
  ),
  reason           text,
  -- What a person needs for a decision (the interrupted step, its attempt, who ran it), or the
  -- abort's report (what was undone, what had nothing to undo, what failed to undo).
  detail           jsonb,
  -- The last decision taken on the run (retry, skip, abort), until a runner acts on it.
  decision         text CONSTRAINT runbook_runs_decision CHECK (decision IN ('retry', 'skip', 'abort')),
  decided_by       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  lease_owner      text,
  lease_expires_at timestamptz,
  fencing_token    bigint NOT NULL DEFAULT 0,
  -- "running" always names its runner; whether that runner is alive is what the lease's expiry says.
  CONSTRAINT runbook_runs_running_is_leased CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- The runners' scan: runs nobody runs (pending, or a lease that expired).
CREATE INDEX runbook_runs_claimable ON runbook_runs (created_at) WHERE state IN ('pending', 'running', 'aborting');
CREATE INDEX runbook_runs_recent ON runbook_runs (created_at DESC);

-- One row per attempt of a step: running it, or (action = compensate) undoing it during an abort.
CREATE TABLE runbook_step_attempts (
  run_id          uuid NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
  step_index      integer NOT NULL,
  step_id         text NOT NULL,
  attempt         integer NOT NULL,
  action          text NOT NULL DEFAULT 'run' CONSTRAINT runbook_step_attempts_action CHECK (action IN ('run', 'compensate')),
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  outcome         text NOT NULL CONSTRAINT runbook_step_attempts_outcome CHECK (
    outcome IN ('running', 'done', 'failed', 'skipped', 'interrupted', 'compensated')
  ),
  output_summary  jsonb,
  error           text,
  owner           text NOT NULL,
  fencing_token   bigint NOT NULL,
  PRIMARY KEY (run_id, step_index, attempt)
);

-- Within one run, at most one attempt of anything is running at a time, whoever runs it: the
-- database itself refuses a second one, whatever a runner believes about its lease.
CREATE UNIQUE INDEX runbook_step_attempts_one_running ON runbook_step_attempts (run_id) WHERE outcome = 'running';
