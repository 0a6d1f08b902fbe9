-- Up Migration

-- The scheduled time a run answers for: its own, or for a retry the time of the run it retries
-- (a retry's scheduled_for is the abandoned run's end, which keys the retry's claim). Null on
-- runs recorded before this column: their scheduled_for is that time.
ALTER TABLE schedule_runs ADD COLUMN due_at timestamptz;

-- A scheduled report is posted once per job and due time, whichever replica or retry runs it: the
-- post is claimed here before it is sent and its ts recorded as soon as Slack gives it, so a retry
-- after a replica died having posted does not post it again (bot/reports/scheduled-report-posts.ts).
CREATE TABLE schedule_report_posts (
  job         text NOT NULL,
  due_at      timestamptz NOT NULL,
  channel     text NOT NULL,
  -- The run that claimed the post last.
  run_id      text NOT NULL,
  claimed_at  timestamptz NOT NULL DEFAULT now(),
  -- Set once Slack confirmed the post; null while it is being sent, or if its sender died first.
  ts          text,
  posted_at   timestamptz,
  PRIMARY KEY (job, due_at)
);

-- Down Migration

DROP TABLE schedule_report_posts;
ALTER TABLE schedule_runs DROP COLUMN due_at;
