-- Up Migration

-- Identities, not serials: the bot's restricted role inserts without a grant on a sequence.

-- One summary message standing for the alerts beyond N that fired within a minute (a storm).
-- A storm is open while alerts keep joining it; one that had none for a minute is over.
CREATE TABLE bot_slack_alert_storms (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel           text NOT NULL,
  started_at        timestamptz NOT NULL,
  last_member_at    timestamptz NOT NULL,
  -- Who posts the summary now and until when (a poster that died lets the next change post it).
  claim_token       uuid,
  claim_expires_at  timestamptz,
  -- The summary, once Slack accepted it; an opaque Slack reference.
  ts                text
);
CREATE INDEX bot_slack_alert_storms_last ON bot_slack_alert_storms (last_member_at);

-- One row per alert (bot/alerts' alerts.id) shown in Slack, decided when it first fired: a message
-- of its own, or a member of a storm. The primary key is the decision and the claim: whichever
-- replica inserts the row posts the message, so two replicas post one.
CREATE TABLE bot_slack_alert_messages (
  alert_id          bigint PRIMARY KEY,
  channel           text NOT NULL,
  decided_at        timestamptz NOT NULL,
  storm_id          bigint REFERENCES bot_slack_alert_storms (id),
  claim_token       uuid,
  claim_expires_at  timestamptz,
  ts                text,
  posted_at         timestamptz,
  -- The last of the alert's events (alert_events.id) told in the thread or judged not worth a
  -- reply: advanced with compare-and-set before the replies are posted, so each is posted once.
  told_through      bigint NOT NULL DEFAULT 0,
  CONSTRAINT bot_slack_alert_messages_storm_or_message CHECK (storm_id IS NULL OR ts IS NULL)
);
-- The storm decision counts the alerts decided within the last minute.
CREATE INDEX bot_slack_alert_messages_decided ON bot_slack_alert_messages (decided_at);
CREATE INDEX bot_slack_alert_messages_storm ON bot_slack_alert_messages (storm_id) WHERE storm_id IS NOT NULL;

-- Down Migration

DROP TABLE bot_slack_alert_messages;
DROP TABLE bot_slack_alert_storms;
