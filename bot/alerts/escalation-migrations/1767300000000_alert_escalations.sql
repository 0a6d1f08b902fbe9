-- Up Migration

-- The levels of the escalation matrix each alert episode reached. An episode is the alert's
-- fired_at (a re-fire starts a new one, which starts over); the primary key is what makes two
-- replicas checking at once escalate once: the one whose insert lands acts, the other does nothing.
CREATE TABLE alert_escalations (
  alert_id  bigint NOT NULL REFERENCES alerts (id),
  episode   timestamptz NOT NULL,
  level     smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
  at        timestamptz NOT NULL,
  reason    text NOT NULL,
  PRIMARY KEY (alert_id, episode, level)
);

-- Down Migration

DROP TABLE alert_escalations;
