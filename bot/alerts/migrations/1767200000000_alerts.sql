-- Up Migration

-- Identities, not serials: the bot's restricted role inserts without a grant on a sequence.

-- A silence of one rule until a time: reports of that rule are still stored (nothing is lost), but
-- marked silenced, so that whoever notifies leaves them quiet. Silences expire; they are never
-- deleted, so that the history says why an alert was quiet.
CREATE TABLE alert_silences (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule        text NOT NULL,
  until       timestamptz NOT NULL,
  reason      text NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX alert_silences_rule_until ON alert_silences (rule, until);

-- One alert per fingerprint, whichever source reported it: the unique fingerprint is what keeps
-- two replicas (or a webhook delivered twice) from making two alerts of one.
CREATE TABLE alerts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fingerprint      text NOT NULL UNIQUE,
  rule             text NOT NULL,
  -- monitor, alertmanager
  source           text NOT NULL,
  labels           jsonb NOT NULL,
  annotations      jsonb NOT NULL,
  state            text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
  -- When the current episode started firing (the report's startsAt).
  fired_at         timestamptz NOT NULL,
  resolved_at      timestamptz,
  -- Who resolved it by hand; null when its source reported it resolved.
  resolved_by      text,
  value            double precision,
  acknowledged_by  text,
  acknowledged_at  timestamptz,
  snoozed_until    timestamptz,
  snoozed_by       text,
  flapping         boolean NOT NULL DEFAULT false,
  -- The silence its last state change happened under.
  silenced_by      bigint REFERENCES alert_silences (id),
  updated_at       timestamptz NOT NULL
);
CREATE INDEX alerts_open ON alerts (fired_at) WHERE state <> 'resolved';

-- Every report taken in, by what makes it the same report again (Alertmanager delivers at least
-- once and repeats a firing alert with the same startsAt): a second insert is a duplicate.
CREATE TABLE alert_reports (
  fingerprint  text NOT NULL,
  status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
  starts_at    timestamptz NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (fingerprint, status, starts_at)
);

-- An alert's history: every change of state, by its source or by a person, and its flapping.
CREATE TABLE alert_events (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id  bigint NOT NULL REFERENCES alerts (id),
  at        timestamptz NOT NULL,
  -- fired, resolved, acknowledged, snoozed, flapping, settled
  kind      text NOT NULL,
  -- The alert's state after the event.
  state     text NOT NULL,
  -- The person; null for the alert's source.
  actor     text,
  value     double precision,
  silenced  boolean NOT NULL DEFAULT false,
  details   jsonb
);
CREATE INDEX alert_events_at ON alert_events (at);
CREATE INDEX alert_events_alert_at ON alert_events (alert_id, at);

-- Down Migration

DROP TABLE alert_events;
DROP TABLE alert_reports;
DROP TABLE alerts;
DROP TABLE alert_silences;
