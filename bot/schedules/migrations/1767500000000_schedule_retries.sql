-- Up Migration

-- A scheduled run whose replica died (abandoned) is run again once for a job that runs missed
-- times (`run-once`): that run is a `retry`, keyed by the abandoned run's end (its lease's
-- expiry), so two replicas that both see the abandonment claim one retry between them.
ALTER TABLE schedule_runs DROP CONSTRAINT schedule_runs_trigger_check;
ALTER TABLE schedule_runs ADD CONSTRAINT schedule_runs_trigger_check CHECK (trigger IN ('schedule', 'catch-up', 'manual', 'retry'));

-- Down Migration

DELETE FROM schedule_runs WHERE trigger = 'retry';
ALTER TABLE schedule_runs DROP CONSTRAINT schedule_runs_trigger_check;
ALTER TABLE schedule_runs ADD CONSTRAINT schedule_runs_trigger_check CHECK (trigger IN ('schedule', 'catch-up', 'manual'));
