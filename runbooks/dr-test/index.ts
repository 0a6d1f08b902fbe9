/** The disaster-recovery test runbook; the registry (runbooks/index.ts) takes it from here. */
export { drTestRunbook, FAILOVER_ORDER } from './dr-test.js';
export { DEFAULT_FAILOVER_TIMINGS, type FailoverTimings, type ServiceFailover } from './failover.js';
