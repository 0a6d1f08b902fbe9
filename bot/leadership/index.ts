export { createLeaseStore, LEASE_MIGRATIONS_TABLE, LEASE_TABLES, migrateLeaseStore, type HeldLease, type LeaseStore } from './lease-store.js';
export {
  createLeaderDuty,
  DEFAULT_LEASE_MS,
  DEFAULT_RENEW_EVERY_MS,
  type DutyHandle,
  type LeaderDuty,
  type LeaderDutyContext,
  type LeaderDutyEvent,
  type LeaderDutyOptions,
} from './leader-duty.js';
export { logDutyEvent } from './duty-log.js';
export { replicaId } from './replica-id.js';
