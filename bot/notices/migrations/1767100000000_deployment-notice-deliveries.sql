-- Up Migration

-- One row per target a deployment notice reached. A notify step run again (a retry after some
-- target failed, a takeover after a crash) sends only to the targets without a row, so nobody gets
-- the same notice twice.
CREATE TABLE deployment_notice_deliveries (
  run_id        text NOT NULL,
  -- started, finished, rolled-back
  notice_kind   text NOT NULL,
  -- channel, direct-message, email
  target_kind   text NOT NULL,
  -- a channel ID, a user ID, an e-mail address
  target        text NOT NULL,
  delivered_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, notice_kind, target_kind, target)
);

-- Down Migration

DROP TABLE deployment_notice_deliveries;
