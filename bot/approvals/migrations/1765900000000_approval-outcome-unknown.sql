-- Up Migration

-- A request that was running when its process stopped: whether it finished is unknown, and it is
-- never run again (the restarting bot marks it and says so in the channel).
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_state;
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_state CHECK (
  state IN ('pending', 'approved', 'denied', 'cancelled', 'expired', 'executing', 'executed', 'failed', 'superseded', 'outcome_unknown')
);

-- Which process claimed the run: `<ACGS_BOT_INSTANCE>/<boot id>`. A replica starting again under
-- the same instance name knows that a run its earlier boot claimed and never finished is orphaned.
ALTER TABLE approval_requests ADD COLUMN claimed_by text;

-- Counting a requester's waiting requests (at most MAX_PENDING_PER_REQUESTER) at each new one.
CREATE INDEX approval_requests_pending_requester ON approval_requests (requester) WHERE state = 'pending';

-- Down Migration

DROP INDEX approval_requests_pending_requester;
ALTER TABLE approval_requests DROP COLUMN claimed_by;
UPDATE approval_requests SET state = 'failed' WHERE state = 'outcome_unknown';
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_state;
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_state CHECK (
  state IN ('pending', 'approved', 'denied', 'cancelled', 'expired', 'executing', 'executed', 'failed', 'superseded')
);
