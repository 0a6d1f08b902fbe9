-- Up Migration

-- Who approved the run's start (the approvers of its approval request), so that its steps can
-- name them where they record what they did (the Audit Engine's re-anchor event of a restore),
-- also after a takeover by another runner. Empty for a run that needed no approval.
ALTER TABLE runbook_runs
  ADD COLUMN approved_by text[] NOT NULL DEFAULT '{}';

-- Down Migration

ALTER TABLE runbook_runs
  DROP COLUMN approved_by;
