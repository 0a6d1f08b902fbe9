/**
 * OUR docker-compose.yml, brought up with Debian's docker-compose 1.29 on the real Docker Engine:
 * the four ACGS services from the local acgs-test/node image with the repository mounted, on the
 * host network at ports the kernel chose, against the machine's PostgreSQL and Redis
 * (test/fixtures/compose/host-services.yml). The bot's side then finds that stack through
 * selectStack, controls it through the Docker driver, and checks it with the registry's `health`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommandLine } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { sandboxControllerClient } from '../../services/clients/sandbox-controller.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { createDockerStack } from '../../services/stack/docker/index.js';
import { selectStack } from '../../services/stack/select-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { ACGS_COMPOSE_SERVICES, PORT_VARIABLES, resolvedConfig } from '../fixtures/compose/compose-project.js';
import { HOST_SERVICES_IMAGE as NODE_IMAGE, openHostServicesStack, type HostServicesStack } from '../fixtures/compose/host-services-stack.js';
import { TEST_DOCKER_HOST, requireDockerEngine, requireImage } from '../testing/docker.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const SANDBOX_IMAGE = 'acgs-test/busybox:latest';

/** Values only for rendering the file: compose checks that they are set, the services their length. */
const RENDER_ENV = { ACGS_ADMIN_TOKEN: 'compose-validation-only', ACGS_SERVICE_TOKEN: 'compose-validation-only', REDIS_PASSWORD: 'compose-validation-only' };

let docker: Docker;
let hostStack: HostServicesStack | undefined;
let project = '';
let adminToken = '';
let serviceToken = '';
let ports = {} as Record<ServiceName, number>;
let stack: Stack | undefined;
let postgres: pg.Pool | undefined;
let redis: Redis | undefined;

const url = (service: ServiceName) => `http://127.0.0.1:${ports[service]}`;

async function teardown(): Promise<void> {
  await stack?.close();
  stack = undefined;
  await postgres?.end().catch(() => undefined);
  postgres = undefined;
  redis?.disconnect();
  redis = undefined;
  await hostStack?.close();
  hostStack = undefined;
}

beforeAll(async () => {
  try {
    docker = await requireDockerEngine();
    await requireImage(docker, SANDBOX_IMAGE);
    hostStack = await openHostServicesStack(docker, 'acgs-compose');
    ({ project, adminToken, serviceToken, ports } = hostStack);
    postgres = new pg.Pool({ connectionString: hostStack.auditDatabaseUrl, max: 2 });
    redis = new Redis(hostStack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  } catch (error) {
    await teardown();
    throw error;
  }
}, 240_000);

afterAll(teardown, 120_000);

describe('docker-compose.yml itself', () => {
  it('publishes each service on 127.0.0.1 at its firm port and names containers acgs-<service> when no variable is set', async () => {
    const unset = Object.fromEntries(['ACGS_CONTAINER_PREFIX', ...Object.values(PORT_VARIABLES)].map((key) => [key, undefined]));
    const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...unset, ...RENDER_ENV } });
    const firm: Record<string, string> = { 'sandbox-controller': '8001', 'evolution-oversight': '8002', 'audit-engine': '8003', 'policy-engine': '8004' };
    for (const [service, port] of Object.entries(firm)) {
      expect(config.services[service]!.container_name).toBe(`acgs-${service}`);
      expect(config.services[service]!.ports).toEqual([`127.0.0.1:${port}:${port}/tcp`]);
    }
    expect(config.services.postgres!.container_name).toBe('acgs-postgres');
  });

  it('publishes at the ports and under the container prefix the environment gives, still on 127.0.0.1 only', async () => {
    const env: Record<string, string> = { ...RENDER_ENV, ACGS_CONTAINER_PREFIX: 'staging' };
    for (const [index, service] of ACGS_COMPOSE_SERVICES.entries()) env[PORT_VARIABLES[service]] = String(18_100 + index);
    const config = await resolvedConfig({ cwd: repoRoot, project: 'staging', files: ['docker-compose.yml'], env });
    for (const [index, service] of ACGS_COMPOSE_SERVICES.entries()) {
      const internal = { 'policy-engine': 8004, 'audit-engine': 8003, 'evolution-oversight': 8002, 'sandbox-controller': 8001 }[service];
      expect(config.services[service]!.container_name).toBe(`staging-${service}`);
      expect(config.services[service]!.ports).toEqual([`127.0.0.1:${18_100 + index}:${internal}/tcp`]);
    }
  });

  it('refuses to render without ACGS_ADMIN_TOKEN, saying how to make one', async () => {
    await expect(
      resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, ACGS_ADMIN_TOKEN: '' } }),
    ).rejects.toThrow(/set ACGS_ADMIN_TOKEN/);
  });

  it('refuses to render without ACGS_SERVICE_TOKEN, saying how to make one', async () => {
    await expect(
      resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, ACGS_SERVICE_TOKEN: '' } }),
    ).rejects.toThrow(/set ACGS_SERVICE_TOKEN/);
  });

  it('refuses to render without REDIS_PASSWORD, saying how to make one', async () => {
    await expect(resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, REDIS_PASSWORD: '' } })).rejects.toThrow(
      /set REDIS_PASSWORD/,
    );
  });

  it('runs Redis with a password, and gives it to the policy engine in REDIS_URL and to redis-cli in the Redis container', async () => {
    const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, REDIS_PASSWORD: 'a1b2c3' } });
    const redis = config.services.redis!;
    expect(redis.command).toEqual(expect.arrayContaining(['--requirepass', 'a1b2c3']));
    expect((redis.command as string[]).indexOf('a1b2c3')).toBe((redis.command as string[]).indexOf('--requirepass') + 1);
    expect(redis.environment).toMatchObject({ REDISCLI_AUTH: 'a1b2c3' });
    expect(redis.ports).toBeUndefined();
    expect(config.services['policy-engine']!.environment).toMatchObject({ REDIS_URL: 'redis://:a1b2c3@redis:6379' });
  });

  it('runs Prometheus and Alertmanager configured from prometheus/, published on 127.0.0.1 only, Alertmanager with the webhook token', async () => {
    const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, ACGS_ALERTS_TOKEN: 'alerts-token-for-rendering' } });
    const prometheus = config.services.prometheus!;
    const alertmanager = config.services.alertmanager!;
    expect(prometheus.image).toMatch(/^prom\/prometheus:v/);
    expect(alertmanager.image).toMatch(/^prom\/alertmanager:v/);
    expect(prometheus.volumes).toEqual(
      expect.arrayContaining([
        `${join(repoRoot, 'prometheus/prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`,
        `${join(repoRoot, 'prometheus/alert-rules.yml')}:/etc/prometheus/alert-rules.yml:ro`,
      ]),
    );
    expect(alertmanager.volumes).toEqual(expect.arrayContaining([`${join(repoRoot, 'prometheus/alertmanager.yml')}:/etc/alertmanager/alertmanager.yml:ro`]));
    expect(prometheus.ports).toEqual(['127.0.0.1:9090:9090/tcp']);
    expect(alertmanager.ports).toEqual(['127.0.0.1:9093:9093/tcp']);
    expect(alertmanager.environment).toMatchObject({ ACGS_ALERTS_TOKEN: 'alerts-token-for-rendering' });
  });

  it('has Prometheus and Alertmanager listen where the binaries do unless told, and turns gossip off for an empty cluster address', async () => {
    const commands = async (env: Record<string, string | undefined>) => {
      const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: { ...RENDER_ENV, ...env } });
      return { prometheus: config.services.prometheus!.command as string[], alertmanager: (config.services.alertmanager!.command as string[]).join(' ') };
    };
    const unset = { ACGS_PROMETHEUS_LISTEN_ADDRESS: undefined, ACGS_ALERTMANAGER_LISTEN_ADDRESS: undefined, ACGS_ALERTMANAGER_CLUSTER_ADDRESS: undefined };
    const defaults = await commands(unset);
    expect(defaults.prometheus).toContain('--web.listen-address=0.0.0.0:9090');
    expect(defaults.alertmanager).toMatch(/--web\.listen-address=0\.0\.0\.0:9093 --cluster\.listen-address=0\.0\.0\.0:9094$/);
    const told = await commands({ ACGS_PROMETHEUS_LISTEN_ADDRESS: '127.0.0.1:19090', ACGS_ALERTMANAGER_LISTEN_ADDRESS: '127.0.0.1:19093', ACGS_ALERTMANAGER_CLUSTER_ADDRESS: '' });
    expect(told.prometheus).toContain('--web.listen-address=127.0.0.1:19090');
    expect(told.prometheus.filter((arg) => arg.startsWith('--web.listen-address='))).toHaveLength(1);
    expect(told.alertmanager).toMatch(/--web\.listen-address=127\.0\.0\.1:19093 --cluster\.listen-address=$/);
  });

  it('gives the service token to all four services', async () => {
    const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: RENDER_ENV });
    for (const service of ACGS_COMPOSE_SERVICES) {
      expect(JSON.stringify(config.services[service]!.environment), service).toContain('"ACGS_SERVICE_TOKEN":"compose-validation-only"');
    }
  });

  it("checks each service's health at its own /health, which answers 503 when the service is unhealthy", async () => {
    // The policy engine's /v1/data/acgs/main/health answers 200 while its /health says 503: a
    // container checked there stays "healthy" when the service is not (issue 13).
    const config = await resolvedConfig({ cwd: repoRoot, project: 'acgs', files: ['docker-compose.yml'], env: RENDER_ENV });
    for (const service of ACGS_COMPOSE_SERVICES) {
      const check = (config.services[service]!.healthcheck as { test?: string[] } | undefined)?.test ?? [];
      const probe = check.join(' ');
      expect(probe, service).toContain("'http://127.0.0.1:' + process.env.PORT + '/health'");
      expect(probe, service).toContain('r.ok ? 0 : 1');
    }
  });
});

describe('the compose stack, seen and controlled by the bot', () => {
  it('is chosen by selectStack as a Docker stack of four healthy services named after the project', async () => {
    const selection = await selectStack({
      env: { DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: project },
      local: () => {
        throw new Error('the local driver must not be chosen while the compose project runs');
      },
    });
    stack = selection.stack;
    expect(stack.kind).toBe('docker');
    expect(selection.reason).toContain(`compose project ${project} has 4 container(s)`);
    const services = await stack.list();
    expect(services.map((service) => service.name)).toEqual([...ACGS_COMPOSE_SERVICES].sort());
    for (const service of services) {
      expect(service.replicas).toHaveLength(1);
      expect(service.replicas[0]).toMatchObject({ name: `${project}-${service.name}`, number: 1, state: 'running', health: 'healthy', image: NODE_IMAGE });
      expect((await stack.health(service.name)).status).toBe('healthy');
    }
  });

  it('reports every service healthy through the registry\'s health command', async () => {
    const services = createCommandPathDependencies({
      endpoints: Object.fromEntries(ACGS_COMPOSE_SERVICES.map((service) => [service, url(service)])) as Record<ServiceName, string>,
      adminToken,
      database: stackDatabaseOn(postgres!),
      redis: stackRedisOn(redis!),
      checkTimeoutMs: 5000,
    });
    const outcome = await executeCommandLine({ registry: createCommandRegistry(), services }, { line: 'health', actor: { id: 'U0COMPOSE' }, origin: 'slash' });
    expect(outcome.command).toBe('health');
    const data = outcome.document.data as { verdict: string; checks: Array<{ name: string; tone: string; status: string }> };
    const byName = Object.fromEntries(data.checks.map((check) => [check.name, check]));
    for (const service of ACGS_COMPOSE_SERVICES) expect(byName[service], JSON.stringify(byName[service])).toMatchObject({ tone: 'ok', status: 'healthy' });
    expect(byName['policy-engine policy']).toMatchObject({ tone: 'ok' });
    expect(data.verdict).toBe('ok');
    expect(outcome.outcome).toBe('ok');
  });

  it('restarts the policy engine through the driver: a new start, healthy again, answering on its port', async () => {
    const before = (await stack!.list()).find((service) => service.name === 'policy-engine')!.replicas[0]!;
    const report = await stack!.restart('policy-engine', { timeoutMs: 90_000 });
    expect(report.health).toBe('healthy');
    expect(report.replicas).toHaveLength(1);
    expect(report.replicas[0]).toMatchObject({ name: `${project}-policy-engine`, id: before.id, previousId: before.id, health: 'healthy' });
    expect(Date.parse(report.replicas[0]!.startedAt!)).toBeGreaterThan(Date.parse(before.startedAt!));
    const response = await fetch(`${url('policy-engine')}/v1/data/acgs/main/health`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-constitutional-hash')).toBe(CONSTITUTIONAL_HASH);
  }, 120_000);

  it('ends a wait for health on the engine\'s health event, not on the next poll', async () => {
    // A poll interval longer than the test's timeout: only the event can end this wait in time.
    const slowPolling = createDockerStack({ dockerHost: TEST_DOCKER_HOST, project, pollIntervalMs: 600_000 });
    const report = await slowPolling.restart('audit-engine', { timeoutMs: 90_000 });
    expect(report.health).toBe('healthy');
    expect(report.durationMs).toBeLessThan(60_000);
  }, 90_000);

  it("reads the restarted policy engine's logs through the driver: its shutdown on SIGTERM and both starts, filtered by plain text", async () => {
    const shutdown = await stack!.logs('policy-engine', { grep: 'shutting down' });
    expect(shutdown.lines.length).toBeGreaterThanOrEqual(1);
    expect(shutdown.lines.every((line) => line.text.toLowerCase().includes('shutting down'))).toBe(true);
    expect(shutdown.lines.at(-1)!.text).toContain('SIGTERM');
    const listening = await stack!.logs('policy-engine', { grep: `listening at http://127.0.0.1:${ports['policy-engine']}` });
    expect(listening.lines.length).toBeGreaterThanOrEqual(2);
    expect(listening.lines.every((line) => line.replica === `${project}-policy-engine`)).toBe(true);
    const lastTwo = await stack!.logs('policy-engine', { tail: 2 });
    expect(lastTwo.lines).toHaveLength(2);
  });

  it('reads CPU and memory of each of the four containers through the driver', async () => {
    const stats = await stack!.stats();
    expect(stats.map((sample) => sample.service).sort()).toEqual([...ACGS_COMPOSE_SERVICES].sort());
    for (const sample of stats) {
      expect(sample.replica).toBe(`${project}-${sample.service}`);
      // A Node service holds tens of MiB; a zero would mean the sample was not read.
      expect(sample.memory.usedBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(sample.pids).toBeGreaterThan(0);
    }
    const one = await stack!.stats('audit-engine');
    expect(one.map((sample) => sample.replica)).toEqual([`${project}-audit-engine`]);
  });

  it('runs code in a sandbox beside the stack through the engine socket compose mounts into the sandbox controller, only for the service token', async () => {
    const tokenless = await sandboxControllerClient(url('sandbox-controller'), { timeoutMs: 60_000 })
      .execute({ agent_id: 'compose-test', code: 'echo never', trust_level: 0.95, explanation: 'no token', timeout_seconds: 5 })
      .catch((error: unknown) => error);
    expect(tokenless).toMatchObject({ status: 401, code: 'SERVICE_UNAUTHORIZED' });
    const client = sandboxControllerClient(url('sandbox-controller'), { timeoutMs: 60_000, serviceToken });
    const result = await client.execute({
      agent_id: 'compose-test',
      code: 'echo from-the-compose-stack; id -u',
      trust_level: 0.95,
      explanation: 'compose stack smoke test',
      timeout_seconds: 60,
    });
    expect(result).toMatchObject({ exit_code: 0, termination_reason: 'exit', stdout: 'from-the-compose-stack\n65534\n' });
  }, 90_000);

  it('refuses a service the compose project does not have, naming the four it has', async () => {
    await expect(stack!.restart('postgres')).rejects.toThrow(/no service "postgres".*audit-engine, evolution-oversight, policy-engine, sandbox-controller/);
  });
});
