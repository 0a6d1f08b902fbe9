-- Up Migration

-- One row per runbook run shown in Slack (bot/slack/run-message-store.ts). The primary key is the
-- claim: whichever bot replica inserts the row posts the run's message, and only the holder of
-- the live lease edits it, so a run gets one message across restarts and replicas. While the
-- message is being posted the lease is long (longer than a post with its rate-limit waits can
-- take), so a slow post is never taken over and doubled; once posted it is short and renewed.
CREATE TABLE bot_slack_run_messages (
  run_id            uuid PRIMARY KEY,
  channel           text NOT NULL,
  -- Who publishes the message now (the replica's instance name) and a token only that claim knows.
  publisher         text NOT NULL,
  claim_token       uuid NOT NULL,
  lease_expires_at  timestamptz NOT NULL,
  -- The message, once Slack accepted it; an opaque Slack reference.
  ts                text,
  posted_at         timestamptz,
  -- The thread replies already posted, one key per step attempt ("<step index>:<action>:<attempt>").
  details_posted    text[] NOT NULL DEFAULT '{}',
  -- The run's state the message showed when the run ended; the message is then closed.
  final_state       text,
  closed_at         timestamptz,
  CONSTRAINT bot_slack_run_messages_posted_together CHECK ((ts IS NULL) = (posted_at IS NULL)),
  CONSTRAINT bot_slack_run_messages_closed_after_posting CHECK (closed_at IS NULL OR ts IS NOT NULL)
);

-- Every scan reads the messages still open whose publisher's lease ran out.
CREATE INDEX bot_slack_run_messages_open ON bot_slack_run_messages (lease_expires_at) WHERE closed_at IS NULL;

-- Down Migration

DROP TABLE bot_slack_run_messages;
