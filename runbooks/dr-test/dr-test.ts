/**
 * `dr-test` (Level 1 to start, its failover behind a Level 2 gate): the runbook's monthly
 * disaster-recovery test (issue 15). The restore test only reads the backup and writes scratch
 * databases it removes, so anyone on call may start it; stopping services is what needs an
 * approver: the gate asks one (the bot's approvals), or, for a run the scheduler started, the
 * standing approval the config records (`schedules.dr-test.standing_approval`), which the trail
 * records each time it is used. An unsafe stack (lockdown, a deployment or restore unfinished, a
 * service unwell) refuses the failover before anyone is asked, and the DR report still goes out.
 * The failover holds the stack's deploy lock, as deploy, hotfix and rollback do: one at a time
 * with them and with another DR test, and Level 1 keeps its hands off meanwhile.
 */
import { z } from 'zod';
import { DeployLockError } from '../../commands/ports.js';
import { formatTimestamp } from '../../commands/format.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import { RunFailedError } from '../engine/errors.js';
import { gateStep, type GatePassed } from '../engine/gate-step.js';
import type { DrTestPorts, StepPorts } from '../engine/ports.js';
import { recordsOf } from '../deploy/release-plan.js';
import { unlockStep } from '../deploy/release-steps.js';
import { drReport } from './dr-report.js';
import { DEFAULT_FAILOVER_TIMINGS, FailoverAborted, failOver, stackOf, type ServiceFailover } from './failover.js';
import { failoverSafety, failoverStillSafe } from './failover-safety.js';
import { latestCompleteBackup, restoreTest, RestoreTestFailed, type RestoreTestResult } from './restore-test.js';

const Args = z.object({}).strict();
type Context = StepContext<z.output<typeof Args>>;

/** The least depended-on first: a stack that cannot take the small stops is not tried with the large. */
export const FAILOVER_ORDER: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];

function drPorts(ports: StepPorts): DrTestPorts {
  if (!ports.drTest) throw new Error('this process cannot record or post a DR test (StepPorts.drTest is missing: the bot hands it in)');
  return ports.drTest;
}

const restoreOf = (context: Context) => context.outputs['restore-test'] as RestoreTestResult;

async function postReport(context: Context, failover: Parameters<typeof drReport>[0]['failover']): Promise<{ posted_to: string; summary: string }> {
  const dr = drPorts(context.ports);
  const report = drReport({ runId: context.runId, restore: restoreOf(context), past: await dr.pastRestoreTimes(context.runId), failover });
  await dr.record({ runId: context.runId, attempt: context.attempt, what: 'report', outcome: failover.tested ? 'complete' : 'failover-not-run', details: { title: report.title, summary: report.summary, lines: report.lines } });
  return { posted_to: await dr.postReport(report), summary: report.summary };
}

/** The failover will not run, nothing was stopped: recorded, reported with the restore's figures, and the run ends failed saying why. */
async function refuseFailover(context: Context, problems: readonly string[], evidence: Record<string, unknown>): Promise<never> {
  const why = problems.join('; ');
  await drPorts(context.ports).record({ runId: context.runId, attempt: context.attempt, what: 'failover', outcome: 'refused', details: { problems, ...evidence } });
  const posted = await postReport(context, { tested: false, why });
  throw new RunFailedError(`The failover test was refused, nothing was stopped: ${why}. The restore test passed; the DR report went to ${posted.posted_to}.`);
}

/** The abort's sentence on the service under test, true to what happened to it. */
function abortedServiceWords(service: string, error: FailoverAborted): string {
  if (error.tested.state === 'not-stopped') return `${service} was not stopped`;
  if (error.tested.state === 'started') return `${service} was started again`;
  return `${service} could not be started again (${error.tested.problem})`;
}

const gate = gateStep<z.output<typeof Args>>({ id: 'approve-failover', title: 'An approver lets the failover stop the services one at a time', level: 2, timeoutMs: 24 * 60 * 60_000 });

/** The gate, passed by the config's standing approval when the scheduler started the run. */
const approveFailover: typeof gate = {
  ...gate,
  async run(context) {
    const standing = context.origin === 'schedule' ? context.ports.drTest?.standingApproval : undefined;
    if (!standing) return gate.run(context);
    await drPorts(context.ports).record({ runId: context.runId, attempt: context.attempt, what: 'standing-approval', outcome: 'used', details: { approved_by: standing.approvedBy, reason: standing.reason, key: 'schedules.dr-test.standing_approval' } });
    return { passed: true, request: 'standing approval (schedules.dr-test.standing_approval)', approvedBy: [standing.approvedBy], reason: standing.reason } satisfies GatePassed & { reason: string };
  },
  async dryRun(context) {
    const standing = context.ports.drTest?.standingApproval;
    const base = await gate.dryRun(context);
    return standing ? { ...base, text: `${base.text} A run the scheduler starts passes on the standing approval of ${standing.approvedBy} (${standing.reason}).` } : base;
  },
};

export const drTestRunbook = defineRunbook({
  source: import.meta.url,
  name: 'dr-test',
  summary: 'Disaster-recovery test: restore the latest backup into scratch databases (timed, verified, removed), then stop each service in turn and time its detection and recovery; report',
  level: 1,
  args: Args,
  steps: [
    {
      id: 'restore-test',
      kind: 'verify',
      title: 'Restore the latest backup into scratch databases, verify its rows and audit chains, time it, remove them',
      timeoutMs: 6 * 60 * 60_000,
      idempotent: true,
      skippable: false,
      async run(context) {
        const dr = drPorts(context.ports);
        try {
          const result = await restoreTest(context.ports, context.signal);
          await dr.record({ runId: context.runId, attempt: context.attempt, what: 'restore-test', outcome: 'passed', details: { ...result } });
          return result;
        } catch (error) {
          if (!(error instanceof RestoreTestFailed)) throw error;
          await dr.record({ runId: context.runId, attempt: context.attempt, what: 'restore-test', outcome: 'failed', details: { problem: error.message } });
          throw new RunFailedError(`the restore test failed: ${error.message}`);
        }
      },
      async dryRun(context) {
        const latest = await latestCompleteBackup(context.ports);
        return { mode: 'read-only-check', text: `would restore backup ${latest.id} (${latest.verification?.ok === false ? 'it failed verification' : latest.verification ? 'verified' : 'never verified'}) into scratch databases and remove them`, target: `backup ${latest.id}` };
      },
    },
    {
      id: 'check-safe',
      kind: 'check',
      title: 'Check that a failover is safe now: no lockdown, no deploy, rollback or restore unfinished, the deploy lock free, every service healthy',
      timeoutMs: 60_000,
      idempotent: true,
      async run(context) {
        const safety = await failoverSafety(context.ports, context.signal, context.runId);
        if (safety.safe) return safety.evidence;
        return refuseFailover(context, safety.problems, safety.evidence);
      },
      async dryRun(context) {
        const safety = await failoverSafety(context.ports, context.signal, context.runId);
        return { mode: 'read-only-check', text: safety.safe ? 'a failover would be safe now' : `a failover would be refused now: ${safety.problems.join('; ')}` };
      },
    },
    approveFailover,
    {
      id: 'lock',
      kind: 'act',
      title: "Take the stack's deploy lock for the failover (no deploy, rollback or other DR test meanwhile)",
      timeoutMs: 30_000,
      idempotent: true,
      skippable: false,
      async run(context) {
        try {
          return await recordsOf(context.ports).acquire(context.runId, 'dr-test', context.requester);
        } catch (error) {
          if (!(error instanceof DeployLockError && error.code === 'held' && error.holder)) throw error;
          const holder = error.holder;
          return refuseFailover(context, [`the deploy lock is held by ${holder.heldBy}'s ${holder.runbook} run ${holder.runId} (since ${formatTimestamp(holder.since)})`], { deploy_lock: holder });
        }
      },
      async compensate(context) {
        // Compensations run in reverse: by now the failover's undo has started every service again.
        return { released: await recordsOf(context.ports).release(context.runId).catch((error: unknown) => (error instanceof DeployLockError ? error.message : Promise.reject(error))) };
      },
      async dryRun(context) {
        const lock = await recordsOf(context.ports).lock();
        return { mode: 'read-only-check', text: lock ? `the deploy lock is held: ${lock.heldBy} since ${formatTimestamp(lock.since)} for run ${lock.runId} (${lock.runbook})` : 'the deploy lock is free' };
      },
    },
    {
      id: 'announce',
      kind: 'notify',
      title: 'Announce the failover test in the ops channel',
      timeoutMs: 60_000,
      idempotent: true,
      async run(context) {
        const text = `DR failover test starting (run ${context.runId}): ${FAILOVER_ORDER.join(', ')} will each be stopped and brought back in turn. Alerts for them during the test are this test; it stops by itself if anything else goes down.`;
        return { posted_to: await drPorts(context.ports).announce(text) };
      },
      async dryRun() {
        return { mode: 'description', text: 'would post in the ops channel that the failover test starts and which services it stops' };
      },
    },
    {
      id: 'failover',
      kind: 'act',
      title: 'Stop each service in turn, time its detection and its recovery; stop if any other service goes down',
      timeoutMs: 60 * 60_000,
      // A crash mid-stop leaves a service stopped: a person decides. Aborting then runs the
      // compensation although the step never finished (undoesPartialRun), and a retry first
      // starts every service again, so neither leaves the stopped one down.
      idempotent: false,
      undoesPartialRun: true,
      async run(context) {
        if (context.attempt > 1) await startEveryService(context.ports);
        const dr = drPorts(context.ports);
        const timings = { ...DEFAULT_FAILOVER_TIMINGS, ...dr.failoverTimings };
        const levelOne = await dr.levelOneAutoResolution();
        const services: ServiceFailover[] = [];
        const doneWords = () => services.map((entry) => entry.service).join(', ') || 'none';
        for (const service of FAILOVER_ORDER) {
          // The verdict of check-safe may be a day old (the gate waits that long): read it again.
          const still = await failoverStillSafe(context.ports, context.runId);
          if (!still.safe && services.length === 0) return refuseFailover(context, still.problems, still.evidence);
          if (!still.safe) {
            await dr.record({ runId: context.runId, attempt: context.attempt, what: 'failover', outcome: 'refused', details: { service, problems: still.problems, done: services, ...still.evidence } });
            throw new RunFailedError(`The failover test was stopped before ${service}: ${still.problems.join('; ')}. Nothing more was stopped. Done before: ${doneWords()}.`);
          }
          context.progress({ text: `stopping ${service} (${services.length + 1} of ${FAILOVER_ORDER.length})`, data: { done: services.map((entry) => entry.service) } });
          try {
            const result = await failOver({ ports: context.ports, service, signal: context.signal, timings, levelOne });
            services.push(result);
            await dr.record({ runId: context.runId, attempt: context.attempt, what: 'failover', outcome: 'recovered', details: { ...result } });
          } catch (error) {
            if (!(error instanceof FailoverAborted)) throw error;
            await dr.record({ runId: context.runId, attempt: context.attempt, what: 'failover', outcome: 'aborted', details: { service, problem: error.message, service_left: error.tested, done: services } });
            const sentence = `The failover test was aborted: ${error.message}; ${abortedServiceWords(service, error)}. Done before: ${doneWords()}.`;
            // A service left stopped is for a person: retry starts every service first, abort starts them too.
            if (error.tested.state === 'start-failed') throw new Error(`${sentence} Retry starts every service and tests again; abort starts every service.`);
            throw new RunFailedError(sentence);
          }
        }
        return { level_one: levelOne, services };
      },
      async compensate(context) {
        return { started: await startEveryService(context.ports) };
      },
      async dryRun() {
        return { mode: 'description', text: `would stop ${FAILOVER_ORDER.join(', ')} one at a time through the Stack, each only after reading again that nothing else owns the stack, each brought back (Level 1 auto-resolution when on, else started by the runbook) before the next`, target: `services ${FAILOVER_ORDER.join(', ')}` };
      },
    },
    unlockStep<z.output<typeof Args>>(),
    {
      id: 'report',
      kind: 'notify',
      title: 'Record the results in the trail and post the DR report',
      timeoutMs: 60_000,
      idempotent: true,
      async run(context) {
        const failover = context.outputs.failover as { services: ServiceFailover[] } | undefined;
        return postReport(context, failover ? { tested: true, services: failover.services } : { tested: false, why: 'the failover step was skipped' });
      },
      async dryRun() {
        return { mode: 'description', text: 'would record the figures in the audit trail and post the DR report to the reports channel' };
      },
    },
  ],
  outcome(outputs) {
    return (outputs.report as { summary?: string } | undefined)?.summary;
  },
});

/** Starts each of the four services (a running one stays as it is): what a stopped failover leaves to undo. */
async function startEveryService(ports: StepPorts): Promise<string[]> {
  const stack = stackOf(ports);
  const started: string[] = [];
  for (const service of SERVICE_NAMES) started.push((await stack.start(service)).service);
  return started;
}
