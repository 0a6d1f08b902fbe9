-- Up Migration

-- Identities, not serials: the bot's restricted role inserts without a grant on a sequence.

-- request_key: the caller's identity of the request that wrote a row (a command's request id), so
-- that a retried or double-submitted declaration, update, action item or timeline entry is
-- recorded once; null for writes that have none. Unique per incident, or across incidents for the
-- declaration itself.

-- One row per incident. Its id is the number people read (INC-<id>): an identity hands two
-- replicas declaring at once different numbers without any lock. The state only moves forward
-- (declared -> resolved -> closed); the store's conditional updates keep two replicas resolving
-- at once to one resolution.
CREATE TABLE incidents (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title           text NOT NULL,
  severity        text NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
  type            text NOT NULL CHECK (type IN ('performance', 'security', 'constitutional', 'infrastructure')),
  -- Declared private (a security incident): its channel is private.
  private         boolean NOT NULL,
  state           text NOT NULL CHECK (state IN ('declared', 'resolved', 'closed')),
  -- Null until a channel is made; the ops channel when Slack refused to make one.
  channel_id      text,
  declared_by     text NOT NULL,
  declared_at     timestamptz NOT NULL,
  -- When the problem was first noticed (an alert's firing), never after the declaration.
  detected_at     timestamptz NOT NULL CHECK (detected_at <= declared_at),
  resolved_at     timestamptz,
  resolved_by     text,
  closed_at       timestamptz,
  closed_by       text,
  -- The latest status update (the declaration until the first): the reminder measures from it.
  last_update_at  timestamptz NOT NULL,
  request_key     text UNIQUE,
  -- A review measures from these: a close before the resolution would make its times negative.
  CHECK (closed_at IS NULL OR closed_at >= resolved_at),
  CHECK (resolved_at IS NULL OR resolved_at >= declared_at)
);
CREATE INDEX incidents_open ON incidents (declared_at) WHERE state <> 'closed';
CREATE INDEX incidents_declared_at ON incidents (declared_at);
CREATE INDEX incidents_by_channel ON incidents (channel_id, declared_at);

-- Every role handed to someone, with who handed it and when; the latest per role is its holder.
CREATE TABLE incident_role_changes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id),
  role         text NOT NULL CHECK (role IN ('commander', 'communications', 'scribe')),
  holder       text NOT NULL,
  changed_by   text NOT NULL,
  changed_at   timestamptz NOT NULL
);
CREATE INDEX incident_role_changes_by_incident ON incident_role_changes (incident_id, role, id DESC);

-- The timeline: what happened in the incident at its original time (occurred_at), as the bot did it
-- or as people marked it; recorded_at is when the bot learnt of it.
CREATE TABLE incident_timeline (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id),
  kind         text NOT NULL CHECK (kind IN ('declared', 'resolved', 'closed', 'command', 'runbook-step', 'approval', 'alert', 'role-change', 'severity-change', 'type-change', 'status-update', 'note', 'marked-message')),
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  actor        text NOT NULL,
  text         text NOT NULL,
  -- What the entry points at: a run id, an alert id, an approval id, a message's permalink.
  reference    text,
  request_key  text,
  UNIQUE (incident_id, request_key)
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, occurred_at, id);

CREATE TABLE incident_status_updates (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id),
  author       text NOT NULL,
  text         text NOT NULL,
  posted_at    timestamptz NOT NULL,
  request_key  text,
  UNIQUE (incident_id, request_key)
);
CREATE INDEX incident_status_updates_by_incident ON incident_status_updates (incident_id, id);

-- The review's action items, tracked after the incident is closed.
CREATE TABLE incident_action_items (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id),
  text         text NOT NULL,
  owner        text NOT NULL,
  state        text NOT NULL CHECK (state IN ('open', 'done', 'dropped')),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_by   text NOT NULL,
  updated_at   timestamptz NOT NULL,
  request_key  text,
  UNIQUE (incident_id, request_key)
);
CREATE INDEX incident_action_items_by_incident ON incident_action_items (incident_id, id);

-- Down Migration

DROP TABLE incident_action_items;
DROP TABLE incident_status_updates;
DROP TABLE incident_timeline;
DROP TABLE incident_role_changes;
DROP TABLE incidents;
