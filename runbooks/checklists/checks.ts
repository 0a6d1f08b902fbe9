/**
 * The automatic checks the checklists share. Each reads what a command reads (the same ports and
 * the same thresholds, commands/thresholds.ts) and says in one sentence what it saw. `unknown`
 * is for "the bot could not look" (a port this process does not have, a service that does not
 * answer), never for "looked and it is bad", which is `fail`.
 */
import { formatDuration, formatMs, formatPercent, clip } from '../../commands/format.js';
import { runHealthChecks } from '../../commands/health.js';
import { RUNBOOK_THRESHOLDS, markLowerBound, markUpperBound } from '../../commands/thresholds.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import type { CheckContext, CheckOutcome } from './definition.js';

const unknown = (evidence: string): CheckOutcome => ({ status: 'unknown', evidence });
const reason = (error: unknown) => clip(error instanceof Error ? error.message : String(error), 200);

/** Every service's /health (and the stack's PostgreSQL and Redis where configured) says healthy. */
export async function servicesHealthy(context: CheckContext): Promise<CheckOutcome> {
  const checks = await runHealthChecks(context);
  const bad = checks.filter((check) => check.tone === 'fail' || check.tone === 'warn');
  const looked = checks.filter((check) => check.tone !== 'info').map((check) => check.name);
  if (bad.length === 0) return { status: 'pass', evidence: `${looked.length} checks healthy: ${looked.join(', ')}.` };
  return { status: 'fail', evidence: `Not healthy: ${bad.map((check) => `${check.name} ${check.status}${check.detail ? ` (${clip(check.detail, 80)})` : ''}`).join('; ')}.` };
}

async function policyMetrics(context: CheckContext): Promise<PolicyMetrics | CheckOutcome> {
  try {
    return await context.services.policyEngine.metrics();
  } catch (error) {
    return unknown(`The Policy Engine's /v1/metrics did not answer: ${reason(error)}.`);
  }
}

const isOutcome = (value: PolicyMetrics | CheckOutcome): value is CheckOutcome => 'status' in value && 'evidence' in value;

/** Policy Engine P99 under the runbook's target (1 ms). */
export async function latencyWithinSlo(context: CheckContext): Promise<CheckOutcome> {
  const metrics = await policyMetrics(context);
  if (isOutcome(metrics)) return metrics;
  if (metrics.request_count === 0) return unknown('The Policy Engine has served no decisions yet: no latency to judge.');
  const threshold = RUNBOOK_THRESHOLDS.policyP99Ms;
  const p99 = metrics.percentiles.p99;
  const within = markUpperBound(p99, threshold) === 'ok';
  return { status: within ? 'pass' : 'fail', evidence: `Policy Engine P99 ${formatMs(p99)} over ${metrics.request_count} requests (target under ${threshold.target} ms).` };
}

/** The Policy Engine's error rate under the runbook's 0.1 %. */
export async function errorRateNormal(context: CheckContext): Promise<CheckOutcome> {
  const metrics = await policyMetrics(context);
  if (isOutcome(metrics)) return metrics;
  if (metrics.request_count === 0) return unknown('The Policy Engine has served no requests yet: no error rate to judge.');
  const threshold = RUNBOOK_THRESHOLDS.errorRate;
  const within = markUpperBound(metrics.error_rate, threshold) === 'ok';
  return {
    status: within ? 'pass' : 'fail',
    evidence: `Error rate ${formatPercent(metrics.error_rate, 2)} (${metrics.error_count} of ${metrics.request_count} requests failed; target under ${formatPercent(threshold.target)}).`,
  };
}

/** The Policy Engine's cache hit rate over the runbook's 95 %. */
export async function cacheHitRateNormal(context: CheckContext): Promise<CheckOutcome> {
  const metrics = await policyMetrics(context);
  if (isOutcome(metrics)) return metrics;
  const lookups = metrics.cache_stats.l1.hits + metrics.cache_stats.l1.misses;
  if (lookups === 0) return unknown('The Policy Engine has had no cache lookups yet: no hit rate to judge.');
  const threshold = RUNBOOK_THRESHOLDS.cacheHitRate;
  const within = markLowerBound(metrics.cache_hit_rate, threshold) === 'ok';
  return { status: within ? 'pass' : 'fail', evidence: `Cache hit rate ${formatPercent(metrics.cache_hit_rate)} over ${lookups} lookups (target over ${formatPercent(threshold.target)}).` };
}

async function botTrailIntact(context: CheckContext): Promise<CheckOutcome> {
  const trail = context.services.trail;
  if (!trail) return unknown(`the bot has no audit trail in this process${context.services.trailProblem ? ` (${clip(context.services.trailProblem, 160)})` : ''}`);
  try {
    const result = await trail.verify({ scope: 'checkpoint' });
    if (result.valid) return { status: 'pass', evidence: `the bot's trail verifies (${result.checked} records up to #${result.head.sequence})` };
    const bad = result.firstBad;
    return { status: 'fail', evidence: `the bot's trail does not verify${bad ? `: record #${bad.sequence} fails its ${bad.check} check (${clip(bad.problem, 120)})` : ''}` };
  } catch (error) {
    return unknown(`the bot's trail could not be verified: ${reason(error)}`);
  }
}

async function auditEngineChainIntact(context: CheckContext): Promise<CheckOutcome> {
  try {
    const result = await context.services.auditEngine.verify(undefined, { scope: 'checkpoint' });
    if (result.valid) return { status: 'pass', evidence: `the Audit Engine's chain verifies (${result.events_checked} events)` };
    return { status: 'fail', evidence: `the Audit Engine's chain is broken${result.first_broken ? ` at event #${result.first_broken.sequence}` : ''}` };
  } catch (error) {
    return unknown(`the Audit Engine's chain could not be verified: ${reason(error)}`);
  }
}

/** Both trails verify: the Audit Engine's hash chain and the bot's own, each from its last signed checkpoint. */
export async function auditTrailsIntact(context: CheckContext): Promise<CheckOutcome> {
  const outcomes = await Promise.all([auditEngineChainIntact(context), botTrailIntact(context)]);
  const status = outcomes.some((outcome) => outcome.status === 'fail') ? 'fail' : outcomes.some((outcome) => outcome.status === 'unknown') ? 'unknown' : 'pass';
  const sentence = outcomes.map((outcome) => outcome.evidence).join('; ');
  return { status, evidence: `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.` };
}

/** The newest complete backup is younger than `maxAgeHours`; with `verified`, it also passed `backup verify`. */
export function recentBackup(options: { maxAgeHours: number; verified: boolean }) {
  return async (context: CheckContext): Promise<CheckOutcome> => {
    const catalog = context.services.backups;
    if (!catalog) return unknown('This process has no backup catalog (ACGS_BACKUP_DIR): the bot cannot see the backups.');
    let listed;
    try {
      listed = await catalog.list();
    } catch (error) {
      return unknown(`The backups under ${catalog.root} could not be read: ${reason(error)}.`);
    }
    const complete = listed.filter((backup) => backup.state === 'complete');
    const candidates = options.verified ? complete.filter((backup) => backup.verification.state === 'verified') : complete;
    const newest = candidates[0];
    const what = options.verified ? 'verified backup' : 'complete backup';
    const limit = formatDuration(options.maxAgeHours * 3600);
    if (!newest) {
      const failed = options.verified ? complete.find((backup) => backup.verification.state === 'failed') : undefined;
      return { status: 'fail', evidence: `No ${what} under ${catalog.root}${failed ? `; backup ${failed.id} failed its verification (${clip(failed.verification.problem ?? 'no reason given', 100)})` : ''}.` };
    }
    const age = formatDuration(newest.ageSeconds);
    if (newest.ageSeconds > options.maxAgeHours * 3600) return { status: 'fail', evidence: `The newest ${what} is ${newest.id}, ${age} old (older than ${limit}).` };
    const verifiedWords = newest.verification.state === 'verified' ? `verified ${newest.verification.at ?? ''}`.trim() : `verification: ${newest.verification.state}`;
    return { status: 'pass', evidence: `Backup ${newest.id}, ${age} old (within ${limit}), ${verifiedWords}.` };
  };
}

/** Every service's containers (or processes) under the runbook's CPU and memory targets: room for a rolling update. */
export async function resourcesAvailable(context: CheckContext): Promise<CheckOutcome> {
  const stack = context.services.stack;
  if (!stack) return unknown(`This process has no Stack to measure${context.services.stackProblem ? ` (${clip(context.services.stackProblem, 160)})` : ''}.`);
  const skipped: string[] = [];
  let samples;
  try {
    samples = await stack.stats(undefined, { onSkipped: (skip) => skipped.push(skip.replica ?? skip.service) });
  } catch (error) {
    return unknown(`The stack's resource use could not be read: ${reason(error)}.`);
  }
  if (samples.length === 0) return unknown('The stack reported no running service to measure.');
  const { cpuUtilization, memoryUtilization } = RUNBOOK_THRESHOLDS;
  const cpu = Math.max(...samples.map((sample) => sample.cpuPercent)) / 100;
  const limited = samples.filter((sample) => sample.memory.limitBytes > 0);
  const memory = limited.length > 0 ? Math.max(...limited.map((sample) => sample.memory.percent)) / 100 : undefined;
  const over = markUpperBound(cpu, cpuUtilization) !== 'ok' || (memory !== undefined && markUpperBound(memory, memoryUtilization) !== 'ok');
  const memoryWords = memory === undefined ? 'memory has no limit to judge against' : `memory up to ${formatPercent(memory)} of its limit (target under ${formatPercent(memoryUtilization.target, 0)})`;
  const skippedWords = skipped.length > 0 ? `; not measured: ${skipped.join(', ')}` : '';
  return {
    status: over ? 'fail' : skipped.length > 0 ? 'unknown' : 'pass',
    evidence: `${samples.length} measured: CPU up to ${formatPercent(cpu)} (target under ${formatPercent(cpuUtilization.target, 0)}), ${memoryWords}${skippedWords}. Disk space is not measured.`,
  };
}
