-- Up Migration

-- The scheduler's jobs (bot/schedules): one row per job the bot knows, with the scheduled time it
-- has not handled yet. A replica claims a scheduled time by inserting its run (below) while it
-- holds this row's lock, so that time is handled by exactly one replica, whatever they race.
CREATE TABLE schedule_jobs (
  name           text PRIMARY KEY,
  cron           text NOT NULL,
  timezone       text NOT NULL,
  enabled        boolean NOT NULL,
  -- The next scheduled time not yet handled (null while the job is disabled).
  next_run_at    timestamptz,
  -- The scheduled time of the oldest run owed since the last one that succeeded: the overdue
  -- check measures from it, so a job that keeps failing is overdue too.
  owed_since     timestamptz,
  -- The owed scheduled time the overdue alert was raised about; null while none is firing.
  overdue_since  timestamptz,
  updated_at     timestamptz NOT NULL
);

-- Every run, its outcome and its error. A run in progress holds a lease (lease_expires_at, by the
-- database's clock) that its replica renews; a run whose lease ran out is marked abandoned, never
-- left "running" with nobody running it.
CREATE TABLE schedule_runs (
  id                bigserial PRIMARY KEY,
  job               text NOT NULL REFERENCES schedule_jobs (name),
  scheduled_for     timestamptz NOT NULL,
  trigger           text NOT NULL CHECK (trigger IN ('schedule', 'catch-up', 'manual')),
  requested_by      text,
  holder            text NOT NULL,
  started_at        timestamptz NOT NULL,
  ended_at          timestamptz,
  outcome           text NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'timed-out', 'skipped', 'abandoned')),
  detail            text,
  lease_expires_at  timestamptz
);

-- One run per job and scheduled time: the claim. Manual runs are not scheduled times.
CREATE UNIQUE INDEX schedule_runs_one_per_time ON schedule_runs (job, scheduled_for) WHERE trigger <> 'manual';
CREATE INDEX schedule_runs_by_job ON schedule_runs (job, id DESC);
-- At most one run of a job at a time.
CREATE UNIQUE INDEX schedule_runs_one_running ON schedule_runs (job) WHERE outcome = 'running';

-- Down Migration

DROP TABLE schedule_runs;
DROP TABLE schedule_jobs;
