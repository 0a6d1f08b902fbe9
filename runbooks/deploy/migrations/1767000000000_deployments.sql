-- Up Migration

-- What the bot deployed, per stack and service (runbooks/deploy/release-records.ts). The running
-- and previous versions are read from here, never guessed from container names or directories.
CREATE TABLE deployment_records (
  -- An identity, not a serial: the bot's restricted role inserts without a grant on a sequence.
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The stack's kind and description ("docker:unix:///var/run/docker.sock project acgs").
  stack             text NOT NULL,
  service           text NOT NULL,
  version           text NOT NULL,
  -- The tag or commit the version resolved to, and the full commit (unknown for an initial record
  -- when the release repository could not say).
  ref               text,
  commit            text CONSTRAINT deployment_records_commit CHECK (commit IS NULL OR commit ~ '^[0-9a-f]{40}$'),
  -- { "kind": "image", "image": ... } or { "kind": "directory", "directory": ... }; null when unknown.
  artifact          jsonb CONSTRAINT deployment_records_artifact CHECK (
    artifact IS NULL
    OR (artifact->>'kind' = 'image' AND jsonb_typeof(artifact->'image') = 'string')
    OR (artifact->>'kind' = 'directory' AND jsonb_typeof(artifact->'directory') = 'string')
  ),
  kind              text NOT NULL CONSTRAINT deployment_records_kind CHECK (kind IN ('deploy', 'hotfix', 'rollback', 'initial')),
  -- The run that deployed it; none for an initial record.
  run_id            uuid,
  -- The requester as the engine knows it (a Slack user, cli:<user>), or "stack start".
  requested_by      text NOT NULL,
  at                timestamptz NOT NULL DEFAULT now(),
  -- live: it went live (and may since have been replaced); rolled-back: it went live and a rollback
  -- took it back; failed: it never went live.
  outcome           text NOT NULL CONSTRAINT deployment_records_outcome CHECK (outcome IN ('live', 'rolled-back', 'failed')),
  outcome_at        timestamptz NOT NULL DEFAULT now(),
  -- What was running when it was recorded (the record and its version), none for the first.
  replaced_record   bigint REFERENCES deployment_records (id),
  replaced_version  text,
  CONSTRAINT deployment_records_initial_has_no_run CHECK ((kind = 'initial') = (run_id IS NULL))
);

CREATE INDEX deployment_records_of_service ON deployment_records (stack, service, id DESC);

-- One deploy lock per stack: the run holding it, or nobody (run_id null).
CREATE TABLE deploy_locks (
  stack             text PRIMARY KEY,
  run_id            uuid,
  runbook           text,
  held_by           text,
  since             timestamptz,
  -- A rollback that took the lock over: whose it was.
  taken_from_run    uuid,
  taken_from_by     text,
  CONSTRAINT deploy_locks_held_together CHECK ((run_id IS NULL) = (runbook IS NULL) AND (run_id IS NULL) = (held_by IS NULL) AND (run_id IS NULL) = (since IS NULL))
);

-- Every change of a lock: who, what, why, when. History: never updated or deleted.
CREATE TABLE deploy_lock_events (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stack             text NOT NULL,
  action            text NOT NULL CONSTRAINT deploy_lock_events_action CHECK (action IN ('acquire', 'release', 'take-over', 'force-unlock')),
  run_id            uuid,
  runbook           text,
  actor             text NOT NULL,
  reason            text,
  -- The holder before the change (for a take-over or a forced unlock), and whether its run had ended.
  previous_run      uuid,
  previous_holder   text,
  at                timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX deploy_lock_events_of ON deploy_lock_events (stack, id DESC);

-- Down Migration

DROP TABLE deploy_lock_events;
DROP TABLE deploy_locks;
DROP TABLE deployment_records;
