/**
 * Whether the stack is in a state where stopping its services one at a time is safe: the issue's
 * "not in lockdown, no deployment running". Lockdown means someone is containing an incident; a
 * deploy, hotfix, rollback or restore that has not ended owns the services (and would read our
 * stops as its own failures); so does any other run holding the deploy lock (another DR test's
 * failover); a service already unwell would make every figure meaningless. Strict mode is
 * allowed: it changes what the Policy Engine decides, not whether it may stop.
 *
 * The gate before the failover may wait a day, so the verdict is read again right before each
 * stop (`failoverStillSafe`): by then the failover holds the deploy lock, and must still hold it.
 */
import type { DeployLockInfo } from '../../commands/ports.js';
import { formatTimestamp } from '../../commands/format.js';
import type { StepPorts } from '../engine/ports.js';
import { describeReadings, readServices, type ServiceReading } from './service-readings.js';

/** The runbooks whose unfinished runs own the services. */
export const STACK_CHANGING_RUNBOOKS = ['deploy', 'hotfix', 'rollback', 'rollback-restore', 'restore'] as const;

export interface FailoverSafety {
  safe: boolean;
  /** Each reason it is not safe, as a sentence; empty when safe. */
  problems: string[];
  /** What was read: the modes, the unfinished runs, each service. */
  evidence: Record<string, unknown>;
}

async function modeProblems(ports: StepPorts): Promise<{ problems: string[]; modes?: Record<string, unknown> }> {
  const policyEngine = ports.commands?.policyEngine;
  if (!policyEngine) return { problems: ['the Policy Engine client is not set up in this process, so lockdown cannot be ruled out'] };
  try {
    const modes = ((await policyEngine.health()) as { modes?: Record<string, unknown> }).modes;
    if (!modes) return { problems: ['the Policy Engine did not report its modes in /health, so lockdown cannot be ruled out'] };
    return { problems: modes.lockdown === true ? ['the Policy Engine is in lockdown (`lockdown lift` ends it)'] : [], modes };
  } catch (error) {
    return { problems: [`the Policy Engine's modes could not be read (${(error as Error).message}), so lockdown cannot be ruled out`] };
  }
}

/**
 * The deploy lock free or this run's (`mustHold`: this run's). The run store says which deploy is
 * unfinished; the lock says who owns the stack now, a rollback that took it over included.
 */
async function lockProblems(ports: StepPorts, runId: string, mustHold: boolean): Promise<{ problems: string[]; lock?: DeployLockInfo | null }> {
  const deployments = ports.deployments;
  if (!deployments) return { problems: ['this process cannot see the deploy lock, so a deployment in progress cannot be ruled out'] };
  try {
    const lock = await deployments.lock();
    if (lock && lock.runId !== runId) return { problems: [`the deploy lock is held by ${lock.heldBy}'s ${lock.runbook} run ${lock.runId} (since ${formatTimestamp(lock.since)})`], lock };
    if (!lock && mustHold) return { problems: ['this run no longer holds the deploy lock (it was forced open), so a deployment could start meanwhile'], lock };
    return { problems: [], lock };
  } catch (error) {
    return { problems: [`the deploy lock could not be read (${(error as Error).message}), so a deployment in progress cannot be ruled out`] };
  }
}

async function runProblems(ports: StepPorts): Promise<{ problems: string[]; unfinished: Record<string, readonly string[]> }> {
  const unfinishedRuns = ports.backup?.unfinishedRuns;
  if (!unfinishedRuns) return { problems: ['this process cannot see the run store, so a deployment in progress cannot be ruled out'], unfinished: {} };
  const unfinished: Record<string, readonly string[]> = {};
  for (const runbook of STACK_CHANGING_RUNBOOKS) {
    const ids = await unfinishedRuns(runbook);
    if (ids.length > 0) unfinished[runbook] = ids;
  }
  const problems = Object.entries(unfinished).map(([runbook, ids]) => `a ${runbook} run has not ended (${ids.join(', ')})`);
  return { problems, unfinished };
}

/** Every service's reading; one that answered late is asked again (twice at most): one slow /health is no outage. */
async function settledReadings(ports: StepPorts, signal: AbortSignal): Promise<ServiceReading[]> {
  let readings = await readServices(ports, signal);
  for (let again = 0; again < 2 && readings.some((reading) => reading.condition === 'late'); again++) {
    const late = readings.filter((reading) => reading.condition === 'late').map((reading) => reading.service);
    const fresh = await readServices(ports, signal, late);
    readings = readings.map((reading) => fresh.find((other) => other.service === reading.service) ?? reading);
  }
  return readings;
}

/** What owns the stack besides run `runId`: lockdown, unfinished stack-changing runs, the deploy lock, no Stack. */
async function ownershipProblems(ports: StepPorts, runId: string, mustHoldLock: boolean): Promise<FailoverSafety> {
  const [modes, runs, lock] = await Promise.all([modeProblems(ports), runProblems(ports), lockProblems(ports, runId, mustHoldLock)]);
  // A deploy holding the lock is named once, by its unfinished run.
  const named = lock.lock && Object.values(runs.unfinished).some((ids) => ids.includes(lock.lock!.runId));
  const problems = [...modes.problems, ...runs.problems, ...(named ? [] : lock.problems)];
  if (!ports.commands?.stack) problems.push(`this process has no Stack to stop and start services with${ports.commands?.stackProblem ? ` (${ports.commands.stackProblem})` : ''}`);
  return { safe: problems.length === 0, problems, evidence: { modes: modes.modes ?? null, unfinished_runs: runs.unfinished, deploy_lock: lock.lock ?? null } };
}

/** Before the failover is asked for: nobody else owns the stack and every service is healthy. */
export async function failoverSafety(ports: StepPorts, signal: AbortSignal, runId: string): Promise<FailoverSafety> {
  const [owned, readings] = await Promise.all([ownershipProblems(ports, runId, false), settledReadings(ports, signal)]);
  const unwell = readings.filter((reading) => reading.condition !== 'healthy');
  const problems = [...owned.problems, ...(unwell.length > 0 ? [`not every service is healthy: ${describeReadings(unwell)}`] : [])];
  return { safe: problems.length === 0, problems, evidence: { ...owned.evidence, services: Object.fromEntries(readings.map((reading) => [reading.service, reading.detail])) } };
}

/**
 * Right before a stop, with the deploy lock taken: still no lockdown, no other run owning the stack,
 * the lock still this run's. Health is not read here: failOver reads every service before its stop.
 */
export async function failoverStillSafe(ports: StepPorts, runId: string): Promise<FailoverSafety> {
  return ownershipProblems(ports, runId, true);
}
