-- Up Migration

-- One row per page of an escalated alert: (alert episode, level, contact, channel, target). The
-- row is written before the page is sent, so a level reached twice (two replicas, a retry) pages
-- nobody twice; its state and attempts are what the retries with backoff work from, across
-- restarts and replicas.
CREATE TABLE alert_pages (
  alert_id         bigint NOT NULL REFERENCES alerts (id),
  -- The episode: the alert's fired_at when the level was reached (a re-fire is a new one).
  episode          timestamptz NOT NULL,
  level            smallint NOT NULL CHECK (level BETWEEN 2 AND 4),
  -- A name of the config's contacts.
  contact          text NOT NULL,
  channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
  -- An e-mail address; for a webhook its origin (scheme, host, port): a path or query may hold a token.
  target           text NOT NULL,
  -- Why the level was reached and the alert's issue type, what the page says on every attempt.
  reason           text NOT NULL,
  issue_type       text NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
  attempts         integer NOT NULL DEFAULT 0,
  -- When a pending page may be tried (again); while an attempt runs, when it counts as lost.
  next_attempt_at  timestamptz NOT NULL,
  last_error       text,
  created_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  PRIMARY KEY (alert_id, episode, level, contact, channel, target)
);
CREATE INDEX alert_pages_due ON alert_pages (next_attempt_at) WHERE state = 'pending';

-- Down Migration

DROP TABLE alert_pages;
