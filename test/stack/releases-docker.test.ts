/**
 * Docker releases against the real Docker Engine: the fixture repository's releases built from
 * their own Dockerfile (on acgs-test/node-npm, scripts/build-test-images.sh, with the build on the
 * host network), validated as throwaway containers on loopback, and deployed onto a service of a
 * real docker-compose project by the Docker driver's recreate. Each build is done once, in
 * beforeAll; the images tagged here (acgs/*:9.*) are removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import { createDockerStack } from '../../services/stack/docker/index.js';
import { createDockerReleaseBuilder, RELEASE_COMMIT_LABEL, VALIDATION_LABEL } from '../../services/stack/releases/docker-releases.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import { isReleaseError, type PreparedRelease, type ReleaseBuilder, type ReleaseError } from '../../services/stack/releases/release.js';
import type { Stack } from '../../services/stack/stack.js';
import { compose, type ComposeInvocation } from '../fixtures/compose/compose-project.js';
import { TEST_DOCKER_HOST, requireDockerEngine } from '../testing/docker.js';
import { removeTestReleases, takeReleaseImages, testDockerReleaseBuilder } from '../testing/docker-releases.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { TEST_POSTGRES_URL } from '../testing/postgres.js';
import { createReleaseRepo, type ReleaseRepo } from '../testing/release-repo.js';
import { TEST_DRIVER_OPTIONS, uniqueProjectName } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-release');

let docker: Docker;
let repo: ReleaseRepo;
let builder: ReleaseBuilder;
const built: Partial<Record<'v9.0.0' | 'v9.1.0' | 'v9.2.0-bad', PreparedRelease>> = {};
const progress: string[] = [];
let composeDir: string | undefined;
let invocation: ComposeInvocation | undefined;

async function releaseErrorOf(promise: Promise<unknown>): Promise<ReleaseError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!isReleaseError(error)) throw new Error(`expected a ReleaseError, got ${String(error)}`);
  return error;
}

let releaseImagesTurn: (() => Promise<void>) | undefined;

// The release tags are shared with runbooks/deploy/deploy-docker.test.ts: one file at a time.
beforeAll(async () => {
  releaseImagesTurn = await takeReleaseImages();
}, 20 * 60_000);

beforeAll(async () => {
  docker = await requireDockerEngine();
  repo = createReleaseRepo();
  await removeTestReleases(docker);
  builder = await testDockerReleaseBuilder(docker, repo.dir);
  for (const tag of ['v9.0.0', 'v9.1.0', 'v9.2.0-bad'] as const) {
    built[tag] = await builder.prepare(await builder.resolve(tag), { onProgress: (line) => progress.push(line) });
  }
  // The first build installs the dependencies (minutes on vfs under a loaded run); the others
  // share that layer (the Dockerfile neutralises package.json's version for it) and add the code.
}, 900_000);

afterAll(async () => {
  if (invocation) await compose(invocation, ['down', '--volumes', '--timeout', '2']).catch(() => undefined);
  if (composeDir) rmSync(composeDir, { recursive: true, force: true });
  if (docker) await removeTestReleases(docker);
  repo?.remove();
  await releaseImagesTurn?.();
  // compose down and each image removal copy or delete whole image trees on vfs: minutes under load.
}, 300_000);

describe('Docker releases: prepare', () => {
  it('builds one image per release, tagged for the four services and labelled with its commit', async () => {
    expect(built['v9.1.0']!.artifacts).toEqual(Object.fromEntries(SERVICE_NAMES.map((service) => [service, { kind: 'image', image: `acgs/${service}:9.1.0` }])));
    const ids = await Promise.all(SERVICE_NAMES.map(async (service) => (await docker.getImage(`acgs/${service}:9.1.0`).inspect()).Id));
    expect(new Set(ids).size).toBe(1);
    const info = await docker.getImage('acgs/policy-engine:9.1.0').inspect();
    expect(info.Config.Labels?.[RELEASE_COMMIT_LABEL]).toBe(repo.commits['v9.1.0']);
    expect((await docker.getImage('acgs/policy-engine:9.0.0').inspect()).Id).not.toBe(info.Id);
    // The build's own output reached onProgress, step by step.
    expect(progress.some((line) => /^Step \d+\/\d+ : RUN npm ci/.test(line))).toBe(true);
  });

  it('reuses the image of a commit already built, whatever the version word', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const again = await builder.prepare(await builder.resolve('9.1.0'), { onProgress: (line) => lines.push(line) });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(again.artifacts['audit-engine']).toEqual({ kind: 'image', image: 'acgs/audit-engine:9.1.0' });
    expect(lines.join('\n')).toContain('already built, reusing it');
    expect(lines.some((line) => line.startsWith('Step '))).toBe(false);
  });

  it('fails with BUILD_FAILED naming the step when the Dockerfile of a ref does not build', async () => {
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@acgs.invalid', 'checkout', '-q', '-b', 'broken-build', repo.commits['v9.1.0']], { cwd: repo.dir });
    writeFileSync(join(repo.dir, 'Dockerfile'), 'ARG NODE_IMAGE=node:24-slim\nFROM ${NODE_IMAGE}\nRUN echo building && exit 7\n');
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@acgs.invalid', '-c', 'commit.gpgsign=false', 'commit', '-q', '-am', 'broken Dockerfile'], { cwd: repo.dir });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@acgs.invalid', '-c', 'tag.gpgsign=false', 'tag', 'v9.9.0-nobuild'], { cwd: repo.dir });
    const error = await releaseErrorOf(builder.prepare(await builder.resolve('9.9.0-nobuild')));
    expect(error.code).toBe('BUILD_FAILED');
    // The engine counts the LABEL it adds as steps of its own: Step 3/5.
    expect(error.message).toMatch(/at "Step 3\/\d+ : RUN echo building && exit 7"/);
    expect(error.message).toContain('returned a non-zero code: 7');
    expect(error.message).toContain('building');
    expect(await docker.listImages({ filters: { reference: ['acgs/policy-engine:9.9.0-nobuild'] } })).toEqual([]);
  }, 60_000);

  it('refuses a ref without a full commit, building nothing', async () => {
    const error = await releaseErrorOf(builder.prepare({ version: '9.1.0', ref: 'v9.1.0', commit: 'HEAD' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('says ENGINE_DOWN when the engine does not answer', async () => {
    const port = await unusedLoopbackPort();
    const offline = createDockerReleaseBuilder({ dockerHost: `tcp://127.0.0.1:${port}`, source: createReleaseSource({ repo: repo.dir }) });
    const error = await releaseErrorOf(offline.prepare(await offline.resolve('9.1.0')));
    expect(error.code).toBe('ENGINE_DOWN');
    expect(error.message).toContain(`tcp://127.0.0.1:${port}`);
  });
});

describe('Docker releases: validate', () => {
  it('runs a good release in isolation: healthy at its version, container and database gone after', async () => {
    const databasesBefore = await scratchDatabases();
    const result = await builder.validate(built['v9.1.0']!, 'audit-engine', { timeoutMs: 60_000 });
    expect(result).toMatchObject({ service: 'audit-engine', healthy: true });
    expect(result.detail).toContain('audit-engine 9.1.0 answered /health');
    expect(await docker.listContainers({ all: true, filters: { label: [VALIDATION_LABEL] } })).toEqual([]);
    expect(await scratchDatabases()).toEqual(databasesBefore);
  }, 90_000);

  it('says unhealthy for the bad release, why, and removes its container', async () => {
    const result = await builder.validate(built['v9.2.0-bad']!, 'policy-engine', { timeoutMs: 8000 });
    expect(result.healthy).toBe(false);
    expect(result.detail).toMatch(/\/health answered 503 \(unhealthy/);
    expect(await docker.listContainers({ all: true, filters: { label: [VALIDATION_LABEL] } })).toEqual([]);
  }, 60_000);

  it('refuses a release directory and an unknown service', async () => {
    const directory = { ...built['v9.1.0']!, artifacts: { ...built['v9.1.0']!.artifacts, 'policy-engine': { kind: 'directory' as const, directory: '/tmp/x' } } };
    expect((await releaseErrorOf(builder.validate(directory, 'policy-engine'))).code).toBe('INVALID_ARGUMENT');
    expect((await releaseErrorOf(builder.validate(built['v9.1.0']!, 'web' as never))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('Docker releases: deploy onto a compose service', () => {
  let stack: Stack;
  let port: number;

  beforeAll(async () => {
    port = await unusedLoopbackPort();
    composeDir = mkdtempSync(join(tmpdir(), 'acgs-release-compose-'));
    const file = join(composeDir, 'docker-compose.yml');
    writeFileSync(
      file,
      YAML.stringify({
        version: '3.8',
        services: {
          'policy-engine': {
            image: 'acgs/policy-engine:9.0.0',
            network_mode: 'host',
            command: ['node', '--import', 'tsx', 'services/policy-engine/main.ts'],
            environment: {
              PORT: String(port),
              HOST: '127.0.0.1',
              ACGS_ADMIN_TOKEN: 'a'.repeat(48),
              ACGS_SERVICE_TOKEN: 'b'.repeat(48),
              AUDIT_ENGINE_URL: 'http://127.0.0.1:1',
              ACGS_STATE_DIR: '/acgs-scratch/state',
              TMPDIR: '/acgs-scratch',
            },
            read_only: true,
            // On this engine a tmpfs's `mode` holds only while its mount point is new (see
            // docker-releases.ts); a handover starts containers a second time, so the owner is set.
            tmpfs: ['/acgs-scratch:uid=1000,gid=1000'],
            healthcheck: {
              test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"],
              interval: '1s',
              timeout: '5s',
              retries: 3,
              start_period: '60s',
            },
          },
        },
      }),
    );
    invocation = { cwd: composeDir, project, files: [file], env: { DOCKER_HOST: TEST_DOCKER_HOST } };
    await compose(invocation, ['up', '-d', '--no-build']);
    stack = createDockerStack({ ...TEST_DRIVER_OPTIONS, dockerHost: TEST_DOCKER_HOST, project });
    const deadline = Date.now() + 60_000;
    while ((await stack.health('policy-engine')).status !== 'healthy') {
      if (Date.now() > deadline) throw new Error(`the compose service did not get healthy: ${JSON.stringify(await stack.health('policy-engine'))}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }, 120_000);

  async function servedVersion(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    return ((await response.json()) as { version: string }).version;
  }

  it('deploys v9.1.0 onto the running service: /health says 9.1.0', async () => {
    expect(await stack.running('policy-engine')).toEqual({ kind: 'image', image: 'acgs/policy-engine:9.0.0' });
    expect(await servedVersion()).toBe('9.0.0');
    const report = await stack.deploy('policy-engine', built['v9.1.0']!.artifacts['policy-engine'], { timeoutMs: 60_000 });
    expect(report).toMatchObject({
      service: 'policy-engine',
      artifact: { kind: 'image', image: 'acgs/policy-engine:9.1.0' },
      previous: { kind: 'image', image: 'acgs/policy-engine:9.0.0' },
      // Both bind the same host port on the host network: the new one cannot start beside the old.
      strategy: 'handover',
      health: 'healthy',
    });
    expect(report.unavailableMs).toBeGreaterThan(0);
    expect(report.unavailableMs).toBeLessThanOrEqual(report.durationMs);
    expect(await servedVersion()).toBe('9.1.0');
    expect(await stack.running('policy-engine')).toEqual({ kind: 'image', image: 'acgs/policy-engine:9.1.0' });
  }, 120_000);

  it('deploying the bad release fails UNHEALTHY and the old container is back and healthy', async () => {
    const error = await stackErrorOf(stack.deploy('policy-engine', built['v9.2.0-bad']!.artifacts['policy-engine'], { timeoutMs: 8000 }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.reason).toContain('runs acgs/policy-engine:9.1.0 again');
    expect(await stack.running('policy-engine')).toEqual({ kind: 'image', image: 'acgs/policy-engine:9.1.0' });
    expect((await stack.health('policy-engine')).status).toBe('healthy');
    expect(await servedVersion()).toBe('9.1.0');
  }, 120_000);
});

async function scratchDatabases(): Promise<string[]> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'acgs_validate_%' ORDER BY datname");
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}
