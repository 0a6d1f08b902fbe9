/**
 * Releases: a version word resolved to a commit of the release repository, turned into what a
 * stack kind can run (a checkout for the local stack, images for Docker) and tried in isolation
 * before any traffic reaches it. These are the types every part of deploy, hotfix and rollback
 * shares; the builders live beside this file (local-releases.ts, docker-releases.ts).
 */
import type { ServiceName } from '../../kit/service-ports.js';

export interface ReleaseRef {
  /** What the person typed: '1.4.0', 'v1.4.0', a commit prefix. */
  version: string;
  /** The tag or commit it resolved to ('v1.4.0', or the commit itself). */
  ref: string;
  /** Full 40-hex commit. */
  commit: string;
}

export type ReleaseArtifact =
  /** Docker: acgs/<service>:<version>. */
  | { kind: 'image'; image: string }
  /** Embedded stack: a checkout under <state>/releases/. */
  | { kind: 'directory'; directory: string };

export interface PreparedRelease extends ReleaseRef {
  artifacts: Record<ServiceName, ReleaseArtifact>;
}

/** What validating a service needs of a release: its artifact at least (a hotfix's plan holds only its own service's). */
export interface ReleaseToValidate extends ReleaseRef {
  artifacts: Partial<Record<ServiceName, ReleaseArtifact>>;
}

export interface ReleaseValidation {
  service: ServiceName;
  healthy: boolean;
  /** What was seen: the version it reported, or why it is not healthy (status, last log lines). */
  detail: string;
  durationMs: number;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  /** Told each line of progress (checkout, dependencies), for a run's thread. */
  onProgress?: (line: string) => void;
}

export interface ValidateOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Per stack kind (local / docker): turns a version into something the Stack can run. */
export interface ReleaseBuilder {
  resolve(version: string): Promise<ReleaseRef>;
  /** The version package.json gives at a resolved commit (what its services report in /health). */
  packageVersion(commit: string): Promise<string>;
  /** Build images / make the checkout; idempotent (a second call reuses a complete one). */
  prepare(ref: ReleaseRef, options?: PrepareOptions): Promise<PreparedRelease>;
  /** The service from the release, started on a spare loopback port with scratch state, health-checked, stopped: "in isolation, before any traffic". */
  validate(release: ReleaseToValidate, service: ServiceName, options?: ValidateOptions): Promise<ReleaseValidation>;
  /**
   * Why this stack can no longer run `artifact` for `service` (its checkout was removed, its image
   * pruned), or undefined when it can: a rollback prepares such a release again from its commit.
   */
  missing(artifact: ReleaseArtifact, service: ServiceName): Promise<string | undefined>;
}

export const RELEASE_ERROR_CODES = ['UNKNOWN_VERSION', 'BUILD_FAILED', 'DISK_FULL', 'ENGINE_DOWN', 'INVALID_ARGUMENT'] as const;

export type ReleaseErrorCode = (typeof RELEASE_ERROR_CODES)[number];

/** A release that cannot be resolved, built or prepared, with a message a person can act on. */
export class ReleaseError extends Error {
  constructor(
    readonly code: ReleaseErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReleaseError';
  }
}

export function isReleaseError(value: unknown, code?: ReleaseErrorCode): value is ReleaseError {
  return value instanceof ReleaseError && (code === undefined || value.code === code);
}
