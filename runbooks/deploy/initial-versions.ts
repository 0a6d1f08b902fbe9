/**
 * What a service runs when the bot first sees it with no deployment record: the version its
 * GET /health reports, and the release repository's HEAD as the commit when git can say. The
 * release records ask this only for a service with no record (release-records.ts, `observe`).
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DeployedArtifact } from '../../commands/ports.js';
import type { InitialVersion } from '../engine/ports.js';

const run = promisify(execFile);

/** ACGS_RELEASE_REPO, else the repository this code runs from. */
export function releaseRepository(env: { ACGS_RELEASE_REPO?: string | undefined }): string {
  return env.ACGS_RELEASE_REPO || dirname(fileURLToPath(import.meta.url));
}

/** The repository's HEAD commit; null when it is no git repository or git is missing (an image without .git). */
export async function repositoryHead(directory: string): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: directory, timeout: 5000 });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

export interface InitialVersionSources {
  /** Each service's GET /health (the typed clients' `health`). */
  health: Readonly<Record<string, (() => Promise<{ version: string }>) | undefined>>;
  /** The release repository's directory (releaseRepository). */
  repository: string;
  /** What the service runs, when the stack can say (its image or checkout). */
  artifact?(service: string): Promise<DeployedArtifact | null>;
}

/** The `observe` of the release records: null when the service does not answer (nothing is recorded then). */
export function observeInitialVersion(sources: InitialVersionSources): (service: string) => Promise<InitialVersion | null> {
  return async (service) => {
    const health = sources.health[service];
    if (!health) return null;
    const version = (await health()).version;
    if (typeof version !== 'string' || version.length === 0) return null;
    const [commit, artifact] = await Promise.all([repositoryHead(sources.repository), sources.artifact?.(service).catch(() => null) ?? null]);
    return { version, commit, artifact };
  };
}
