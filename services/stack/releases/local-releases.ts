/**
 * Releases of the embedded stack (`npm start` without Docker): a release is a checkout of its
 * commit under `<state>/releases/<version>-<shortcommit>/` with its dependencies, from which the
 * local driver runs the services (services/stack/local/local-stack.ts, `deploy`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { SERVICE_NAMES, type ServiceName } from '../../kit/service-ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../local/embedded-postgres.js';
import { launchProblem, releaseLaunch } from '../local/local-launch.js';
import { ensurePrivateDirectory, writeFileAtomic } from '../local/local-state.js';
import { createReleaseSource, requireVersionWord, type ReleaseSource } from './release-source.js';
import { ReleaseError, type PreparedRelease, type ReleaseBuilder, type ReleaseRef, type ReleaseValidation } from './release.js';
import { unusedLoopbackPort } from '../../kit/loopback-port.js';

export interface LocalReleasesOptions {
  /** The stack's state directory (ACGS_STATE_DIR); releases go to `<stateDir>/releases/`. */
  stateDir: string;
  /** Where versions are resolved; default createReleaseSource() (ACGS_RELEASE_REPO). */
  source?: ReleaseSource;
  /** The install whose node_modules a release with the same package-lock.json shares; default the checkout of this code. */
  installRoot?: string;
}

/** Written last into a release directory: its presence means the checkout and its dependencies are complete. */
export const RELEASE_MARKER = '.acgs-release.json';
const PARTIAL_PREFIX = '.partial-';
const DEFAULT_VALIDATE_MS = 60_000;
const STOP_GRACE_MS = 10_000;

interface ReleaseMarker {
  version: string;
  ref: string;
  commit: string;
  dependencies: 'shared' | 'installed';
  preparedAt: string;
}

export function releasesDirectory(stateDir: string): string {
  return join(resolve(stateDir), 'releases');
}

const isDiskFull = (text: string) => /ENOSPC|No space left on device/i.test(text);

function diskFull(where: string, detail: string): ReleaseError {
  const lines = detail.trim().split('\n');
  const said = (lines.find(isDiskFull) ?? lines.at(-1) ?? '').trim();
  return new ReleaseError('DISK_FULL', `The disk holding ${where} is full (${said}); free space there (old releases under it can go) and prepare the release again. Nothing was kept of this attempt.`);
}

/** The lock file without the project's own version: `npm version` changes that line in every release, the dependency tree it pins stays the same. */
function dependencyTreeOf(lockFile: string): string | undefined {
  try {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { version?: string; packages?: Record<string, { version?: string }> };
    delete lock.version;
    if (lock.packages?.['']) delete lock.packages[''].version;
    return JSON.stringify(lock);
  } catch {
    return undefined;
  }
}

/** A child's exit: its code, and the last lines of its output (stderr and stdout) for a message. */
function finished(child: ChildProcess, output: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const keep = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 200) output.shift();
    });
  };
  keep(child.stdout);
  keep(child.stderr);
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ code, signal }));
  });
}

/**
 * What npm said went wrong: the paragraph after its `npm error code` line. Its last lines are the
 * usage text and where the debug log is, which tell a person nothing about the release.
 */
export function npmFailure(output: readonly string[]): string {
  // undefined: not a line of npm's error report; '' one of its blank lines.
  const said = output.map((line) => {
    const match = /^npm (?:ERR!|error)(?: (.*))?$/.exec(line);
    return match ? (match[1] ?? '').trim() : undefined;
  });
  const start = said.findIndex((text) => text?.startsWith('code '));
  if (start === -1) return output.slice(-3).join(' | ');
  const paragraph: string[] = [];
  for (const text of said.slice(start + 1)) {
    if (text === undefined || (text === '' && paragraph.length > 0)) break;
    if (text !== '') paragraph.push(text);
  }
  const code = said[start]!.slice('code '.length);
  return paragraph.length > 0 ? `${code}: ${paragraph.join(' ')}` : code;
}

function pidRuns(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Partial releases whose preparing process is gone (a crash, a kill): never used, only in the way. */
function removeAbandonedPartials(root: string): void {
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(PARTIAL_PREFIX)) continue;
    const pid = Number(entry.slice(PARTIAL_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || !pidRuns(pid)) rmSync(join(root, entry), { recursive: true, force: true });
  }
}

function readMarker(directory: string): ReleaseMarker | undefined {
  try {
    return JSON.parse(readFileSync(join(directory, RELEASE_MARKER), 'utf8')) as ReleaseMarker;
  } catch {
    return undefined;
  }
}

export function createLocalReleaseBuilder(options: LocalReleasesOptions): ReleaseBuilder {
  const source = options.source ?? createReleaseSource();
  const root = releasesDirectory(options.stateDir);
  const installRoot = resolve(options.installRoot ?? fileURLToPath(new URL('../../../', import.meta.url)));

  function preparedOf(ref: ReleaseRef, directory: string): PreparedRelease {
    const artifacts = Object.fromEntries(SERVICE_NAMES.map((service) => [service, { kind: 'directory', directory }])) as PreparedRelease['artifacts'];
    return { version: ref.version, ref: ref.ref, commit: ref.commit, artifacts };
  }

  /** `git archive <commit> | tar -x`: the release's tree, nothing else (no .git, no untracked files). */
  async function extract(commit: string, into: string, signal: AbortSignal | undefined): Promise<void> {
    const archive = await source.archive(commit);
    const tar = spawn('tar', ['-x', '-C', into], { stdio: ['pipe', 'pipe', 'pipe'], signal });
    archive.stdout!.pipe(tar.stdin!);
    // tar stopping early (a full disk) closes the pipe under git: that is tar's failure to report, not git's.
    tar.stdin!.on('error', () => undefined);
    const onAbort = () => archive.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    const gitOutput: string[] = [];
    const tarOutput: string[] = [];
    try {
      const [gitExit, tarExit] = await Promise.all([finished(archive, gitOutput), finished(tar, tarOutput).catch((error: unknown) => {
        if (signal?.aborted) return { code: null, signal: 'SIGTERM' as const };
        throw error;
      })]);
      signal?.throwIfAborted();
      const tarText = tarOutput.join('\n');
      if (tarExit.code !== 0 && isDiskFull(tarText)) throw diskFull(root, tarText);
      if (gitExit.code !== 0) throw new ReleaseError('BUILD_FAILED', `git archive of ${commit} failed (${gitOutput.slice(-3).join(' | ') || `exit ${gitExit.code}`}); is the release repository complete?`);
      if (tarExit.code !== 0) throw new ReleaseError('BUILD_FAILED', `Unpacking ${commit} failed (tar: ${tarOutput.slice(-3).join(' | ') || `exit ${tarExit.code}`})`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** node_modules for the release: the running install's when the dependency tree is the same, else its own. */
  async function installDependencies(directory: string, options: { signal?: AbortSignal; onProgress?: (line: string) => void }): Promise<ReleaseMarker['dependencies']> {
    const wanted = dependencyTreeOf(join(directory, 'package-lock.json'));
    const have = dependencyTreeOf(join(installRoot, 'package-lock.json'));
    if (wanted !== undefined && wanted === have && existsSync(join(installRoot, 'node_modules'))) {
      // The same lock file pins the same packages, and nothing writes into node_modules at run
      // time: sharing it saves a 200 MB, minutes-long install per release, and an install that
      // could fail offline. A release that changes a dependency gets its own (below).
      symlinkSync(join(installRoot, 'node_modules'), join(directory, 'node_modules'), 'dir');
      options.onProgress?.(`dependencies: the same package-lock.json as the running install, sharing its node_modules`);
      return 'shared';
    }
    options.onProgress?.('dependencies: package-lock.json differs from the running install: npm ci --omit=dev');
    const npm = spawn('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
    const output: string[] = [];
    const exit = await finished(npm, output).catch((error: unknown) => {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new ReleaseError('BUILD_FAILED', `npm could not be started for the release's dependencies (${(error as Error).message}); is npm installed?`, { cause: error });
    });
    for (const line of output.slice(-5)) options.onProgress?.(`npm: ${line}`);
    if (exit.code !== 0) {
      const text = output.join('\n');
      if (isDiskFull(text)) throw diskFull(root, text);
      throw new ReleaseError('BUILD_FAILED', `npm ci for the release failed (exit ${exit.code ?? exit.signal}): ${npmFailure(output)}`);
    }
    return 'installed';
  }

  return {
    resolve: (version) => source.resolve(version),
    packageVersion: (commit) => source.packageVersion(commit),

    async prepare(ref, prepareOptions = {}) {
      const version = requireVersionWord(ref.version);
      if (!/^[0-9a-f]{40}$/.test(ref.commit)) throw new ReleaseError('INVALID_ARGUMENT', `${JSON.stringify(String(ref.commit).slice(0, 80))} is not a full commit; resolve the version first`);
      const name = `${version}-${ref.commit.slice(0, 7)}`;
      const directory = join(root, name);
      const progress = prepareOptions.onProgress ?? (() => undefined);
      prepareOptions.signal?.throwIfAborted();
      try {
        ensurePrivateDirectory(root);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(root, (error as Error).message);
        throw error;
      }
      const marker = readMarker(directory);
      if (marker?.commit === ref.commit) {
        progress(`${name}: already prepared (${marker.preparedAt}), reusing it`);
        return preparedOf(ref, directory);
      }
      // A directory without its marker was not made by prepare (the rename below is its last step): it is not trusted.
      if (existsSync(directory)) rmSync(directory, { recursive: true, force: true });
      removeAbandonedPartials(root);

      // Everything happens in a partial directory that is renamed into place when complete: a crash
      // at any point leaves no half release under the final name, only a partial one the next prepare removes.
      const partial = join(root, `${PARTIAL_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-${name}`);
      try {
        mkdirSync(partial, { mode: 0o700 });
        progress(`${name}: checking out ${ref.ref} (${ref.commit.slice(0, 12)})`);
        await extract(ref.commit, partial, prepareOptions.signal);
        const dependencies = await installDependencies(partial, prepareOptions);
        // Cancelled while installing: the partial directory goes, nothing is renamed into place.
        prepareOptions.signal?.throwIfAborted();
        const record: ReleaseMarker = { version, ref: ref.ref, commit: ref.commit, dependencies, preparedAt: new Date().toISOString() };
        writeFileAtomic(join(partial, RELEASE_MARKER), `${JSON.stringify(record, null, 2)}\n`, 0o644);
        try {
          renameSync(partial, directory);
        } catch (error) {
          // Another prepare of the same release finished first: its complete copy is as good as ours.
          if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '') || readMarker(directory)?.commit !== ref.commit) throw error;
          rmSync(partial, { recursive: true, force: true });
        }
        progress(`${name}: prepared in ${directory}`);
        return preparedOf(ref, directory);
      } catch (error) {
        rmSync(partial, { recursive: true, force: true });
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(root, (error as Error).message);
        throw error;
      }
    },

    async missing(artifact, service) {
      if (artifact.kind !== 'directory') return `the local stack runs release directories, not the image ${artifact.image}`;
      if (!existsSync(artifact.directory)) return `its release directory ${artifact.directory} is no longer there`;
      return launchProblem(artifact.directory, service);
    },

    async validate(release, service, validateOptions = {}) {
      const started = Date.now();
      const artifact = release.artifacts[service];
      if (!SERVICE_NAMES.includes(service) || !artifact) throw new ReleaseError('INVALID_ARGUMENT', `There is no service ${JSON.stringify(String(service).slice(0, 80))}; the services are ${SERVICE_NAMES.join(', ')}`);
      if (artifact.kind !== 'directory') throw new ReleaseError('INVALID_ARGUMENT', `${service} of ${release.version} is ${artifact.kind === 'image' ? `the image ${artifact.image}` : 'not a directory'}; the local stack runs release directories`);
      const problem = launchProblem(artifact.directory, service);
      if (problem) throw new ReleaseError('INVALID_ARGUMENT', `${service} of ${release.version} cannot run: ${problem}; prepare the release again`);
      const timeoutMs = validateOptions.timeoutMs ?? DEFAULT_VALIDATE_MS;
      const expected = (JSON.parse(readFileSync(join(artifact.directory, 'package.json'), 'utf8')) as { version: string }).version;
      const outcome = await tryInIsolation(artifact.directory, service, expected, timeoutMs, validateOptions.signal);
      return { service, ...outcome, durationMs: Date.now() - started };
    },
  };
}


/** Nothing listens on port 1 of loopback: the release's calls to its neighbours fail at once instead of reaching the live stack. */
const NOWHERE = 'http://127.0.0.1:1';

/**
 * Runs the release's service on a spare loopback port with state of its own (a temporary state
 * directory, a fresh PGlite for the services with a database, tokens made up for the run) and
 * neighbours that are not there, so that nothing of the live stack is touched; waits for its
 * /health to answer 200 with the release's version, then stops it and removes the scratch state.
 */
async function tryInIsolation(directory: string, service: ServiceName, expected: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ healthy: boolean; detail: string }> {
  const where = tmpdir();
  let scratch: string;
  try {
    scratch = mkdtempSync(join(where, `acgs-validate-${service}-`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw scratchDiskFull(where, service, (error as Error).message);
    throw error;
  }
  try {
    const outcome = await startInScratch(scratch, directory, service, expected, timeoutMs, signal).catch((error: unknown) => ({ error }));
    // A service that cannot write its scratch state fails in its own words (PGlite's bare errno, a
    // log line, an exit): the disk's free space says it plainly, and names where.
    if (('error' in outcome || !outcome.healthy) && noRoomLeft(scratch)) {
      throw scratchDiskFull(where, service, 'error' in outcome ? String((outcome.error as Error)?.message ?? outcome.error) : outcome.detail);
    }
    if ('error' in outcome) throw outcome.error;
    return outcome;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Less than a mebibyte left for an unprivileged writer: what a full disk looks like from here. */
function noRoomLeft(dir: string): boolean {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize < 1024 ** 2;
  } catch {
    return false;
  }
}

function scratchDiskFull(where: string, service: ServiceName, what: string): ReleaseError {
  return new ReleaseError(
    'DISK_FULL',
    `The disk holding ${where} (the temporary directory, TMPDIR) is full (ENOSPC): ${service} of the release could not be validated with scratch state there (${what.slice(0, 300)}). Free space there, or set TMPDIR to a disk with room, and deploy again. Its scratch state was removed.`,
  );
}

/** The body of tryInIsolation, in a scratch directory that the caller removes. */
async function startInScratch(scratch: string, directory: string, service: ServiceName, expected: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ healthy: boolean; detail: string }> {
  let database: EmbeddedPostgres | undefined;
  let child: ChildProcess | undefined;
  const output: string[] = [];
  try {
    const port = await unusedLoopbackPort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      ACGS_STATE_DIR: join(scratch, 'state'),
      ACGS_ADMIN_TOKEN: randomBytes(24).toString('hex'),
      ACGS_SERVICE_TOKEN: randomBytes(24).toString('hex'),
      POLICY_ENGINE_URL: NOWHERE,
      AUDIT_ENGINE_URL: NOWHERE,
    };
    for (const key of ['REDIS_URL', 'DATABASE_URL', 'MIGRATIONS_DATABASE_URL', 'ACGS_MIGRATIONS_DATABASE_URL']) delete env[key];
    if (service === 'audit-engine' || service === 'evolution-oversight') {
      database = await startEmbeddedPostgres(join(scratch, 'pglite'));
      env.DATABASE_URL = database.url;
      env.DATABASE_POOL_MAX = '1';
    }
    const launch = releaseLaunch(directory, service);
    child = spawn(launch.command, launch.args, { cwd: launch.cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const exited = finished(child, output);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void exited.then((value) => (exit = value), () => undefined);
    const healthUrl = `http://127.0.0.1:${port}/health`;
    const deadline = Date.now() + timeoutMs;
    let last = 'it did not answer yet';
    const lastLines = () => (output.length > 0 ? `; its last output: ${output.slice(-5).join(' | ').slice(0, 800)}` : '');
    for (;;) {
      if (signal?.aborted) return { healthy: false, detail: `validation of ${service} was cancelled (${last})` };
      if (exit) return { healthy: false, detail: `${service} exited (${exit.signal ?? `code ${exit.code}`}) before it was healthy${lastLines()}` };
      try {
        const response = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) });
        const body = (await response.json().catch(() => ({}))) as { status?: string; version?: string; problems?: string[] };
        if (response.status === 200) {
          if (body.version === expected) return { healthy: true, detail: `${service} ${body.version} answered /health ${body.status ?? 'healthy'} on 127.0.0.1:${port}` };
          return { healthy: false, detail: `${service} reports version ${String(body.version)} in /health, but the release's package.json says ${expected}` };
        }
        last = `/health answered ${response.status} (${body.status ?? 'no status'}${body.problems?.length ? `: ${body.problems.join('; ')}` : ''})`;
      } catch (error) {
        last = `/health does not answer (${(error as Error).message})`;
      }
      if (Date.now() >= deadline) return { healthy: false, detail: `${service} was not healthy within ${Math.round(timeoutMs / 1000)} s: ${last}${lastLines()}` };
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    }
  } finally {
    if (child) await stopChild(child);
    await database?.stop();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolvePromise) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}
