/**
 * The stack both procedures work on: OUR docker-compose.yml with bench/deploy/compose-override.yml
 * (the release images, host network, the machine's PostgreSQL and Redis), brought up with
 * Debian's docker-compose at a release, and taken down again, leaving nothing behind: containers,
 * volumes, databases, Redis keys, the resolved files.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { ACGS_COMPOSE_SERVICES, PORT_VARIABLES, compose, writeHostNetworkConfig, type ComposeInvocation } from '../../test/fixtures/compose/compose-project.js';
import { TEST_DOCKER_HOST, removeContainersWithLabel } from '../../test/testing/docker.js';
import { unusedLoopbackPort } from '../../test/testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { requireRedis } from '../../test/testing/redis.js';
import { composeProjectLabel } from '../../test/testing/responder-project.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const OVERRIDE = 'bench/deploy/compose-override.yml';
/** Four containers created or removed at once copy or delete four filesystems on the vfs driver. */
const COMPOSE_TIMEOUT_MS = 600_000;

export interface BenchComposeStack {
  project: string;
  ports: Record<ServiceName, number>;
  /** The container of a service: compose names it <project>-<service>, and the driver keeps the name. */
  containerName(service: ServiceName): string;
  /**
   * `docker-compose up -d --no-build --no-deps` of the four services at the release tag, with the
   * services' Docker health check every `healthInterval` (docker-compose.yml's 15 s unless given).
   */
  up(tag: string, healthInterval?: string): Promise<void>;
  /** Removes the project's containers and volumes (the stack can be brought up again). */
  down(): Promise<void>;
  /** down, then the databases, Redis keys and files. */
  close(): Promise<void>;
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await unusedLoopbackPort());
  return [...ports];
}

export async function openComposeStack(docker: Docker): Promise<BenchComposeStack> {
  const project = `acgs-benchdeploy-${randomBytes(3).toString('hex')}`;
  const label = composeProjectLabel(project);
  const databases: TestDatabase[] = [];
  let redisCleanup: (() => Promise<void>) | undefined;
  const workDir = await mkdtemp(join(tmpdir(), 'acgs-bench-deploy-'));
  const resolved = new Map<string, string>();
  let invocation: ComposeInvocation | undefined;

  const down = async () => {
    const [file] = resolved.values();
    if (invocation && file) {
      await compose({ ...invocation, files: [file] }, ['down', '--volumes', '--remove-orphans', '--timeout', '5'], COMPOSE_TIMEOUT_MS).catch((error: unknown) => {
        console.error(`compose down of ${project} failed; removing its containers directly: ${(error as Error).message}`);
      });
    }
    // Also what the driver created beside compose, or what a failed `up` left.
    await removeContainersWithLabel(docker, label);
    const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
    await Promise.all((Volumes ?? []).map((volume) => docker.getVolume(volume.Name).remove().catch(() => undefined)));
  };
  const close = async () => {
    await down();
    await Promise.all(databases.map((database) => database.drop().catch(() => undefined)));
    await redisCleanup?.().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    const audit = await createTestDatabase('acgs_bench_audit');
    databases.push(audit);
    const evolution = await createTestDatabase('acgs_bench_evolution');
    databases.push(evolution);
    const redis = await requireRedis();
    redisCleanup = redis.cleanup;
    const chosen = await distinctPorts(ACGS_COMPOSE_SERVICES.length);
    const ports = Object.fromEntries(ACGS_COMPOSE_SERVICES.map((service, index) => [service, chosen[index]!])) as Record<ServiceName, number>;
    const base: ComposeInvocation = {
      cwd: repoRoot,
      project,
      files: ['docker-compose.yml', OVERRIDE],
      env: {
        DOCKER_HOST: TEST_DOCKER_HOST,
        ACGS_ADMIN_TOKEN: randomBytes(24).toString('hex'),
        ACGS_SERVICE_TOKEN: randomBytes(24).toString('hex'),
        // The machine's Redis stands in for the compose one: rendering needs a value.
        REDIS_PASSWORD: randomBytes(16).toString('hex'),
        ACGS_CONTAINER_PREFIX: project,
        ...Object.fromEntries(ACGS_COMPOSE_SERVICES.map((service) => [PORT_VARIABLES[service], String(ports[service])])),
        ACGS_BENCH_AUDIT_DATABASE_URL: audit.url,
        ACGS_BENCH_EVOLUTION_DATABASE_URL: evolution.url,
        ACGS_BENCH_REDIS_URL: redis.url,
        ACGS_BENCH_REDIS_PREFIX: redis.prefix,
        ACGS_BENCH_DOCKER_HOST: TEST_DOCKER_HOST,
      },
    };
    invocation = base;

    const fileFor = async (tag: string, healthInterval: string | undefined) => {
      const key = `${tag}.${healthInterval ?? 'compose'}`;
      let file = resolved.get(key);
      if (!file) {
        file = join(workDir, `docker-compose.${key}.yml`);
        await writeHostNetworkConfig({ ...base, env: { ...base.env, ACGS_BENCH_VERSION: tag, ACGS_BENCH_HEALTH_INTERVAL: healthInterval } }, file);
        resolved.set(key, file);
      }
      return file;
    };

    return {
      project,
      ports,
      containerName: (service) => `${project}-${service}`,
      async up(tag, healthInterval) {
        await compose({ ...base, files: [await fileFor(tag, healthInterval)] }, ['up', '--detach', '--no-build', '--no-deps', ...ACGS_COMPOSE_SERVICES], COMPOSE_TIMEOUT_MS);
      },
      down,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
