/**
 * Releases of the Docker stack: a release is one image built from the release repository's own
 * Dockerfile at the release's commit, tagged `acgs/<service>:<version>` for each of the four
 * services (docker-compose.yml runs one image for all four) and labelled with the commit, so a
 * second prepare of the same commit finds it instead of building again.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { loadDockerode } from '../docker/engine-connection.js';
import pg from 'pg';
import { dockerOptionsFor, engineErrorText, isConnectionError } from '../../kit/docker-engine.js';
import { SERVICE_NAMES, type ServiceName } from '../../kit/service-ports.js';
import { createReleaseSource, requireVersionWord, type ReleaseSource } from './release-source.js';
import { ReleaseError, type PreparedRelease, type PrepareOptions, type ReleaseBuilder, type ReleaseRef, type ReleaseValidation } from './release.js';
import { unusedLoopbackPort } from '../../kit/loopback-port.js';

export const RELEASE_COMMIT_LABEL = 'acgs.release.commit';
export const RELEASE_VERSION_LABEL = 'acgs.release.version';
/** Marks the throwaway containers of validate, so that one left by a killed process can be found. */
export const VALIDATION_LABEL = 'acgs.release.validation';

const DEFAULT_VALIDATE_MS = 60_000;
const OUTPUT_LINES_KEPT = 8;
const NOWHERE = 'http://127.0.0.1:1';
/** The validation container's writable state and temporary files (a tmpfs). */
const SCRATCH = '/acgs-scratch';

export interface DockerReleasesOptions {
  /** Engine address; default DOCKER_HOST, else the default socket. */
  dockerHost?: string;
  /** Where versions are resolved; default createReleaseSource() (ACGS_RELEASE_REPO). */
  source?: ReleaseSource;
  /** The build's network mode (`host` where the build must use the machine's own network); default the engine's default. */
  networkMode?: string;
  /** Base image for the Dockerfile's NODE_IMAGE build argument; default env ACGS_NODE_IMAGE, else the Dockerfile's own default. */
  nodeImage?: string;
  /** A PostgreSQL server (a URL with the right to create databases) that the validation of the audit engine and evolution oversight gets a scratch database on; default env DATABASE_URL. */
  validationDatabaseUrl?: string;
  env?: NodeJS.ProcessEnv;
}

/** `acgs/<service>:<tag>`: the version word without the tag's leading `v` (9.1.0, not v9.1.0), in docker's tag alphabet. */
export function releaseImage(service: ServiceName, version: string): string {
  const tag = requireVersionWord(version).replace(/^v(?=\d)/, '').replaceAll('+', '_');
  return `acgs/${service}:${tag}`;
}

function engineDown(host: string, error: unknown): ReleaseError {
  return new ReleaseError('ENGINE_DOWN', `The Docker Engine at ${host} does not answer (${engineErrorText(error)}); start it (systemctl start docker) or set DOCKER_HOST, then prepare the release again`, { cause: error });
}

const isDiskFull = (text: string) => /no space left on device|ENOSPC/i.test(text);

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

export function createDockerReleaseBuilder(options: DockerReleasesOptions = {}): ReleaseBuilder {
  const env = options.env ?? process.env;
  const source = options.source ?? createReleaseSource({ env });
  const host = options.dockerHost || env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  // No call timeout: a build runs for minutes.
  const docker = new (loadDockerode())(dockerOptionsFor(host));
  const nodeImage = options.nodeImage ?? (env.ACGS_NODE_IMAGE || undefined);

  async function engine<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isConnectionError(error)) throw engineDown(host, error);
      throw error;
    }
  }

  function preparedOf(ref: ReleaseRef): PreparedRelease {
    const artifacts = Object.fromEntries(SERVICE_NAMES.map((service) => [service, { kind: 'image', image: releaseImage(service, ref.version) }])) as PreparedRelease['artifacts'];
    return { version: ref.version, ref: ref.ref, commit: ref.commit, artifacts };
  }

  /** Tags `imageId` with each service's name for the release. */
  async function tagAll(imageId: string, ref: ReleaseRef): Promise<void> {
    for (const service of SERVICE_NAMES) {
      const [repo, tag] = releaseImage(service, ref.version).split(':') as [string, string];
      await engine(() => docker.getImage(imageId).tag({ repo, tag }));
    }
  }

  async function build(ref: ReleaseRef, version: string, prepareOptions: PrepareOptions): Promise<string> {
    const progress = prepareOptions.onProgress ?? (() => undefined);
    const archive = await source.archive(ref.commit);
    const gitErrors: string[] = [];
    archive.stderr?.on('data', (chunk: Buffer) => gitErrors.push(chunk.toString('utf8')));
    const gitExit = new Promise<number | null>((resolve) => archive.once('close', (code) => resolve(code)));
    const output: string[] = [];
    let step = '';
    let imageId: string | undefined;
    let failure: string | undefined;
    const keep = (line: string) => {
      output.push(line);
      if (output.length > OUTPUT_LINES_KEPT) output.shift();
      progress(line);
    };
    try {
      const stream = await engine(() =>
        docker.buildImage(archive.stdout as NodeJS.ReadableStream, {
          t: releaseImage(SERVICE_NAMES[0]!, ref.version),
          dockerfile: 'Dockerfile',
          labels: { [RELEASE_COMMIT_LABEL]: ref.commit, [RELEASE_VERSION_LABEL]: version },
          ...(nodeImage ? { buildargs: { NODE_IMAGE: nodeImage } } : {}),
          ...(options.networkMode ? { networkmode: options.networkMode } : {}),
          rm: true,
          forcerm: true,
          ...(prepareOptions.signal ? { abortSignal: prepareOptions.signal } : {}),
        }),
      );
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(
          stream,
          (error) => (error ? reject(error) : resolve()),
          (event: BuildEvent) => {
            if (event.error || event.errorDetail) {
              failure = (event.errorDetail?.message ?? event.error ?? '').trim();
              return;
            }
            if (event.aux?.ID) imageId = event.aux.ID;
            for (const line of (event.stream ?? event.status ?? '').split('\n')) {
              const text = line.replace(/\r/g, '').trimEnd();
              if (!text) continue;
              if (/^Step \d+\/\d+ :/.test(text)) step = text;
              keep(text);
            }
          },
        );
      });
    } catch (error) {
      archive.kill('SIGTERM');
      if (prepareOptions.signal?.aborted) throw prepareOptions.signal.reason;
      if (error instanceof ReleaseError) throw error;
      failure = engineErrorText(error);
    }
    const gitCode = await gitExit;
    if (gitCode !== 0 && !failure) failure = `git archive exited ${gitCode}`;
    if (failure || !imageId) {
      const said = failure ?? 'the engine reported no image';
      const lastLines = output.length > 0 ? ` Its last output: ${output.join(' | ').slice(-1200)}` : '';
      if (isDiskFull(said) || output.some(isDiskFull)) {
        throw new ReleaseError('DISK_FULL', `The disk of the Docker Engine at ${host} is full while building ${ref.ref} (${said}); free space there (docker image prune, docker builder prune) and prepare the release again.`);
      }
      if (gitCode !== 0) {
        throw new ReleaseError('BUILD_FAILED', `git archive of ${ref.commit} failed (${gitErrors.join('').trim().split('\n').slice(-2).join(' | ') || `exit ${gitCode}`}); is the release repository complete?`);
      }
      const where = step ? ` at "${step.slice(0, 200)}"` : ' before its first step';
      throw new ReleaseError('BUILD_FAILED', `The image of ${ref.ref} (${ref.commit.slice(0, 12)}) did not build${where}: ${said.slice(0, 600)}.${lastLines}`);
    }
    return imageId;
  }

  return {
    resolve: (version) => source.resolve(version),
    packageVersion: (commit) => source.packageVersion(commit),

    async prepare(ref, prepareOptions = {}) {
      requireVersionWord(ref.version);
      if (!/^[0-9a-f]{40}$/.test(ref.commit)) throw new ReleaseError('INVALID_ARGUMENT', `${JSON.stringify(String(ref.commit).slice(0, 80))} is not a full commit; resolve the version first`);
      const progress = prepareOptions.onProgress ?? (() => undefined);
      const [existing] = await engine(() => docker.listImages({ filters: { label: [`${RELEASE_COMMIT_LABEL}=${ref.commit}`] } }));
      if (existing) {
        progress(`${ref.ref}: the image ${existing.Id.slice(7, 19)} of commit ${ref.commit.slice(0, 12)} is already built, reusing it`);
        await tagAll(existing.Id, ref);
        return preparedOf(ref);
      }
      const version = await source.packageVersion(ref.commit);
      progress(`${ref.ref}: building the image of ${ref.commit.slice(0, 12)} (version ${version})`);
      const imageId = await build(ref, version, prepareOptions);
      await tagAll(imageId, ref);
      progress(`${ref.ref}: built ${imageId.slice(7, 19)}, tagged ${SERVICE_NAMES.map((service) => releaseImage(service, ref.version)).join(', ')}`);
      return preparedOf(ref);
    },

    async missing(artifact) {
      if (artifact.kind !== 'image') return `the Docker stack runs images, not the release directory ${artifact.directory}`;
      try {
        await engine(() => docker.getImage(artifact.image).inspect());
        return undefined;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return `its image ${artifact.image} is no longer in the Docker Engine at ${host}`;
        throw error;
      }
    },

    async validate(release, service, validateOptions = {}) {
      const started = Date.now();
      const artifact = release.artifacts[service];
      if (!SERVICE_NAMES.includes(service) || !artifact) throw new ReleaseError('INVALID_ARGUMENT', `There is no service ${JSON.stringify(String(service).slice(0, 80))}; the services are ${SERVICE_NAMES.join(', ')}`);
      if (artifact.kind !== 'image') throw new ReleaseError('INVALID_ARGUMENT', `${service} of ${release.version} is a release directory; the Docker stack runs images: prepare the release with the Docker builder`);
      const timeoutMs = validateOptions.timeoutMs ?? DEFAULT_VALIDATE_MS;
      let info: Docker.ImageInspectInfo;
      try {
        info = await engine(() => docker.getImage(artifact.image).inspect());
      } catch (error) {
        if (error instanceof ReleaseError) throw error;
        throw new ReleaseError('INVALID_ARGUMENT', `The image ${artifact.image} is not in the Docker Engine at ${host} (${engineErrorText(error)}); prepare the release first`, { cause: error });
      }
      const expected = info.Config.Labels?.[RELEASE_VERSION_LABEL];
      const outcome = await tryInIsolation(service, artifact.image, expected, timeoutMs, validateOptions.signal);
      return { service, ...outcome, durationMs: Date.now() - started } satisfies ReleaseValidation;
    },
  };

  async function tryInIsolation(service: ServiceName, image: string, expected: string | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ healthy: boolean; detail: string }> {
    const port = await unusedLoopbackPort();
    const scratch = service === 'audit-engine' || service === 'evolution-oversight' ? await scratchDatabase(options.validationDatabaseUrl ?? env.DATABASE_URL, service) : undefined;
    let container: Docker.Container | undefined;
    try {
      container = await engine(() =>
        docker.createContainer({
          name: `acgs-validate-${service}-${randomBytes(4).toString('hex')}`,
          Image: image,
          Cmd: ['node', '--import', 'tsx', `services/${service}/main.ts`],
          Labels: { [VALIDATION_LABEL]: service },
          Env: [
            `PORT=${port}`,
            'HOST=127.0.0.1',
            `ACGS_STATE_DIR=${SCRATCH}/state`,
            `TMPDIR=${SCRATCH}`,
            `ACGS_ADMIN_TOKEN=${randomBytes(24).toString('hex')}`,
            `ACGS_SERVICE_TOKEN=${randomBytes(24).toString('hex')}`,
            // Its neighbours are not there: calls fail at once instead of reaching the live stack.
            `POLICY_ENGINE_URL=${NOWHERE}`,
            `AUDIT_ENGINE_URL=${NOWHERE}`,
            ...(scratch ? [`DATABASE_URL=${scratch.url}`, 'DATABASE_POOL_MAX=1'] : []),
          ],
          HostConfig: {
            NetworkMode: 'host',
            ReadonlyRootfs: true,
            // Scratch state, gone with the container. A path the image does not have: over an
            // existing directory this engine keeps the tmpfs root-owned 0755, whatever `mode` says.
            Tmpfs: { [SCRATCH]: 'rw,size=64m,mode=1777' },
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges:true'],
          },
        }),
      );
      await engine(() => container!.start());
      return await waitForHealth(container, service, port, expected, timeoutMs, signal);
    } finally {
      await container?.remove({ force: true }).catch(() => undefined);
      await scratch?.drop();
    }
  }

  async function waitForHealth(container: Docker.Container, service: ServiceName, port: number, expected: string | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ healthy: boolean; detail: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = 'it did not answer yet';
    const lastLines = async () => {
      const logs = await containerOutput(container);
      return logs ? `; its last output: ${logs}` : '';
    };
    for (;;) {
      if (signal?.aborted) return { healthy: false, detail: `validation of ${service} was cancelled (${last})` };
      const state = (await engine(() => container.inspect())).State;
      if (!state.Running) return { healthy: false, detail: `${service} exited (code ${state.ExitCode}) before it was healthy${await lastLines()}` };
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await response.json().catch(() => ({}))) as { status?: string; version?: string; problems?: string[] };
        if (response.status === 200) {
          if (expected === undefined || body.version === expected) return { healthy: true, detail: `${service} ${String(body.version)} answered /health ${body.status ?? 'healthy'} on 127.0.0.1:${port}` };
          return { healthy: false, detail: `${service} reports version ${String(body.version)} in /health, but the release's package.json says ${expected}` };
        }
        last = `/health answered ${response.status} (${body.status ?? 'no status'}${body.problems?.length ? `: ${body.problems.join('; ')}` : ''})`;
      } catch (error) {
        last = `/health does not answer (${(error as Error).message})`;
      }
      if (Date.now() >= deadline) return { healthy: false, detail: `${service} was not healthy within ${Math.round(timeoutMs / 1000)} s: ${last}${await lastLines()}` };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function containerOutput(container: Docker.Container): Promise<string> {
    try {
      const body = (await container.logs({ stdout: true, stderr: true, follow: false, tail: 5 })) as unknown as Buffer;
      return demuxedText(body).trim().split('\n').filter(Boolean).join(' | ').slice(0, 800);
    } catch {
      return '';
    }
  }
}

/** The text of a non-TTY log body: each frame is an 8-byte header (stream, size) and its bytes. */
function demuxedText(body: Buffer): string {
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= body.length; ) {
    const size = body.readUInt32BE(offset + 4);
    parts.push(body.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}


/** A database of its own on the given server for one validation, dropped afterwards. */
async function scratchDatabase(serverUrl: string | undefined, service: ServiceName): Promise<{ url: string; drop(): Promise<void> }> {
  if (!serverUrl) {
    throw new ReleaseError('INVALID_ARGUMENT', `Validating ${service} needs a PostgreSQL server for a scratch database: set DATABASE_URL (a user that may create databases)`);
  }
  const name = `acgs_validate_${service.replaceAll('-', '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
