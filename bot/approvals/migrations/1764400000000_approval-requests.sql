-- Up Migration

-- One row per approval request. The bot's replicas share it: every state change is a single
-- conditional UPDATE or happens under this row's lock (SELECT ... FOR UPDATE), so the row is
-- the one place that decides who won.
CREATE TABLE approval_requests (
  id                 uuid PRIMARY KEY,
  command            text NOT NULL,
  args               jsonb NOT NULL,
  line               text NOT NULL,
  target             text,
  state_fingerprint  text NOT NULL,
  requester          text NOT NULL,
  -- Where the Slack layer posted the request: [{channel, ts, thread}], opaque to us.
  messages           jsonb NOT NULL DEFAULT '[]'::jsonb,
  level              smallint NOT NULL CONSTRAINT approval_requests_level CHECK (level BETWEEN 1 AND 4),
  approvals_required smallint NOT NULL CONSTRAINT approval_requests_approvals_required CHECK (approvals_required BETWEEN 0 AND 10),
  approver_roles     text[] NOT NULL,
  -- The policy's distinct_approvers, as given; the votes' primary key counts each person once anyway.
  distinct_approvers boolean NOT NULL DEFAULT true,
  reason             text,
  break_glass        boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  state              text NOT NULL CONSTRAINT approval_requests_state CHECK (
    state IN ('pending', 'approved', 'denied', 'cancelled', 'expired', 'executing', 'executed', 'failed', 'superseded')
  ),
  state_changed_at   timestamptz NOT NULL,
  -- Who ended it (the denier, the requester who cancelled) and why, when a person or a check did.
  ended_by           text,
  ended_reason       text,
  result             jsonb,
  CONSTRAINT approval_requests_expires_after_creation CHECK (expires_at > created_at),
  CONSTRAINT approval_requests_break_glass_reason CHECK (NOT break_glass OR length(btrim(coalesce(reason, ''))) > 0),
  -- Only break-glass runs without anyone's approval.
  CONSTRAINT approval_requests_someone_approves CHECK (break_glass OR (approvals_required >= 1 AND cardinality(approver_roles) > 0))
);

-- The expiry sweep and a restarting replica look only at pending requests, by expiry.
CREATE INDEX approval_requests_pending_expiry ON approval_requests (expires_at) WHERE state = 'pending';

-- One row per person and request: the primary key is what makes "each person counts once" hold
-- even if two of that person's clicks reached two replicas at the same moment.
CREATE TABLE approval_votes (
  request_id uuid NOT NULL REFERENCES approval_requests (id) ON DELETE CASCADE,
  voter      text NOT NULL,
  roles      text[] NOT NULL,
  vote       text NOT NULL CONSTRAINT approval_votes_vote CHECK (vote IN ('approve', 'deny')),
  voted_at   timestamptz NOT NULL,
  -- The order in which votes were counted under the request's lock; voted_at comes from the
  -- voters' replicas, whose clocks may differ by a few milliseconds.
  sequence   bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (request_id, voter)
);

-- Down Migration

DROP TABLE approval_votes;
DROP TABLE approval_requests;
