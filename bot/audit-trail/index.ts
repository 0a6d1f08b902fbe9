/** The bot's own audit trail (README.md in this folder): Slack-free, shared by Slack, the console and the CLI. */
export {
  type AppendReceipt,
  type AuditTrail,
  type AuditTrailOptions,
  AuditTrailUnavailableError,
  DEFAULT_QUERY_LIMIT,
  MAX_QUERY_LIMIT,
  type TrailAvailability,
  type TrailQuery,
  type TrailQueryResult,
  type TrailStatus,
  createAuditTrail,
} from './audit-trail.js';
export { BOT_AUDIT_SOURCE, GOVERNANCE_COMMANDS, forwardGovernanceRecord, governanceEvent, isGovernanceRecord } from './governance-forwarding.js';
export { REDACTED, redactText, redactValue } from './redaction.js';
export { SpoolDirectoryInUseError } from './spool-lock.js';
export { LOSS_NOTE_KIND, type TrailLoss } from './trail-losses.js';
export { TRAIL_KINDS, type TrailKind, type TrailOrigin, type TrailRecord, type TrailRecordInput, TrailInputError, prepareRecord } from './trail-record.js';
export type { TrailBreak, TrailCheck, TrailVerification } from './trail-verifier.js';
