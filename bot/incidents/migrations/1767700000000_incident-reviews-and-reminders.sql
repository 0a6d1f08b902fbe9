-- Up Migration

-- The post-incident review written at the close, once per incident: the primary key is what makes
-- a close seen twice (a double click, two replicas) keep one review. The Markdown is the file as
-- posted in Slack, so it can be read again when the upload was refused or the file deleted.
CREATE TABLE incident_reviews (
  incident_id   bigint PRIMARY KEY REFERENCES incidents (id),
  file_name     text NOT NULL,
  markdown      text NOT NULL,
  generated_at  timestamptz NOT NULL,
  generated_by  text NOT NULL
);

-- Update reminders sent, one row per due point (update-reminders.ts onceKey): the bot that comes
-- back after a restart, or a replica taking the lease over, finds the point reminded already.
CREATE TABLE incident_update_reminders (
  once_key     text PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id),
  due_at       timestamptz NOT NULL,
  reminded_at  timestamptz NOT NULL
);
CREATE INDEX incident_update_reminders_by_incident ON incident_update_reminders (incident_id, due_at);

-- Down Migration

DROP TABLE incident_update_reminders;
DROP TABLE incident_reviews;
