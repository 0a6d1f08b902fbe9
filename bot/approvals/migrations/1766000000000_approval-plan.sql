-- Up Migration

-- The plan an approval is bound to, step by step as people read it (a runbook run's steps, what
-- each does and whether its dry run really checked), shown on the request; null for commands
-- whose plan is one sentence. The hash of what it will do is in state_fingerprint.
ALTER TABLE approval_requests ADD COLUMN plan jsonb;

-- Down Migration

ALTER TABLE approval_requests DROP COLUMN plan;
