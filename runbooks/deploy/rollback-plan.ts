/**
 * Where a rollback takes each service: by default back to its previous version in the bot's
 * records (the newest live record before the current one with another version), or to the version
 * named with `to`. Made once by the rollback's `plan` step and kept as its output, so the steps
 * after it (and a runner taking the run over after a crash) go by the same targets.
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { isReleaseError, ReleaseError, type ReleaseArtifact, type ReleaseBuilder, type ReleaseRef } from '../../services/stack/releases/release.js';
import type { RunbookRefusal, StepContext } from '../engine/definition.js';
import type { DeploymentRecords, StepPorts } from '../engine/ports.js';
import type { DeploymentRecordInfo } from '../../commands/ports.js';
import { ROLLOUT_ORDER, VersionSchema, keptArtifact, recordsOf, releasesOf, sameArtifact, stackOf } from './release-plan.js';

export { keptArtifact };

export const RollbackArgs = z
  .object({
    /** One service only; every service with a previous version by default. */
    service: z.enum(SERVICE_NAMES as unknown as [ServiceName, ...ServiceName[]], { message: `the service to roll back is one of ${SERVICE_NAMES.join(', ')}` }).optional(),
    /** A version to go to instead of the previous one. */
    to: VersionSchema.optional(),
  })
  .strict();
export type RollbackArgs = z.output<typeof RollbackArgs>;

export interface RollbackChange extends ReleaseRef {
  service: ServiceName;
  /** The version the records say it runs now (`unknown` without a record). */
  fromVersion: string;
  /** What the stack runs now. */
  from: ReleaseArtifact;
  /** What it goes back to; absent only in a dry run, for a release that is not prepared yet. */
  to?: ReleaseArtifact;
  /** It runs the target already: left alone. */
  unchanged: boolean;
  /** Why the release the records kept cannot run any more (its checkout or image is gone): it is prepared again from its commit. */
  preparedAgain?: string;
}

export interface RollbackPlan {
  /** When the plan was made: the rolled-back notice's start. */
  startedAt: string;
  services: RollbackChange[];
  /** Services left as they are, with why (no previous version). */
  staying: Array<{ service: ServiceName; why: string }>;
}

interface Target extends ReleaseRef {
  /** The artifact the records kept, when they kept one: nothing to prepare then. */
  artifact: ReleaseArtifact | null;
}

const noPrevious = (service: string, version: string | undefined) =>
  version ? `${service} has no previous version in the bot's records (it has only ever run ${version} here)` : `${service} has no deployment in the bot's records`;

/** The services a rollback looks at: the one named, or all of them in rollout order. */
const servicesOf = (args: RollbackArgs): ServiceName[] => (args.service ? [args.service] : [...ROLLOUT_ORDER]);

/** What each service goes to, without preparing anything; null for a service with nowhere to go. */
async function targetOf(builder: ReleaseBuilder, records: DeploymentRecords, service: ServiceName, to: ReleaseRef | undefined): Promise<Target | { none: string }> {
  if (to) return { ...to, artifact: null };
  const previous = await records.previous(service);
  if (!previous) return { none: noPrevious(service, (await records.current(service))?.version) };
  const artifact = keptArtifact(previous);
  return { ...(await recordedRelease(builder, service, previous, artifact === null)), artifact };
}

/**
 * The release a record names. A record made at the stack's first start may lack its ref or commit
 * (the repository says), and its commit is only the release repository's HEAD at that moment: before
 * such a release is made again from it, package.json there must give the version that ran.
 */
export async function recordedRelease(
  builder: ReleaseBuilder,
  service: string,
  record: Pick<DeploymentRecordInfo, 'kind' | 'version' | 'ref' | 'commit'>,
  rebuilt: boolean,
): Promise<ReleaseRef> {
  const ref = record.ref && record.commit ? { version: record.version, ref: record.ref, commit: record.commit } : await builder.resolve(record.commit ?? record.version);
  if (rebuilt && record.kind === 'initial') {
    const found = await builder.packageVersion(ref.commit);
    if (found !== record.version) {
      throw new ReleaseError(
        'UNKNOWN_VERSION',
        `${service} ran ${record.version} when the bot first saw it, but the commit recorded with it (${ref.commit.slice(0, 12)}, the release repository's HEAD at that moment, a guess) has package.json version ${found}: that is not the release that ran, so it is not made again. Name the release to go back to with \`/acgs rollback --to <tag or commit of ${record.version}>\``,
      );
    }
  }
  return { ...ref, version: record.version };
}

/**
 * Reads the records and the stack; with `prepare`, makes ready each release a target lacks an
 * artifact for (once per commit). Throws a ReleaseError for a version the repository lacks.
 */
export async function planRollback(context: StepContext<unknown>, args: RollbackArgs, prepare: boolean): Promise<RollbackPlan> {
  const builder = releasesOf(context.ports);
  const stack = stackOf(context.ports);
  const records = recordsOf(context.ports);
  const to = args.to === undefined ? undefined : await builder.resolve(args.to);
  const prepared = new Map<string, Promise<Record<ServiceName, ReleaseArtifact>>>();
  const artifactsOf = (ref: ReleaseRef) => {
    if (!prepared.has(ref.commit)) {
      prepared.set(ref.commit, builder.prepare(ref, { signal: context.signal, onProgress: (line) => context.progress({ text: line }) }).then((release) => release.artifacts));
    }
    return prepared.get(ref.commit)!;
  };
  const plan: RollbackPlan = { startedAt: new Date().toISOString(), services: [], staying: [] };
  // Every target is read before anything is prepared: services share a release, and the first one
  // prepared again must not make the others' look as if it had never gone.
  const targets: Array<{ service: ServiceName; target: Target; gone: string | undefined }> = [];
  for (const service of servicesOf(args)) {
    const target = await targetOf(builder, records, service, to);
    if ('none' in target) {
      plan.staying.push({ service, why: target.none });
      continue;
    }
    // A release directory cleaned up, an image pruned: the commit on record makes the same release again.
    targets.push({ service, target, gone: target.artifact ? await builder.missing(target.artifact, service) : undefined });
  }
  for (const { service, target, gone } of targets) {
    const [from, current] = await Promise.all([stack.running(service), records.current(service)]);
    const kept = gone ? null : target.artifact;
    const artifact = kept ?? (prepare ? (await artifactsOf(target))[service] : undefined);
    const fromVersion = current?.version ?? 'unknown';
    const unchanged = artifact ? sameArtifact(from, artifact) : fromVersion === target.version;
    plan.services.push({ service, version: target.version, ref: target.ref, commit: target.commit, fromVersion, from, ...(artifact ? { to: artifact } : {}), unchanged, ...(gone ? { preparedAgain: gone } : {}) });
  }
  return plan;
}

/** `policy-engine 9.1.0 → 9.0.0 (v9.0.0 at 1a2b3c4d5e6f)`, per service, for people and the approval's binding. */
export function describeRollback(plan: Pick<RollbackPlan, 'services' | 'staying'>): string {
  const going = plan.services.map(
    (change) =>
      `${change.service} ${change.fromVersion} → ${change.version} (${change.ref} at ${change.commit.slice(0, 12)})${change.unchanged ? ' (runs it already)' : ''}${change.preparedAgain ? ` (prepared again from the repository: ${change.preparedAgain})` : ''}`,
  );
  const staying = plan.staying.map((entry) => `${entry.service} stays: ${entry.why}`);
  return [...going, ...staying].join(', ');
}

export function rollbackPlanOf(outputs: Readonly<Record<string, unknown>>): RollbackPlan {
  const plan = outputs['plan'] as RollbackPlan | undefined;
  if (!plan?.services) throw new Error('the rollback plan (step "plan"\'s output) is missing: that step must come first');
  return plan;
}

/**
 * The refusals a rollback meets before anything is recorded: no way to deploy here, a version
 * the repository lacks, or no service with anywhere to go back to.
 */
export async function rollbackRefusal(ports: StepPorts, args: RollbackArgs): Promise<RunbookRefusal | undefined> {
  if (!ports.releases || !ports.commands?.stack || !ports.deployments) {
    return { message: 'This process cannot roll back: it has no release builder, Stack or deployment records.', hint: 'Run rollbacks in the bot (npm start, or the bot of the Docker stack).' };
  }
  const releases = ports.releases;
  const records = ports.deployments;
  try {
    const to = args.to === undefined ? undefined : await releases.resolve(args.to);
    if (to) return undefined;
    // One after another: the first service that cannot be gone back to is the one the refusal names.
    const targets: Array<Target | { none: string }> = [];
    for (const service of servicesOf(args)) targets.push(await targetOf(releases, records, service, undefined));
    const nowhere = targets.filter((target): target is { none: string } => 'none' in target);
    if (nowhere.length === targets.length) {
      return {
        message: `Nothing to roll back to: ${nowhere.map((target) => target.none).join('; ')}.`,
        hint: 'Name the version to go to with `--to <version>`; `/acgs releases` shows what each service runs and ran before.',
      };
    }
  } catch (error) {
    if (isReleaseError(error, 'UNKNOWN_VERSION') || isReleaseError(error, 'INVALID_ARGUMENT')) return { message: error.message, hint: '`/acgs releases` shows what each service runs and ran before.' };
    throw error;
  }
  return undefined;
}
