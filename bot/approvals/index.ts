/**
 * Approvals: Slack-free, shared by Slack, the console and the CLI. PostgreSQL is the source of
 * truth; Redis (optional) only wakes other replicas. See README.md beside this file.
 */
export * from './model.js';
export * from './messages.js';
export * from './signals.js';
export * from './store.js';
export * from './expiry-scheduler.js';
