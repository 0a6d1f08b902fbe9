export { channelSlug, incidentChannelName, MAX_CHANNEL_NAME_LENGTH } from './channel-name.js';
export {
  ACTION_ITEM_STATES,
  INCIDENT_ROLES,
  INCIDENT_STATES,
  INCIDENT_TYPES,
  IncidentError,
  incidentIdOf,
  incidentKey,
  MAX_REQUEST_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  SEVERITIES,
  TIMELINE_KINDS,
  type ActionItemState,
  type Declaration,
  type IncidentRole,
  type IncidentState,
  type IncidentType,
  type Severity,
  type TimelineKind,
} from './incident-input.js';
export { commandIncidents, incidentInfo, type CommandIncidentsOptions } from './incident-commands.js';
export { incidentCommandTimeline } from './command-timeline.js';
export { incidentRunTimeline, type RunTimeline, type RunTimelineOptions } from './run-timeline.js';
export { alertIncidentLine, alertIncidentRequestId, alertIncidentTitle, escalationIncidentOpener, putAlertOnTimeline, SEVERITY_OF_LEVEL } from './alert-incidents.js';
export { incidentTimes, median, type IncidentTimes, type TimedIncident } from './incident-times.js';
export {
  createIncidentStore,
  INCIDENT_MIGRATIONS_TABLE,
  INCIDENT_TABLES,
  migrateIncidentStore,
  type ActionItem,
  type Declared,
  type PostedUpdate,
  type Incident,
  type IncidentStore,
  type RoleChange,
  type RoleHolder,
  type StatusUpdate,
  type TimelineEntry,
  type Transition,
} from './incident-store.js';
export { incidentReviews, type IncidentReviews, type IncidentReviewsOptions, type ReviewToPost } from './incident-reviews.js';
export { createReviewStore, type ReviewStore, type StoredReview } from './review-store.js';
