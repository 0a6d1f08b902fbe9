-- Up Migration

-- Level 1's automatic actions (bot/alerts/level-one*.ts). A row is claimed before the action runs:
-- the unique (alert, episode, attempt) is what makes each action happen once, whichever replica
-- saw the alert fire. Its outcome is written when it is verified; rows are history, never deleted.
CREATE TABLE alert_level_one_actions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id     bigint NOT NULL REFERENCES alerts (id),
  -- The episode: the alert's fired_at when the action was claimed.
  episode      timestamptz NOT NULL,
  attempt      integer NOT NULL CHECK (attempt >= 1),
  rule         text NOT NULL,
  -- The service acted on: the guard rails count per service.
  service      text NOT NULL,
  command      text NOT NULL,
  claimed_by   text NOT NULL,
  claimed_at   timestamptz NOT NULL,
  outcome      text CHECK (outcome IN ('succeeded', 'failed')),
  finished_at  timestamptz,
  details      jsonb,
  UNIQUE (alert_id, episode, attempt)
);
CREATE INDEX alert_level_one_actions_service ON alert_level_one_actions (service, claimed_at);

-- Down Migration

DROP TABLE alert_level_one_actions;
