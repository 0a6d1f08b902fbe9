-- Up Migration

-- The embedded metrics history (bot/metrics-history/): one row per metric, service and minute as
-- the sampler read it, kept for the minute retention (7 days by default), and one row per hour
-- rolled up from them, kept far longer (400 days), so that a 90-day report reads 2,160 hourly
-- rows a series instead of 130,000 minute rows. Without PROMETHEUS_URL the reports read these.
CREATE TABLE metric_samples (
  metric   text NOT NULL,
  service  text NOT NULL,
  at       timestamptz NOT NULL,
  value    double precision NOT NULL,
  PRIMARY KEY (metric, service, at)
);
-- Retention deletes by age alone.
CREATE INDEX metric_samples_at ON metric_samples (at);

-- An hour's samples as min, max, sum and count: avg is sum / count, so steps of several hours
-- average their samples rather than their hours, and counts (violations a day) add up exactly.
CREATE TABLE metric_hourly (
  metric   text NOT NULL,
  service  text NOT NULL,
  hour     timestamptz NOT NULL,
  min      double precision NOT NULL,
  max      double precision NOT NULL,
  sum      double precision NOT NULL,
  count    integer NOT NULL,
  PRIMARY KEY (metric, service, hour)
);
CREATE INDEX metric_hourly_hour ON metric_hourly (hour);

-- Down Migration

DROP TABLE metric_hourly;
DROP TABLE metric_samples;
