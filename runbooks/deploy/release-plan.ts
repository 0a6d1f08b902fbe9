/**
 * What a deploy or hotfix will do, made once by its `prepare` step and kept as that step's output:
 * the release (version, tag, commit), and per service, in rollout order, what it runs now (the
 * version from the bot's records and the artifact from the stack itself) and what it is to run.
 * Every later step, the rollback included, reads this stored plan: after a crash the runner that
 * takes over knows where to go back to without asking a stack that may be half way.
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { isReleaseError, type PreparedRelease, type ReleaseArtifact, type ReleaseBuilder, type ReleaseRef } from '../../services/stack/releases/release.js';
import type { Stack } from '../../services/stack/stack.js';
import type { RunbookRefusal, StepContext } from '../engine/definition.js';
import type { DeploymentRecords, StepPorts } from '../engine/ports.js';
import { DEFAULT_DEPLOY_SETTINGS, type DeploySettings } from './deploy-settings.js';
import { formatAge, formatTimestamp } from '../../commands/format.js';
import type { DeploymentRecordInfo } from '../../commands/ports.js';

/**
 * The order services are rolled out in: what the others call goes first (the Audit Engine takes
 * everyone's records), the Policy Engine, which serves the agents' traffic, last.
 */
export const ROLLOUT_ORDER: readonly ServiceName[] = ['audit-engine', 'evolution-oversight', 'sandbox-controller', 'policy-engine'];

/** A comma-separated list of the stack's services, as typed: `policy-engine,audit-engine`. */
export const ServiceListSchema = z
  .string()
  .max(200)
  .transform((text, context) => {
    const names = text
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = names.filter((name) => !(SERVICE_NAMES as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      context.addIssue({ code: 'custom', message: `${unknown.length > 0 ? `\`${unknown[0]!.slice(0, 40)}\` is not a service of the stack` : 'no service named'}: the services are ${SERVICE_NAMES.join(', ')}` });
      return z.NEVER;
    }
    return ROLLOUT_ORDER.filter((name) => names.includes(name));
  });

/** A version as typed: `1.4.0`, `v1.4.0`, a commit. What git accepts is checked by the release source. */
export const VersionSchema = z.string().trim().min(1, 'name the version to deploy, e.g. 1.4.0').max(100);

export interface ServiceChange {
  service: ServiceName;
  /** The version the bot's records say it runs; `unknown` when it has none and the service does not answer. */
  fromVersion: string;
  /** What it runs now, from the stack: where a rollback puts it back. */
  from: ReleaseArtifact;
  /**
   * The release the records say `from` is, when `from` is the working tree a local stack was found
   * running from (keptArtifact): a rollback checks it out again rather than restart from a tree git may have moved.
   */
  back?: { kind: 'initial'; version: string; ref: string | null; commit: string };
  to: ReleaseArtifact;
  /** It runs this release already: the rollout leaves it alone. */
  unchanged: boolean;
}

export interface ReleasePlan extends ReleaseRef {
  services: ServiceChange[];
}

export const settingsOf = (ports: StepPorts): DeploySettings => ports.deploySettings ?? DEFAULT_DEPLOY_SETTINGS;

export function releasesOf(ports: StepPorts): ReleaseBuilder {
  if (!ports.releases) throw new Error('This process cannot build releases (no release builder): run deploys in the bot, which has one for its stack.');
  return ports.releases;
}

export function stackOf(ports: StepPorts): Stack {
  const stack = ports.commands?.stack;
  if (!stack) throw new Error(`This process has no Stack to deploy to${ports.commands?.stackProblem ? ` (${ports.commands.stackProblem})` : ''}.`);
  return stack;
}

export function recordsOf(ports: StepPorts): DeploymentRecords {
  if (!ports.deployments) throw new Error("This process keeps no deployment records (no deployments port): run deploys in the bot, whose database has them.");
  return ports.deployments;
}

export const sameArtifact = (a: ReleaseArtifact, b: ReleaseArtifact) =>
  a.kind === b.kind && (a.kind === 'image' ? a.image === (b as { image: string }).image : a.directory === (b as { directory: string }).directory);

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

export const describeArtifact = (artifact: ReleaseArtifact) => (artifact.kind === 'image' ? artifact.image : artifact.directory);

/**
 * The refusal a deploy or hotfix meets before anything is recorded: a version the repository does
 * not have (with the nearest tags), no way to build here, or a deployment in progress.
 */
export async function releaseRefusal(ports: StepPorts, version: string): Promise<RunbookRefusal | undefined> {
  if (!ports.releases || !ports.commands?.stack || !ports.deployments) {
    return { message: 'This process cannot deploy: it has no release builder, Stack or deployment records.', hint: 'Run deploys in the bot (npm start, or the bot of the Docker stack).' };
  }
  try {
    await ports.releases.resolve(version);
  } catch (error) {
    if (isReleaseError(error, 'UNKNOWN_VERSION') || isReleaseError(error, 'INVALID_ARGUMENT')) return { message: error.message, hint: '`/acgs releases` shows what each service runs.' };
    throw error;
  }
  const lock = await ports.deployments.lock();
  if (lock) {
    return {
      message: `A deployment is in progress: ${lock.heldBy} holds the deploy lock since ${formatTimestamp(lock.since)} (${formatAge(lock.since)}) for run ${lock.runId} (${lock.runbook}).`,
      hint: '`/acgs deploy status` shows it; `/acgs rollback` takes it over; an admin may `/acgs deploy unlock <reason>` a lock that is stuck.',
    };
  }
  return undefined;
}

/** Resolves and prepares the release, and reads what each service runs now. */
export async function planRelease(context: StepContext<unknown>, version: string, services: readonly ServiceName[], prepare: boolean): Promise<ReleasePlan> {
  const builder = releasesOf(context.ports);
  const stack = stackOf(context.ports);
  const records = recordsOf(context.ports);
  const ref = await builder.resolve(version);
  const prepared: PreparedRelease | undefined = prepare
    ? await builder.prepare(ref, { signal: context.signal, onProgress: (line) => context.progress({ text: line }) })
    : undefined;
  // A service never deployed by the bot gets its first record now (what its /health says it runs).
  if ((await Promise.all(services.map((service) => records.current(service)))).some((record) => record === null)) await records.releases();
  const changes: ServiceChange[] = [];
  for (const service of ROLLOUT_ORDER.filter((name) => services.includes(name))) {
    const [from, current] = await Promise.all([stack.running(service), records.current(service)]);
    const to = prepared?.artifacts[service] ?? from;
    const back = current?.commit && keptArtifact(current) === null && current.artifact ? { kind: 'initial' as const, version: current.version, ref: current.ref, commit: current.commit } : undefined;
    // The commit on record is the release too, prepared or not: a working tree or an image the same commit made.
    const unchanged = current?.commit === ref.commit || (prepared !== undefined && sameArtifact(from, to));
    changes.push({ service, fromVersion: current?.version ?? 'unknown', from, to, unchanged, ...(back ? { back } : {}) });
  }
  return { version: ref.version, ref: ref.ref, commit: ref.commit, services: changes };
}

/** `audit-engine 9.0.0 → 9.1.0, policy-engine 9.0.0 → 9.1.0`: what a plan changes, for people and for the approval's binding. */
export function describeChanges(plan: Pick<ReleasePlan, 'version' | 'services'>): string {
  return plan.services.map((change) => `${change.service} ${change.fromVersion} → ${plan.version}${change.unchanged ? ' (runs it already)' : ''}`).join(', ');
}

export function planOf(outputs: Readonly<Record<string, unknown>>, stepId = 'prepare'): ReleasePlan {
  const plan = outputs[stepId] as ReleasePlan | undefined;
  if (!plan?.services) throw new Error(`the release plan (step "${stepId}"'s output) is missing: that step must come first`);
  return plan;
}
