-- Up Migration

-- A run's steps and an alert reach their incident by the timeline's reference (`run:<id>`,
-- `alert:<id>`: IncidentStore.referencing), asked at every step's start and end: an index keeps
-- that a lookup, not a walk of every incident's timeline.
CREATE INDEX incident_timeline_reference ON incident_timeline (reference) WHERE reference IS NOT NULL;

-- Down Migration

DROP INDEX incident_timeline_reference;
