/**
 * The rollout and its way back. `rollOut` replaces the plan's services one at a time through the
 * Stack port (side by side where a service can run twice, else handover: the stack decides),
 * records each, and verifies each before the next. `rollBack` puts every service of the plan back
 * on what it ran before, in reverse order, marks this run's records rolled back, sends the
 * rolled-back notice and ends the run as failed with one sentence that says where the stack is.
 *
 * Both read only the stored plan and the stack's own state, and skip what is already where it
 * should be: a runner that takes the run over after a crash runs them again safely.
 */
import type { ServiceName } from '../../services/kit/service-ports.js';
import { isStackError, type DeployReport, type StackError } from '../../services/stack/stack.js';
import type { StepContext } from '../engine/definition.js';
import { RunFailedError } from '../engine/errors.js';
import type { BreachSample, DeploymentRecords, NoticeDelivery, VerificationFigure } from '../engine/ports.js';
import { sendDeploymentNotice } from '../engine/notify-step.js';
import { describeArtifact, recordsOf, releasesOf, sameArtifact, settingsOf, stackOf, type ReleasePlan, type ServiceChange } from './release-plan.js';
import { recordedRelease } from './rollback-plan.js';
import type { ReleaseArtifact } from '../../services/stack/releases/release.js';
import { describeFigures, failedFigures, verifyRelease } from './verification.js';

export type ReleaseKind = 'deploy' | 'hotfix';

export interface RolledOutService {
  service: ServiceName;
  strategy: DeployReport['strategy'] | 'already-running';
  durationMs: number;
  unavailableMs: number;
  verification: VerificationFigure[];
}

export interface RolloutOutput {
  services: RolledOutService[];
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Ends the run when another run took the deploy lock over (a rollback always may): from then on
 * the stack is that run's, and this deployment must not deploy, roll back or announce anything.
 * That holds after the taker has finished and freed the lock too: a free lock does not give the
 * stack back to a run it was taken from (a forced unlock, with no taker, lets the run go on).
 */
export async function stopUnlessHoldingLock(context: StepContext<unknown>): Promise<void> {
  const records = recordsOf(context.ports);
  const lock = await records.lock();
  const taker = lock && lock.runId !== context.runId ? lock : lock ? null : await records.takenOverBy(context.runId);
  if (taker) {
    throw new RunFailedError(`The deploy lock was taken over by run ${taker.runId} (${taker.runbook}, ${taker.heldBy}): this ${taker.runbook === 'rollback' || taker.runbook === 'rollback-restore' ? 'rollback' : 'run'} decides what the stack runs now, so this deployment stops here and changes nothing more.`);
  }
}

/** This run's live record of the service, when it made one already (a takeover must not record twice). */
async function ownRecord(records: DeploymentRecords, service: string, runId: string) {
  const recent = await records.history(service, 20);
  return recent.find((record) => record.runId === runId && record.kind !== 'rollback');
}

export async function rollOut(context: StepContext<unknown>, plan: ReleasePlan, kind: ReleaseKind, startedAt: string): Promise<RolloutOutput> {
  const stack = stackOf(context.ports);
  const records = recordsOf(context.ports);
  const { healthTimeoutMs } = settingsOf(context.ports);
  const changing = plan.services.filter((change) => !change.unchanged);
  const done: RolledOutService[] = [];
  for (const [index, change] of changing.entries()) {
    const { service } = change;
    // Told to stop (an abort): between services, never half-way through one; the compensation takes it from here.
    context.signal.throwIfAborted();
    await stopUnlessHoldingLock(context);
    context.progress({ text: `${service}: rolling out ${plan.version} (${index + 1} of ${changing.length})`, data: { service, index: index + 1, of: changing.length, done: done.map((entry) => entry.service) } });
    let report: DeployReport | undefined;
    if (!sameArtifact(await stack.running(service), change.to)) {
      try {
        report = await stack.deploy(service, change.to, { timeoutMs: healthTimeoutMs });
      } catch (error) {
        // Nothing can be rolled back through an engine that does not answer: a person decides once it does.
        const engine = engineDownIn(error);
        if (engine) throw new Error(engineGoneSentence(plan, service, done, changing, engine));
        // The stack put this service back itself (or never changed it); the ones before go back too.
        // The stack's reason without its done / not-done lists: the rollback says where things are.
        const why = isStackError(error, 'UNHEALTHY') ? `${service}'s new replica was not healthy within ${Math.round(healthTimeoutMs / 1000)} s (${error.reason})` : `deploying ${service} failed: ${isStackError(error) ? error.reason : errorText(error)}`;
        if (!(await ownRecord(records, service, context.runId))) await record(context, records, plan, change, kind, 'failed');
        return rollBack(context, plan, kind, startedAt, why, []);
      }
    }
    if (!(await ownRecord(records, service, context.runId))) await record(context, records, plan, change, kind, 'live');
    // An abort that came during the deploy is not a failed verification: the compensation rolls back, saying why.
    context.signal.throwIfAborted();
    const verification = await verifyRelease(context.ports, [service], context.signal);
    done.push({ service, strategy: report?.strategy ?? 'already-running', durationMs: report?.durationMs ?? 0, unavailableMs: report?.unavailableMs ?? 0, verification });
    const failed = failedFigures(verification);
    if (failed.length > 0) return rollBack(context, plan, kind, startedAt, `${service} failed its verification after the rollout: ${describeFigures(failed)}`, []);
  }
  context.progress({ text: `every service runs ${plan.version}`, data: { done: done.map((entry) => entry.service) } });
  return { services: done };
}

/** The engine's own failure when the stack's engine (Docker) stopped answering, also inside a half-done replacement's error. */
function engineDownIn(error: unknown): StackError | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (isStackError(cause, 'ENGINE_DOWN')) return cause;
  return undefined;
}

/**
 * Why the rollout stops and waits: the engine's own sentence (which names it), where the rollout
 * got to, and the two ways on. Only services done are recorded: the one being replaced is not.
 */
function engineGoneSentence(plan: ReleasePlan, service: ServiceName, done: readonly RolledOutService[], changing: readonly ServiceChange[], engine: StackError): string {
  const after = changing.slice(changing.findIndex((change) => change.service === service) + 1).map((change) => change.service);
  const where = [
    done.length > 0 ? `${done.map((entry) => entry.service).join(', ')} ${done.length === 1 ? 'runs' : 'run'} ${plan.version}` : `no service runs ${plan.version} yet`,
    `${service} was being replaced and may be half way (nothing recorded for it)`,
    ...(after.length > 0 ? [`${after.join(', ')} ${after.length === 1 ? 'was' : 'were'} not touched`] : []),
  ];
  return `The stack's engine stopped answering while ${service} was being replaced by ${plan.version}, so nothing was rolled back: ${engine.reason} Where the rollout stopped: ${where.join('; ')}. Once the engine answers, retry this step to go on from ${service}, or abort (or \`/acgs rollback\`) to put back what ran before.`;
}

function record(context: StepContext<unknown>, records: DeploymentRecords, plan: ReleasePlan, change: ServiceChange, kind: ReleaseKind, outcome: 'live' | 'failed') {
  return records.record({ service: change.service, version: plan.version, ref: plan.ref, commit: plan.commit, artifact: change.to, kind, runId: context.runId, requestedBy: context.requester, outcome });
}

/**
 * What a replaced service goes back to: what it ran, or for the working tree a local stack was
 * found running from, a checkout of the commit on record, made as a rollback makes it (rollback-plan.ts).
 */
async function whereBack(context: StepContext<unknown>, change: ServiceChange): Promise<ReleaseArtifact> {
  if (!change.back) return change.from;
  const builder = releasesOf(context.ports);
  const release = await builder.prepare(await recordedRelease(builder, change.service, change.back, true), { signal: context.signal, onProgress: (line) => context.progress({ text: line }) });
  return release.artifacts[change.service];
}

export interface RollbackOutcome {
  /** Services put back, in the order they were. */
  restored: ServiceName[];
  notice: NoticeDelivery | { error: string };
}

/**
 * The rollbacks under way in this process, by run. An abort stops waiting for the step whose
 * failure started one, but not the rollback itself: the abort's compensation joins it rather than
 * deploying the same services a second time beside it.
 */
const rollbacksUnderWay = new Map<string, Promise<never>>();

/** Resolves once no rollback of the run is under way here (at once when none is): what frees the lock waits for it. */
export async function rollbackSettled(runId: string): Promise<void> {
  await rollbacksUnderWay.get(runId)?.catch(() => undefined);
}

/**
 * Puts the plan's services back and ends the run as failed (RunFailedError). When a service
 * cannot be put back, the run still ends: with a sentence saying which services run what, so the
 * person who reads it runs `/acgs rollback` knowing where the stack is. A second call while the
 * run's rollback is under way joins it and ends as it ends.
 */
export function rollBack(context: StepContext<unknown>, plan: ReleasePlan, kind: ReleaseKind, startedAt: string, why: string, breaches: BreachSample[]): Promise<never> {
  const underWay = rollbacksUnderWay.get(context.runId);
  if (underWay) return underWay;
  const rollback = putBack(context, plan, kind, startedAt, why, breaches).finally(() => rollbacksUnderWay.delete(context.runId));
  rollbacksUnderWay.set(context.runId, rollback);
  return rollback;
}

async function putBack(context: StepContext<unknown>, plan: ReleasePlan, kind: ReleaseKind, startedAt: string, why: string, breaches: BreachSample[]): Promise<never> {
  await stopUnlessHoldingLock(context);
  const stack = stackOf(context.ports);
  const records = recordsOf(context.ports);
  const { healthTimeoutMs } = settingsOf(context.ports);
  const restored: ServiceName[] = [];
  const stuck: string[] = [];
  for (const change of [...plan.services].reverse().filter((candidate) => !candidate.unchanged)) {
    context.progress({ text: `rolling back: ${change.service} to ${change.fromVersion}`, data: { rollingBack: change.service } });
    try {
      const running = await stack.running(change.service);
      // A service still on what it ran is left alone; one replaced goes back to the release on record.
      const back = sameArtifact(running, change.from) ? null : await whereBack(context, change);
      if (back && !sameArtifact(running, back)) {
        await stack.deploy(change.service, back, { timeoutMs: healthTimeoutMs });
        restored.push(change.service);
      }
      const own = await ownRecord(records, change.service, context.runId);
      if (own?.outcome === 'live') await records.setOutcome(own.id, 'rolled-back');
    } catch (error) {
      stuck.push(`${change.service} could not be put back on ${describeArtifact(change.from)} (${errorText(error)})`);
    }
  }
  const notice = await sendDeploymentNotice(context.ports, {
    kind: 'rolled-back',
    release: kind,
    runId: context.runId,
    version: plan.version,
    commit: plan.commit,
    requester: context.requester,
    services: plan.services.map((change) => ({ service: change.service, from: change.fromVersion, to: plan.version })),
    startedAt,
    rolledBackAt: new Date().toISOString(),
    reason: why,
    breaches,
  }).catch((error: unknown) => ({ error: errorText(error) }));
  const noticeWords = 'error' in notice ? ` The rolled-back notice was not sent: ${notice.error}.` : '';
  if (stuck.length > 0) {
    throw new RunFailedError(
      `${kind === 'hotfix' ? 'The hotfix' : 'The deployment'} of ${plan.version} failed (${why}) and was NOT fully rolled back: ${stuck.join('; ')}. Run \`/acgs rollback\` once the cause is fixed; \`/acgs releases\` shows what each service runs.${noticeWords}`,
    );
  }
  const back = plan.services.filter((change) => !change.unchanged).map((change) => `${change.service} ${change.fromVersion}`);
  throw new RunFailedError(`${plan.version} was rolled back: ${why}. Every service runs what it ran before${back.length > 0 ? ` (${back.join(', ')})` : ''}.${noticeWords}`);
}
