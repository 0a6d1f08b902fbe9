/**
 * The steps deploy and hotfix share, in the order the runbook gives them: lock, checks, prepare
 * and validate the release, baseline, backup as the rollback point, notice, rollout, verification,
 * watch, the watch's verdict, notice, unlock. Each factory takes what differs between the two
 * (the kind of release, the services, the watch) so that both runbooks read as their step lists.
 */
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { ReleaseToValidate } from '../../services/stack/releases/release.js';
import { formatBytes, freeBytes } from '../backup/backup-steps-support.js';
import { checkReadiness, describeCheck, takeBackup } from '../backup/backup.js';
import { resourcesAvailable } from '../checklists/checks.js';
import type { StepContext, StepDefinition } from '../engine/definition.js';
import { RunFailedError } from '../engine/errors.js';
import { isReleaseError } from '../../services/stack/releases/release.js';
import { sendDeploymentNotice } from '../engine/notify-step.js';
import type { DeploymentFinished, StepPorts, VerificationFigure } from '../engine/ports.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { ROLLOUT_ORDER, describeChanges, planOf, planRelease, recordsOf, releasesOf, settingsOf, type ReleasePlan } from './release-plan.js';
import { rollBack, rollOut, rollbackSettled, stopUnlessHoldingLock, type ReleaseKind, type RolloutOutput } from './rollout.js';
import { DeployLockError } from '../../commands/ports.js';
import { describeFigures, failedFigures, healthFigures } from './verification.js';
import { stackVerifyStep } from './stack-verify-step.js';
import { BREACH_RULES, type WatchVerdict } from './watch.js';
import { formatTimestamp } from '../../commands/format.js';

/** What the release steps need to know of their runbook's arguments. */
export interface ReleaseTarget {
  version: string;
  services: readonly ServiceName[];
}

type Step<Args> = StepDefinition<Args>;
type Target<Args> = (args: Args) => ReleaseTarget;

const words = (kind: ReleaseKind) => (kind === 'hotfix' ? 'hotfix' : 'deployment');

export function lockStep<Args>(kind: ReleaseKind): Step<Args> {
  return {
    id: 'lock',
    kind: 'act',
    title: `Take the stack's deploy lock (one ${words(kind)} at a time)`,
    timeoutMs: 30_000,
    idempotent: true,
    skippable: false,
    async run(context) {
      return recordsOf(context.ports).acquire(context.runId, kind, context.requester);
    },
    async compensate(context) {
      // An abort does not wait for a rollback its run started: the lock stays taken until the stack is back.
      await rollbackSettled(context.runId);
      return { released: await recordsOf(context.ports).release(context.runId) };
    },
    async dryRun(context) {
      const lock = await recordsOf(context.ports).lock();
      return { mode: 'read-only-check', text: lock ? `the lock is held: ${lock.heldBy} since ${formatTimestamp(lock.since)} for run ${lock.runId} (${lock.runbook})` : 'the deploy lock is free' };
    },
  };
}

/** The deploy checks the whole stack's health, not only the services it changes: they call each other. */
export function healthNowStep<Args>(): Step<Args> {
  return {
    id: 'health-now',
    kind: 'check',
    title: 'Every service is healthy now',
    timeoutMs: 60_000,
    idempotent: true,
    async run(context) {
      const figures = await healthFigures(context.ports, ROLLOUT_ORDER, context.signal);
      const failed = failedFigures(figures);
      if (failed.length > 0) throw new Error(`not every service is healthy, so a rollout would not be judged fairly: ${describeFigures(failed)} (a hotfix is the way for a broken service)`);
      return { figures };
    },
    async dryRun(context) {
      const figures = await healthFigures(context.ports, ROLLOUT_ORDER, context.signal);
      return { mode: 'read-only-check', text: describeFigures(figures) };
    },
  };
}

async function headroom(ports: StepPorts, signal: AbortSignal) {
  const resources = ports.commands
    ? await resourcesAvailable({ services: ports.commands as CommandDependencies, signal, now: new Date() })
    : { status: 'unknown' as const, evidence: 'this process has no Stack to measure' };
  const { minFreeDiskBytes } = settingsOf(ports);
  const where = ports.backup?.root;
  const free = where ? await freeBytes(where).catch(() => undefined) : undefined;
  const disk =
    free === undefined
      ? { ok: true, text: `free disk not measured (${where ? `${where} cannot be read` : 'no backup directory'})` }
      : { ok: free >= minFreeDiskBytes, text: `${formatBytes(free)} free in ${where} (needs ${formatBytes(minFreeDiskBytes)})` };
  return { resources, disk, text: `${resources.evidence.replace(/ Disk space is not measured\.$/, '')} Disk: ${disk.text}.` };
}

export function headroomStep<Args>(target: Target<Args>): Step<Args> {
  return {
    id: 'headroom',
    kind: 'check',
    title: "Disk, memory and CPU headroom against the runbook's thresholds",
    timeoutMs: 60_000,
    idempotent: true,
    async run(context) {
      const found = await headroom(context.ports, context.signal);
      // A decision waits: retry once the space is freed, or abort (which frees the lock).
      if (found.resources.status === 'fail' || !found.disk.ok) {
        throw new Error(`not enough headroom to deploy ${target(context.args).version}, so nothing was built: ${found.text} Free what is short and retry, or abort`);
      }
      return { resources: found.resources, disk: found.disk.text };
    },
    async dryRun(context) {
      return { mode: 'read-only-check', text: (await headroom(context.ports, context.signal)).text };
    },
  };
}

export function prepareStep<Args>(target: Target<Args>): Step<Args> {
  return {
    id: 'prepare',
    kind: 'act',
    title: 'Get the release ready (a checkout for the local stack, images for Docker)',
    // A Docker build of a cold cache installs every dependency.
    timeoutMs: 30 * 60_000,
    idempotent: true,
    skippable: false,
    async run(context) {
      const { version, services } = target(context.args);
      try {
        return await planRelease(context as StepContext<unknown>, version, services, true);
      } catch (error) {
        throw releaseNotReady(version, error);
      }
    },
    async dryRun(context) {
      const { version, services } = target(context.args);
      const plan = await planRelease(context as StepContext<unknown>, version, services, false);
      const text = `${plan.version} is ${plan.ref} at ${plan.commit.slice(0, 12)}; in this order: ${describeChanges(plan)}`;
      // Approvers approve these versions in this order: a deploy by someone else meanwhile changes the plan.
      return { mode: 'read-only-check', text, target: `${plan.commit}: ${describeChanges(plan)}` };
    },
  };
}

/**
 * A release that cannot be built ends the run: nothing was deployed, and building it again gives
 * the same answer until someone fixes the release or frees the disk. An engine that is down may
 * come back, so that one waits for a person.
 */
function releaseNotReady(version: string, error: unknown): unknown {
  if (!isReleaseError(error) || error.code === 'ENGINE_DOWN') return error;
  const built = error.code === 'BUILD_FAILED' || error.code === 'DISK_FULL' ? 'built' : 'prepared';
  return new RunFailedError(`${version} could not be ${built}, so nothing was deployed: ${error.message}`, { cause: error });
}

export function validateStep<Args>(): Step<Args> {
  return {
    id: 'validate',
    kind: 'verify',
    title: "Start each new service on its own, with scratch state, and check its health before any traffic",
    timeoutMs: 10 * 60_000,
    idempotent: true,
    async run(context) {
      const plan = planOf(context.outputs);
      const builder = releasesOf(context.ports);
      const results = [];
      for (const change of plan.services.filter((candidate) => !candidate.unchanged)) {
        context.progress({ text: `validating ${change.service} in isolation` });
        const release: ReleaseToValidate = { version: plan.version, ref: plan.ref, commit: plan.commit, artifacts: { [change.service]: change.to } };
        try {
          results.push(await builder.validate(release, change.service, { timeoutMs: settingsOf(context.ports).healthTimeoutMs, signal: context.signal }));
        } catch (error) {
          // As for the build: a full disk gives the same answer until someone frees it, and nothing was deployed.
          if (isReleaseError(error, 'DISK_FULL')) throw new RunFailedError(`${plan.version} could not be validated, so nothing was deployed: ${error.message}`, { cause: error });
          throw error;
        }
      }
      const bad = results.filter((result) => !result.healthy);
      // Nothing was deployed and trying again gives the same answer: the run ends here, no decision waits.
      if (bad.length > 0) throw new RunFailedError(`${plan.version} is not healthy on its own, so nothing was deployed: ${bad.map((result) => `${result.service}: ${result.detail}`).join('; ')}`);
      return { validated: results };
    },
    async dryRun() {
      return { mode: 'description', text: 'Would start each service of the release on a spare loopback port with scratch state and database, wait for its /health, and stop it' };
    },
  };
}

export function rollbackPointStep<Args>(title: string): Step<Args> {
  return {
    id: 'backup',
    kind: 'act',
    title,
    timeoutMs: 6 * 60 * 60_000,
    // Its directory belongs to this run: a takeover finds it and keeps what was finished.
    idempotent: true,
    async run(context) {
      const taken = await takeBackup(context as StepContext<unknown>);
      return { ...taken, size: formatBytes(taken.bytes) };
    },
    async dryRun(context) {
      const ports = context.ports.backup;
      if (!ports) return { mode: 'description', text: 'would take a full backup (this process has no backup ports to check it against)' };
      return { mode: 'read-only-check', text: `would take a full backup, the rollback point: ${describeCheck(await checkReadiness(ports, context.signal))}`, target: 'a fresh backup' };
    },
  };
}

const changesOf = (plan: ReleasePlan) => plan.services.map((change) => ({ service: change.service, from: change.fromVersion, to: plan.version }));

export function noticeStartedStep<Args>(kind: ReleaseKind): Step<Args> {
  return {
    id: 'notice-started',
    kind: 'notify',
    title: `Tell the deploys channel and the stakeholders the ${words(kind)} starts`,
    timeoutMs: 60_000,
    // The notices keep a ledger: a second run of the step sends to nobody twice.
    idempotent: true,
    async run(context) {
      const plan = planOf(context.outputs);
      const startedAt = new Date().toISOString();
      const delivery = await sendDeploymentNotice(context.ports, { kind: 'started', release: kind, runId: context.runId, version: plan.version, commit: plan.commit, requester: context.requester, services: changesOf(plan), startedAt });
      return { startedAt, delivery: delivery.summary };
    },
    async dryRun() {
      return { mode: 'description', text: 'Would post the start to channels.deploys (else ops), DM the stakeholders, and e-mail when SMTP_URL is set' };
    },
  };
}

const startedAtOf = (outputs: Readonly<Record<string, unknown>>) => (outputs['notice-started'] as { startedAt?: string } | undefined)?.startedAt ?? new Date().toISOString();

export function rolloutStep<Args>(kind: ReleaseKind): Step<Args> {
  return {
    id: 'rollout',
    kind: 'act',
    title: 'Roll the release out service by service, each verified before the next',
    // Four services, each up to the health timeout twice (there and back), plus verification.
    timeoutMs: 60 * 60_000,
    // It reads the stored plan and the stack: a service already on the release is not deployed twice.
    idempotent: true,
    skippable: false,
    async run(context) {
      return rollOut(context as StepContext<unknown>, planOf(context.outputs), kind, startedAtOf(context.outputs));
    },
    // An aborted run goes back to what ran before, whatever step it was stopped at, this one included.
    undoesPartialRun: true,
    async compensate(context) {
      const plan = planOf(context.outputs);
      return rollBack(context as StepContext<unknown>, plan, kind, startedAtOf(context.outputs), 'the run was aborted', []).catch((error: Error) => ({ rolledBack: error.message }));
    },
    async dryRun(context) {
      const { healthTimeoutMs } = settingsOf(context.ports);
      return {
        mode: 'description',
        text: `Would replace one service at a time (side by side where it can run twice, else stop then start); a new replica not healthy within ${Math.round(healthTimeoutMs / 1000)} s, or a service failing its verification, rolls that service and those before it back at once`,
        target: `health timeout ${Math.round(healthTimeoutMs / 1000)} s`,
      };
    },
  };
}

/** After the rollout; a failure rolls back. A run whose lock was taken over stops before it checks anything. */
export function verifyStep<Args>(kind: ReleaseKind): Step<Args> {
  const verify = stackVerifyStep<Args>({
    onFailureWords: 'any failure rolls back',
    async onFailure(context, failed) {
      await rollBack(context as StepContext<unknown>, planOf(context.outputs), kind, startedAtOf(context.outputs), `the verification after the rollout failed: ${describeFigures(failed)}`, []);
    },
  });
  return {
    ...verify,
    async run(context) {
      await stopUnlessHoldingLock(context as StepContext<unknown>);
      return verify.run(context);
    },
  };
}

export function verdictStep<Args>(kind: ReleaseKind, watchId = 'watch'): Step<Args> {
  return {
    id: 'act-on-watch',
    kind: 'act',
    title: "Roll back when the watch says so (a known-good rule, no person needed)",
    timeoutMs: 30 * 60_000,
    idempotent: true,
    async run(context) {
      await stopUnlessHoldingLock(context as StepContext<unknown>);
      const verdict = context.outputs[watchId] as WatchVerdict | undefined;
      if (verdict?.verdict !== 'rollback') return { verdict: verdict?.verdict ?? 'skipped', summary: verdict?.summary ?? 'the watch was skipped' };
      const breaches = verdict.breaching.flatMap((sample) => sample.breaches.map((breach) => ({ at: sample.at, metric: breach.rule, value: breach.detail, limit: BREACH_RULES[breach.rule] })));
      return rollBack(context as StepContext<unknown>, planOf(context.outputs), kind, startedAtOf(context.outputs), `the watch saw ${verdict.summary}`, breaches);
    },
    async dryRun() {
      return { mode: 'description', text: 'Would roll every service back when the watch calls for it, with the samples that breached' };
    },
  };
}

function verificationOf(outputs: Readonly<Record<string, unknown>>, watchId: string): VerificationFigure[] {
  const figures = [...((outputs['verify'] as { figures?: VerificationFigure[] } | undefined)?.figures ?? [])];
  const verdict = outputs[watchId] as WatchVerdict | undefined;
  if (verdict?.verdict === 'passed') {
    const { worst, counts } = verdict;
    figures.push({ name: 'watch', value: `${counts.samples} samples, ${counts.breachingSamples} breaching`, ok: true });
    if (worst.policyP99Ms !== null) figures.push({ name: 'worst p99', value: `${Number(worst.policyP99Ms.toFixed(2))} ms`, limit: '5 ms', ok: worst.policyP99Ms <= 5 });
    if (worst.errorRate !== null) figures.push({ name: 'worst error rate', value: `${Number((worst.errorRate * 100).toFixed(3))} %`, limit: '0.1 %', ok: worst.errorRate <= 0.001 });
  }
  return figures;
}

export function noticeFinishedStep<Args>(kind: ReleaseKind, watchId = 'watch'): Step<Args> {
  return {
    id: 'notice-finished',
    kind: 'notify',
    title: `Tell the deploys channel and the stakeholders the ${words(kind)} is done, with its figures`,
    timeoutMs: 60_000,
    idempotent: true,
    async run(context) {
      await stopUnlessHoldingLock(context as StepContext<unknown>);
      const plan = planOf(context.outputs);
      const notice: DeploymentFinished = {
        kind: 'finished',
        release: kind,
        runId: context.runId,
        version: plan.version,
        commit: plan.commit,
        requester: context.requester,
        services: changesOf(plan),
        startedAt: startedAtOf(context.outputs),
        finishedAt: new Date().toISOString(),
        verification: verificationOf(context.outputs, watchId),
      };
      return { delivery: (await sendDeploymentNotice(context.ports, notice)).summary };
    },
    async dryRun() {
      return { mode: 'description', text: 'Would post the end with its duration, versions and verification figures to the same places' };
    },
  };
}

export function unlockStep<Args>(): Step<Args> {
  return {
    id: 'unlock',
    kind: 'act',
    title: "Free the stack's deploy lock",
    timeoutMs: 30_000,
    idempotent: true,
    async run(context) {
      try {
        return { released: await recordsOf(context.ports).release(context.runId) };
      } catch (error) {
        // Another run took it over meanwhile: it is theirs to free.
        if (error instanceof DeployLockError && error.code === 'not-holder') return { released: false, heldBy: error.holder?.runId ?? null };
        throw error;
      }
    },
    async dryRun() {
      return { mode: 'description', text: 'Would free the deploy lock (a run that ends frees it anyway)' };
    },
  };
}

/** What a deploy or hotfix run made, for its status and the CLI's last line. */
export function releaseOutcome(kind: ReleaseKind, outputs: Readonly<Record<string, unknown>>): string | undefined {
  const plan = outputs['prepare'] as ReleasePlan | undefined;
  const rollout = outputs['rollout'] as RolloutOutput | undefined;
  if (!plan || !rollout) return undefined;
  const changed = rollout.services.map((entry) => entry.service);
  return `${plan.version} (${plan.ref}) is live on ${changed.length > 0 ? changed.join(', ') : 'no service: each ran it already'}${kind === 'hotfix' ? ' (hotfix)' : ''}; the watch passed.`;
}
