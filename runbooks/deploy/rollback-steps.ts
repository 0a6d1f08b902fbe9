/**
 * The rollback's own steps: take the deploy lock over (a rollback must never wait for the deploy
 * it undoes), plan, put the services back in reverse rollout order with their records, verify,
 * watch, tell the stakeholders. What deploy already has (the unlock, the watch) is reused.
 */
import { DeployLockError, type DeployLockInfo } from '../../commands/ports.js';
import { isStackError } from '../../services/stack/stack.js';
import type { StepContext, StepDefinition } from '../engine/definition.js';
import { sendDeploymentNotice } from '../engine/notify-step.js';
import { describeArtifact, recordsOf, sameArtifact, settingsOf, stackOf } from './release-plan.js';
import { describeRollback, planRollback, rollbackPlanOf, type RollbackArgs, type RollbackChange, type RollbackPlan } from './rollback-plan.js';
import { describeFigures } from './verification.js';
import { stackVerifyStep } from './stack-verify-step.js';
import type { WatchVerdict } from './watch.js';
import { watchStep } from './watch-step.js';
import { formatTimestamp } from '../../commands/format.js';
import { unlockStep } from './release-steps.js';

type Step<Args> = StepDefinition<Args>;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

const holderWords = (lock: Pick<DeployLockInfo, 'heldBy' | 'since' | 'runId' | 'runbook'>) => `${lock.heldBy}'s ${lock.runbook} run ${lock.runId} (holding it since ${formatTimestamp(lock.since)})`;

export interface TakenLock {
  summary: string;
  took: DeployLockInfo | null;
}

export function takeOverLockStep<Args>(): Step<Args> {
  return {
    id: 'take-over-lock',
    kind: 'act',
    title: "Take the stack's deploy lock over, from whoever holds it",
    timeoutMs: 30_000,
    idempotent: true,
    skippable: false,
    async run(context): Promise<TakenLock> {
      const { took } = await recordsOf(context.ports).takeOver(context.runId, context.requester);
      const summary = took ? `took the deploy lock over from ${holderWords(took)}` : 'the deploy lock was free; this rollback holds it now';
      context.progress({ text: summary });
      return { summary, took };
    },
    async compensate(context) {
      return { released: await recordsOf(context.ports).release(context.runId).catch((error: unknown) => (error instanceof DeployLockError ? error.message : Promise.reject(error))) };
    },
    async dryRun(context) {
      const lock = await recordsOf(context.ports).lock();
      // Who holds it now is evidence, not the plan: a deploy starting meanwhile must not supersede the approval.
      return { mode: 'read-only-check', text: lock ? `would take the deploy lock over from ${holderWords(lock)}` : 'the deploy lock is free; would take it' };
    },
  };
}

export function rollbackPlanStep<Args extends RollbackArgs>(): Step<Args> {
  return {
    id: 'plan',
    kind: 'act',
    title: 'Work out where each service goes back to, and get those releases ready',
    // A Docker build of a cold cache installs every dependency.
    timeoutMs: 30 * 60_000,
    idempotent: true,
    skippable: false,
    async run(context) {
      const plan = await planRollback(context as StepContext<unknown>, context.args, true);
      if (plan.services.length === 0) throw new Error(`nothing to roll back: ${describeRollback(plan)}`);
      return plan;
    },
    async dryRun(context) {
      const plan = await planRollback(context as StepContext<unknown>, context.args, false);
      const going = plan.services.map((change) => `${change.service} ${change.fromVersion} → ${change.version}@${change.commit}`).join(', ');
      return { mode: 'read-only-check', text: `in this order (the reverse of the rollout): ${describeRollback(reversed(plan))}`, target: going };
    },
  };
}

/** The rollout order backwards: the Policy Engine, which serves the agents, first. */
const reversed = (plan: RollbackPlan): RollbackPlan => ({ ...plan, services: [...plan.services].reverse() });

/** This run's live rollback record of the service: a takeover must not record it twice. */
async function ownRollbackRecord(context: StepContext<unknown>, service: string) {
  const recent = await recordsOf(context.ports).history(service, 20);
  return recent.find((record) => record.runId === context.runId && record.kind === 'rollback' && record.outcome === 'live');
}

export interface RolledBackService {
  service: string;
  version: string;
  strategy: string;
  durationMs: number;
}

async function rollBackOne(context: StepContext<unknown>, change: RollbackChange & { to: NonNullable<RollbackChange['to']> }): Promise<RolledBackService> {
  const stack = stackOf(context.ports);
  const records = recordsOf(context.ports);
  const { healthTimeoutMs } = settingsOf(context.ports);
  let report: { strategy: string; durationMs: number } = { strategy: 'already-running', durationMs: 0 };
  if (!sameArtifact(await stack.running(change.service), change.to)) report = await stack.deploy(change.service, change.to, { timeoutMs: healthTimeoutMs });
  if (!(await ownRollbackRecord(context, change.service))) {
    // A live rollback record marks the one it replaces rolled back (release-records.ts).
    await records.record({ service: change.service, version: change.version, ref: change.ref, commit: change.commit, artifact: change.to, kind: 'rollback', runId: context.runId, requestedBy: context.requester, outcome: 'live' });
  }
  return { service: change.service, version: change.version, strategy: report.strategy, durationMs: report.durationMs };
}

export function rollBackServicesStep<Args>(): Step<Args> {
  return {
    id: 'roll-back',
    kind: 'act',
    title: 'Put each service back, in the reverse of the rollout order, and record it',
    timeoutMs: 60 * 60_000,
    // It reads the stored plan, the stack and this run's records: what is back already is left alone.
    idempotent: true,
    skippable: false,
    async run(context) {
      const plan = reversed(rollbackPlanOf(context.outputs));
      const done: RolledBackService[] = [];
      // A service on its target already gets no deploy and no record: nothing was rolled back there.
      for (const change of plan.services.filter((candidate) => !candidate.unchanged)) {
        if (!change.to) throw new Error(`the plan has no release for ${change.service}: the plan step was not run for real`);
        context.progress({ text: `${change.service}: back to ${change.version}`, data: { service: change.service, done: done.map((entry) => entry.service) } });
        try {
          done.push(await rollBackOne(context as StepContext<unknown>, { ...change, to: change.to }));
        } catch (error) {
          const why = isStackError(error, 'UNHEALTHY') ? `its replica on ${change.version} was not healthy in time, so the stack kept what it ran (${errorText(error)})` : errorText(error);
          const back = done.map((entry) => `${entry.service} ${entry.version}`).join(', ') || 'none';
          const left = plan.services.slice(plan.services.indexOf(change) + 1).filter((entry) => !entry.unchanged).map((entry) => entry.service).join(', ') || 'none';
          throw new Error(`${change.service} could not be put back on ${describeArtifact(change.to)}: ${why}. Back already: ${back}; not tried: ${left}. Retry rolls back what is not back yet`);
        }
      }
      return { services: done };
    },
    async dryRun(context) {
      const { healthTimeoutMs } = settingsOf(context.ports);
      return {
        mode: 'description',
        text: `Would deploy each service's release through the stack (side by side where it can run twice, else stop then start), waiting up to ${Math.round(healthTimeoutMs / 1000)} s for its health, and record each as a rollback (the record it replaces becomes rolled-back)`,
        target: `health timeout ${Math.round(healthTimeoutMs / 1000)} s`,
      };
    },
  };
}

/** After the rollback; a failure asks a person, since a rollback cannot roll itself back. */
export const rollbackVerifyStep = <Args>(): Step<Args> =>
  stackVerifyStep<Args>({
    async onFailure(_context, failed) {
      throw new Error(`the stack fails its verification after the rollback: ${describeFigures(failed)}; retry checks again`);
    },
  });

/** The hotfix's shorter watch; a rollback cannot roll itself back, so a bad verdict asks a person. */
export function rollbackWatchStep<Args>(): Step<Args> {
  const watch = watchStep<Args>({ title: 'Watch the critical metrics after the rollback', settings: (ports) => ({ windowMs: settingsOf(ports).hotfixWatchMs, everyMs: settingsOf(ports).watchEveryMs }) });
  return {
    ...watch,
    async run(context) {
      const verdict = (await watch.run(context)) as WatchVerdict;
      if (verdict.verdict === 'rollback') throw new Error(`the stack still breaks its limits after the rollback: ${verdict.summary}; retry watches again`);
      return verdict;
    },
  };
}

export function rolledBackNoticeStep<Args>(): Step<Args> {
  return {
    id: 'notice-rolled-back',
    kind: 'notify',
    title: 'Tell the deploys channel and the stakeholders the stack was rolled back',
    timeoutMs: 60_000,
    // The notices keep a ledger: a second run of the step sends to nobody twice.
    idempotent: true,
    async run(context) {
      const plan = rollbackPlanOf(context.outputs);
      // What was rolled back is what the services ran; where they went is in the table.
      const rolledBackFrom = [...new Set(plan.services.map((change) => change.fromVersion))];
      const delivery = await sendDeploymentNotice(context.ports, {
        kind: 'rolled-back',
        release: 'rollback',
        runId: context.runId,
        version: rolledBackFrom.join(', '),
        requester: context.requester,
        services: plan.services.map((change) => ({ service: change.service, from: change.fromVersion, to: change.version })),
        startedAt: plan.startedAt,
        rolledBackAt: new Date().toISOString(),
        reason: `rolled back by hand by ${context.requester}`,
        breaches: [],
      });
      return { delivery: delivery.summary };
    },
    async dryRun() {
      return { mode: 'description', text: 'Would post the rollback (versions from and to, who asked) to channels.deploys (else ops), DM the stakeholders, and e-mail when SMTP_URL is set' };
    },
  };
}

/**
 * A rollback's steps in order; `between` runs after the plan and before the services go back
 * (rollback-restore's restore). The notice goes out once the services are back and verified, not
 * after the watch: stakeholders learn of a rollback when it happened, not five minutes later.
 */
export function rollbackRunbookSteps<Args extends RollbackArgs>(between: ReadonlyArray<Step<Args>> = []): Step<Args>[] {
  return [takeOverLockStep<Args>(), rollbackPlanStep<Args>(), ...between, rollBackServicesStep<Args>(), rollbackVerifyStep<Args>(), rolledBackNoticeStep<Args>(), rollbackWatchStep<Args>(), unlockStep<Args>()];
}

/** What each service runs after a rollback that succeeded, and whose lock it took. */
export function rollbackOutcome(outputs: Readonly<Record<string, unknown>>): string | undefined {
  const plan = outputs['plan'] as RollbackPlan | undefined;
  if (!plan?.services) return undefined;
  const runs = plan.services.map((change) => `${change.service} runs ${change.version}${change.unchanged ? ' (it ran it already)' : ''}`);
  const staying = plan.staying.map((entry) => `${entry.service} was left as it was`);
  const lock = (outputs['take-over-lock'] as TakenLock | undefined)?.took;
  return `Rolled back: ${[...runs, ...staying].join(', ')}.${lock ? ` The deploy lock was taken over from ${holderWords(lock)}.` : ''}`;
}
