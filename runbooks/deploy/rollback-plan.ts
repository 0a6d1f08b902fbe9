/**
 * Where a rollback takes each service: by default back to its previous version in the bot's
 * records (the newest live record before the current one with another version), or to the version
 * named with `to`. Made once by the rollback's `plan` step and kept as its output, so the steps
 * after it (and a runner taking the run over after a crash) go by the same targets.
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { isReleaseError, type ReleaseArtifact, type ReleaseBuilder, type ReleaseRef } from '../../services/stack/releases/release.js';
import type { RunbookRefusal, StepContext } from '../engine/definition.js';
import type { DeploymentRecords, StepPorts } from '../engine/ports.js';
import type { DeploymentRecordInfo } from '../../commands/ports.js';
import { ROLLOUT_ORDER, VersionSchema, recordsOf, releasesOf, sameArtifact, stackOf } from './release-plan.js';

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

/**
 * The artifact a rollback may deploy as the record kept it. Not the working tree a local stack was
 * found running from (an `initial` record's directory): git moves it (a pull, a commit, a checkout),
 * so after a deploy it may hold the very release being rolled back; its commit is checked out instead.
 */
export function keptArtifact(record: Pick<DeploymentRecordInfo, 'kind' | 'artifact' | 'commit'>): ReleaseArtifact | null {
  if (!record.artifact) return null;
  if (record.kind === 'initial' && record.artifact.kind === 'directory' && record.commit) return null;
  return record.artifact;
}

/** What each service goes to, without preparing anything; null for a service with nowhere to go. */
async function targetOf(builder: ReleaseBuilder, records: DeploymentRecords, service: ServiceName, to: ReleaseRef | undefined): Promise<Target | { none: string }> {
  if (to) return { ...to, artifact: null };
  const previous = await records.previous(service);
  if (!previous) return { none: noPrevious(service, (await records.current(service))?.version) };
  // A record made at the stack's first start may lack its ref or commit: the repository says.
  const ref = previous.ref && previous.commit ? { version: previous.version, ref: previous.ref, commit: previous.commit } : await builder.resolve(previous.commit ?? previous.version);
  return { ...ref, version: previous.version, artifact: keptArtifact(previous) };
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
    const targets = await Promise.all(servicesOf(args).map((service) => targetOf(releases, records, service, undefined)));
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
