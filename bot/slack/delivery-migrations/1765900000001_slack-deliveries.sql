-- Up Migration

-- Slack deliveries the in-memory ledger had to drop before their de-duplication window ended
-- (bot/slack/delivery-ledger.ts): a retry of one of them is found here and not run again.
CREATE TABLE bot_slack_deliveries (
  key        text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX bot_slack_deliveries_expiry ON bot_slack_deliveries (expires_at);

-- Down Migration

DROP TABLE bot_slack_deliveries;
