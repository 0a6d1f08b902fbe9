-- Up Migration

-- Named leases: work one replica must do alone (the alert monitor, schedules, pollers) is done by
-- the holder of its lease. Times are the database's, so replicas' clocks never disagree about
-- who holds what. A row is never deleted: its fencing token only grows, across every takeover.
CREATE TABLE leadership_leases (
  name           text PRIMARY KEY,
  holder         text NOT NULL,
  -- Grows by one whenever the lease changes hands (or its holder takes it again after it ran out):
  -- work that writes elsewhere can pass it along, so that a holder that lost the lease is told apart.
  fencing_token  bigint NOT NULL,
  acquired_at    timestamptz NOT NULL,
  renewed_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL
);

-- Down Migration

DROP TABLE leadership_leases;
