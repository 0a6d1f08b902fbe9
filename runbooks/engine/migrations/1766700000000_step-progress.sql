-- Up Migration

-- What a running step last said about itself ({ "text": ..., "data": ... }) and when, written at
-- most every couple of seconds while it runs. It stays on the attempt, so the run's message and
-- `run status` still show how far the step got after its runner died.
ALTER TABLE runbook_step_attempts
  ADD COLUMN progress    jsonb,
  ADD COLUMN progress_at timestamptz;

-- Down Migration

ALTER TABLE runbook_step_attempts
  DROP COLUMN progress_at,
  DROP COLUMN progress;
