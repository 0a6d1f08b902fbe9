import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { openStackPostgres, openStackRedis } from '../../services/stack/stack-connections.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import { buildApp as buildAuditEngine } from '../../services/audit-engine/app.js';
import { loadConfig as loadAuditConfig } from '../../services/audit-engine/config.js';
import { startEvolutionApp } from '../../services/evolution-oversight/testing/evolution-app.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { Service } from '../../services/kit/service.js';
import { buildApp as buildPolicyEngine } from '../../services/policy-engine/app.js';
import { loadConfig as loadPolicyConfig } from '../../services/policy-engine/config.js';
import { buildApp as buildSandboxController } from '../../services/sandbox-controller/app.js';
import { loadConfig as loadSandboxConfig } from '../../services/sandbox-controller/config.js';
import { LABELS } from '../../services/sandbox-controller/sandbox/container-spec.js';
import { TEST_DOCKER_HOST, removeContainersWithLabel, requireDockerEngine, requireImage, silentDockerHost } from './docker.js';
import { unusedLoopbackPort } from './loopback.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { requireRedis } from './redis.js';
import { TEST_SERVICE_TOKEN, testToken } from './tokens.js';

export interface StackOptions {
  /**
   * `docker` (default): the Sandbox Controller uses the real Docker Engine the test command
   * provisions. `none`: it points at a loopback port where no engine answers, and its health
   * says it cannot run code.
   */
  containerRuntime?: 'docker' | 'none';
  /** Per-check timeout of the CommandPathDependencies handed out; the bot's default is 2000 ms. */
  checkTimeoutMs?: number;
  /** The Sandbox Controller's SANDBOX_PRUNE_GRACE_SECONDS (default 30): 0 lets a test prune what just exited. */
  sandboxPruneGraceSeconds?: number;
}

export interface ServicesOverrides {
  /** Replace service URLs, e.g. with a HungServer's URL or an unused loopback port. */
  endpoints?: Partial<Record<ServiceName, string>>;
  /** Another PostgreSQL URL, or null for "not configured". Defaults to the Audit Engine's database. */
  postgresUrl?: string | null;
  /** Another Redis URL, or null for "not configured". Defaults to the test Redis. */
  redisUrl?: string | null;
  /** Defaults to the stack's admin token; null for none. */
  adminToken?: string | null;
  /** Defaults to the stack's service token; null for none. */
  serviceToken?: string | null;
  checkTimeoutMs?: number;
  callTimeoutMs?: number;
}

export interface TestStack {
  endpoints: Record<ServiceName, string>;
  adminToken: string;
  /** What the services' write endpoints require (ACGS_SERVICE_TOKEN); the kits' TEST_SERVICE_TOKEN. */
  serviceToken: string;
  /** The Audit Engine's database (also the PostgreSQL the default CommandPathDependencies inspect). */
  auditDatabase: TestDatabase;
  evolutionDatabase: TestDatabase;
  redisUrl: string;
  /** The apps themselves, for tests that need to look inside or drive them directly. */
  apps: Record<ServiceName, Service>;
  /** CommandPathDependencies for the whole real stack. */
  services: CommandPathDependencies;
  /** CommandPathDependencies with some parts replaced; their connections close with the stack. */
  servicesWith(overrides: ServicesOverrides): CommandPathDependencies;
  /** The environment the CLI reads, for a spawned `acgs` against this stack. */
  cliEnv(overrides?: ServicesOverrides): Record<string, string>;
  close(): Promise<void>;
}

/** The checks `health` makes of a whole TestStack, in the order it lists them. */
export const EVERY_HEALTH_CHECK = ['policy-engine', 'policy-engine policy', 'audit-engine', 'evolution-oversight', 'sandbox-controller', 'postgres', 'redis'] as const;

const ENV_KEYS: Record<ServiceName, string> = {
  'policy-engine': 'POLICY_ENGINE_URL',
  'audit-engine': 'AUDIT_ENGINE_URL',
  'evolution-oversight': 'EVOLUTION_OVERSIGHT_URL',
  'sandbox-controller': 'SANDBOX_CONTROLLER_URL',
};

/**
 * The four real services in this process, each on its own loopback port: the Audit Engine and
 * Evolution Oversight on fresh databases of the real PostgreSQL, the Policy Engine with the
 * committed constitution and the real Redis as its L2 (under a key prefix of its own), the
 * Sandbox Controller on the real Docker Engine or on none. Fails, never skips, when PostgreSQL,
 * Redis or (with `docker`) the Docker Engine is missing.
 */
export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const stops: Array<() => Promise<unknown>> = [];
  const close = async () => {
    const errors: unknown[] = [];
    while (stops.length > 0) {
      try {
        await stops.pop()!();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  };
  try {
    const adminToken = testToken();
    const serviceToken = TEST_SERVICE_TOKEN;
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-test-stack-'));
    stops.push(async () => rmSync(stateDir, { recursive: true, force: true }));

    const redis = await requireRedis();
    stops.push(() => redis.cleanup());
    const auditDatabase = await createTestDatabase('acgs_stack_audit');
    stops.push(() => auditDatabase.drop());
    const evolutionDatabase = await createTestDatabase('acgs_stack_evolution');
    stops.push(() => evolutionDatabase.drop());

    const audit = buildAuditEngine(
      loadAuditConfig({ DATABASE_URL: auditDatabase.url, DATABASE_POOL_MAX: '4', AUDIT_VERIFY_INTERVAL_MS: '0', ACGS_SERVICE_TOKEN: serviceToken }),
      { logger: false },
    );
    stops.push(() => audit.close());
    const auditUrl = await audit.listen({ host: '127.0.0.1', port: 0 });

    const policy = await buildPolicyEngine(
      loadPolicyConfig({
        ACGS_STATE_DIR: join(stateDir, 'policy-engine'),
        AUDIT_ENGINE_URL: auditUrl,
        POLICY_WATCH: 'false',
        ACGS_ADMIN_TOKEN: adminToken,
        ACGS_SERVICE_TOKEN: serviceToken,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: redis.prefix,
      }),
      { logger: false },
    );
    stops.push(() => policy.close());
    const policyUrl = await policy.listen({ host: '127.0.0.1', port: 0 });

    const evolution = await startEvolutionApp({
      databaseUrl: evolutionDatabase.url,
      policyEngineUrl: policyUrl,
      auditEngineUrl: auditUrl,
      poolMax: 4,
      serviceToken,
    });
    stops.push(() => evolution.close());
    const evolutionUrl = await evolution.app.listen({ host: '127.0.0.1', port: 0 });

    const runtime = options.containerRuntime ?? 'docker';
    if (runtime === 'docker') {
      const docker = await requireDockerEngine();
      await requireImage(docker, loadSandboxConfig({}).image);
    }
    const sandbox = await buildSandboxController(
      {
        ...loadSandboxConfig({}),
        policyEngineUrl: policyUrl,
        auditEngineUrl: auditUrl,
        auditSpoolDir: join(stateDir, 'sandbox-spool'),
        adminToken,
        serviceToken,
        dockerHost: runtime === 'docker' ? TEST_DOCKER_HOST : await silentDockerHost(),
        ...(options.sandboxPruneGraceSeconds === undefined ? {} : { pruneGraceSeconds: options.sandboxPruneGraceSeconds }),
      },
      { logger: false },
    );
    stops.push(async () => {
      await sandbox.close();
      if (runtime === 'docker') {
        const docker = await requireDockerEngine({ waitMs: 0 }).catch(() => undefined);
        if (docker) await removeContainersWithLabel(docker, `${LABELS.controller}=${sandbox.sandboxControllerId}`);
      }
    });
    const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
    // The first health report probes the engine (a gVisor probe container may run): do it now,
    // so that checks with a 2 s deadline see the cached verdict.
    await fetch(`${sandboxUrl}/health`, { signal: AbortSignal.timeout(60_000) });

    const endpoints: Record<ServiceName, string> = {
      'policy-engine': policyUrl,
      'audit-engine': auditUrl,
      'evolution-oversight': evolutionUrl,
      'sandbox-controller': sandboxUrl,
    };

    const connections: Array<Pool | Redis> = [];
    stops.push(async () => {
      await Promise.all(connections.map((connection) => ('quit' in connection ? Promise.resolve(connection.disconnect()) : connection.end().catch(() => undefined))));
    });
    const servicesWith = (overrides: ServicesOverrides): CommandPathDependencies => {
      const checkTimeoutMs = overrides.checkTimeoutMs ?? options.checkTimeoutMs ?? 2000;
      const postgresUrl = overrides.postgresUrl === undefined ? auditDatabase.url : overrides.postgresUrl;
      const redisUrl = overrides.redisUrl === undefined ? redis.url : overrides.redisUrl;
      const postgres = postgresUrl ? openStackPostgres(postgresUrl, { connectTimeoutMs: checkTimeoutMs }) : undefined;
      const redisClient = redisUrl ? openStackRedis(redisUrl, { connectTimeoutMs: checkTimeoutMs }) : undefined;
      if (postgres) connections.push(postgres);
      if (redisClient) connections.push(redisClient);
      const token = overrides.adminToken === undefined ? adminToken : overrides.adminToken;
      const writerToken = overrides.serviceToken === undefined ? serviceToken : overrides.serviceToken;
      return createCommandPathDependencies({
        endpoints: { ...endpoints, ...overrides.endpoints },
        ...(token ? { adminToken: token } : {}),
        ...(writerToken ? { serviceToken: writerToken } : {}),
        ...(postgres ? { database: stackDatabaseOn(postgres) } : {}),
        ...(redisClient ? { redis: stackRedisOn(redisClient) } : {}),
        checkTimeoutMs,
        callTimeoutMs: overrides.callTimeoutMs ?? 10_000,
      });
    };
    const cliEnv = (overrides: ServicesOverrides = {}): Record<string, string> => {
      const env: Record<string, string> = {};
      for (const [service, url] of Object.entries({ ...endpoints, ...overrides.endpoints })) env[ENV_KEYS[service as ServiceName]] = url;
      const postgresUrl = overrides.postgresUrl === undefined ? auditDatabase.url : overrides.postgresUrl;
      const redisUrl = overrides.redisUrl === undefined ? redis.url : overrides.redisUrl;
      const token = overrides.adminToken === undefined ? adminToken : overrides.adminToken;
      const writerToken = overrides.serviceToken === undefined ? serviceToken : overrides.serviceToken;
      if (writerToken) env.ACGS_SERVICE_TOKEN = writerToken;
      if (postgresUrl) env.DATABASE_URL = postgresUrl;
      if (redisUrl) env.REDIS_URL = redisUrl;
      if (token) env.ACGS_ADMIN_TOKEN = token;
      if (overrides.checkTimeoutMs) env.ACGS_CHECK_TIMEOUT_MS = String(overrides.checkTimeoutMs);
      if (overrides.callTimeoutMs) env.ACGS_CALL_TIMEOUT_MS = String(overrides.callTimeoutMs);
      return env;
    };

    return {
      endpoints,
      adminToken,
      serviceToken,
      auditDatabase,
      evolutionDatabase,
      redisUrl: redis.url,
      apps: { 'policy-engine': policy, 'audit-engine': audit, 'evolution-oversight': evolution.app, 'sandbox-controller': sandbox },
      services: servicesWith({}),
      servicesWith,
      cliEnv,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

export interface HungServer {
  /** An http:// URL whose server accepts connections and never answers. */
  url: string;
  /** Connections accepted so far: proves a command did (or did not) call it. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A service that hangs: it accepts TCP connections on 127.0.0.1, reads whatever comes and never
 * answers, like a process stuck in a loop or a deadlock. Use its URL as a service's endpoint.
 */
export async function startHungServer(): Promise<HungServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    hung.connections += 1;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const hung: HungServer = {
    url: '',
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the hung server reported no port');
  hung.url = `http://127.0.0.1:${address.port}`;
  return hung;
}

/** PostgreSQL and Redis URLs on a loopback port where nothing listens: a database that is down. */
export async function downPostgresUrl(): Promise<string> {
  return `postgres://postgres@127.0.0.1:${await unusedLoopbackPort()}/acgs_audit`;
}

export async function downRedisUrl(): Promise<string> {
  return `redis://127.0.0.1:${await unusedLoopbackPort()}`;
}
