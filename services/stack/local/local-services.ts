/**
 * The four services as supervised local processes, with embedded PostgreSQL when no DATABASE_URL
 * is given: the embedded default of `npm start`. Returned as handles so the bot's local Stack
 * driver can control the very processes started here.
 */
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { SERVICE_NAMES, SERVICE_PORTS, type ServiceName } from '../../kit/service-ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { readCurrentReleases } from './local-current-release.js';
import { launchProblem, releaseLaunch, type ServiceLaunch } from './local-launch.js';
import { checkPid, ensurePrivateDirectory, localStatePaths, readPidFile } from './local-state.js';
import { superviseProcess, type SupervisedProcess } from './local-supervisor.js';
import { localToken, type LocalToken } from './local-tokens.js';

export interface LocalServicesOptions {
  /** Where PGlite data, the admin token and service state live (ACGS_STATE_DIR, default `.acgs`). */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Ports other than the firm ones (DESIGN.md §3), for tests that run beside a real stack. */
  ports?: Partial<Record<ServiceName, number>>;
}

export interface LocalServices {
  /** Where the state lives; the local Stack driver records deploys under it. */
  stateDir: string;
  processes: SupervisedProcess[];
  endpoints: Record<ServiceName, string>;
  adminToken: string;
  /** Where the token is kept, or undefined when it came from ACGS_ADMIN_TOKEN. */
  adminTokenFile: string | undefined;
  /** What the services' write endpoints require (ACGS_SERVICE_TOKEN), separate from the admin token. */
  serviceToken: string;
  /** Where the service token is kept, or undefined when it came from ACGS_SERVICE_TOKEN. */
  serviceTokenFile: string | undefined;
  /** Whether each service answered its health check within the start-up wait. */
  ready: Record<ServiceName, boolean>;
  /** The embedded PGlite databases started for the services (none with DATABASE_URL), for backups. */
  embeddedDatabases: Partial<Record<'audit-engine' | 'evolution-oversight', EmbeddedPostgres>>;
  stop(): Promise<void>;
  /** Kills the four processes at once, synchronously (SupervisedProcess.killNow): a second Ctrl-C. */
  killNow(): void;
}

type ServicePorts = Record<ServiceName, number>;

export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.ACGS_STATE_DIR ?? '.acgs');
}

/**
 * The admin token: ACGS_ADMIN_TOKEN, else one generated beside the state so curl and the CLI can
 * use it; at least 32 characters, and a file others may read is refused (local-tokens.ts).
 */
export function localAdminToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): LocalToken {
  ensurePrivateDirectory(stateDir);
  return localToken('admin', stateDir, env);
}

/** The service token, kept like the admin token: ACGS_SERVICE_TOKEN, else `<state>/service-token`. */
export function localServiceToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): LocalToken {
  ensurePrivateDirectory(stateDir);
  return localToken('service', stateDir, env);
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolvePort(true) : reject(error)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(false)));
  });
}

/**
 * Pid files left by an earlier run: one whose process is gone or now runs something else is
 * removed; one whose process still runs that very service (an orphan of a supervisor that was
 * killed) is kept and named, so that the port conflict it causes can be explained. Nothing is
 * signalled: which process to stop is for the person to decide.
 */
async function leftoverServices(stateDir: string): Promise<string[]> {
  const paths = localStatePaths(stateDir);
  const orphans: string[] = [];
  for (const service of SERVICE_NAMES) {
    const file = paths.pidFile(service);
    if (!existsSync(file)) continue;
    const record = await readPidFile(file);
    if (record && (await checkPid(record)).ok) orphans.push(`${service} still runs as pid ${record.pid} from an earlier start (${file})`);
    else rmSync(file, { force: true });
  }
  return orphans;
}

/**
 * Refuses to start over another stack: a service that cannot bind would be restarted forever
 * while the health checks answered from the other stack's process.
 */
async function requireFreePorts(stateDir: string, ports: ServicePorts): Promise<void> {
  const taken: string[] = [];
  for (const service of SERVICE_NAMES) {
    if (await portInUse(ports[service])) taken.push(`${ports[service]} (${service})`);
  }
  const orphans = await leftoverServices(stateDir);
  if (taken.length > 0) {
    const why = orphans.length > 0 ? `; ${orphans.join('; ')}: stop those processes (kill <pid>) and start again` : '; is another stack running?';
    throw new Error(`ports already in use on 127.0.0.1: ${taken.join(', ')}${why}`);
  }
}

export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  // Absolute: a service deployed from a release directory runs with that directory as its cwd.
  const stateDir = resolve(options.stateDir ?? stateDirectory(env));
  const ports: ServicePorts = { ...SERVICE_PORTS, ...options.ports };
  const url = (service: ServiceName) => `http://127.0.0.1:${ports[service]}`;
  ensurePrivateDirectory(stateDir);
  await requireFreePorts(stateDir, ports);
  // Before anything starts: a token refused here (too short, a file others may read) stops the start.
  const { token, file } = localAdminToken(stateDir, env);
  const service = localServiceToken(stateDir, env);
  const paths = localStatePaths(stateDir);

  const embedded: EmbeddedPostgres[] = [];
  const embeddedDatabases: LocalServices['embeddedDatabases'] = {};
  let auditDatabaseUrl = env.AUDIT_DATABASE_URL ?? env.DATABASE_URL;
  let evolutionDatabaseUrl = env.EVOLUTION_DATABASE_URL ?? env.DATABASE_URL;
  const poolEnv: Record<string, string> = {};
  if (!auditDatabaseUrl || !evolutionDatabaseUrl) {
    const audit = await startEmbeddedPostgres(join(stateDir, 'pglite', 'audit'));
    const evolution = await startEmbeddedPostgres(join(stateDir, 'pglite', 'evolution'));
    embedded.push(audit, evolution);
    Object.assign(embeddedDatabases, { 'audit-engine': audit, 'evolution-oversight': evolution });
    auditDatabaseUrl = audit.url;
    evolutionDatabaseUrl = evolution.url;
    poolEnv.DATABASE_POOL_MAX = '1';
    log(`[start] embedded PostgreSQL (PGlite) in ${join(stateDir, 'pglite')}; set DATABASE_URL to use a real server`);
    for (const db of embedded) if (db.recovered) log(`[start] ${db.recovered}`);
  }
  const common = {
    POLICY_ENGINE_URL: url('policy-engine'),
    AUDIT_ENGINE_URL: url('audit-engine'),
    ACGS_ADMIN_TOKEN: token,
    ACGS_SERVICE_TOKEN: service.token,
  };
  const envFor: Record<ServiceName, Record<string, string | undefined>> = {
    'audit-engine': {
      ...common,
      ...poolEnv,
      DATABASE_URL: auditDatabaseUrl,
      // Its checkpoint signing key and the copy of its newest checkpoint (outside the database).
      ACGS_STATE_DIR: join(stateDir, 'audit-engine'),
      // The owner role for its migrations, when one is set; the embedded databases have one role.
      MIGRATIONS_DATABASE_URL: embedded.length > 0 ? undefined : (env.AUDIT_MIGRATIONS_DATABASE_URL ?? env.ACGS_MIGRATIONS_DATABASE_URL),
    },
    'policy-engine': { ...common, REDIS_URL: env.REDIS_URL, ACGS_STATE_DIR: join(stateDir, 'policy-engine') },
    'evolution-oversight': {
      ...common,
      ...poolEnv,
      DATABASE_URL: evolutionDatabaseUrl,
      ACGS_STATE_DIR: join(stateDir, 'evolution-oversight'),
    },
    'sandbox-controller': { ...common, ACGS_STATE_DIR: join(stateDir, 'sandbox-controller') },
  };
  const deployed = readCurrentReleases(stateDir);
  /** The release a deploy left the service on (local-current-release.ts), else this checkout's code. */
  const launchOf = (service: ServiceName): ServiceLaunch => {
    const entry = deployed[service];
    if (entry) {
      const problem = launchProblem(entry.directory, service);
      if (!problem) {
        log(`[start] ${service} runs the release deployed ${entry.deployedAt}: ${entry.directory}`);
        return releaseLaunch(entry.directory, service);
      }
      log(`[start] ${service} was deployed from ${entry.directory}, but ${problem}; it runs this checkout's code instead (deploy again)`);
    }
    return { command: process.execPath, args: ['--import', 'tsx', `services/${service}/main.ts`] };
  };
  const processes: SupervisedProcess[] = SERVICE_NAMES.map((service) =>
    superviseProcess({
      name: service,
      ...launchOf(service),
      env: { ...envFor[service], PORT: String(ports[service]) },
      healthUrl: `${url(service)}/health`,
      // Published for the CLI (services/stack/local/local-stack-client.ts): who runs, and what it said.
      pidFile: paths.pidFile(service),
      logFile: paths.logFile(service),
    }),
  );

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // The Audit Engine last: the others hand their outboxes' last events (a closing minute of
      // refused tokens, a governance record just made) to it while they stop.
      const auditEngine = processes[SERVICE_NAMES.indexOf('audit-engine')]!;
      await Promise.all(processes.filter((child) => child !== auditEngine).map((child) => child.stop()));
      await auditEngine.stop();
      await Promise.all(embedded.map((db) => db.stop()));
    })());

  const healthy = await Promise.all(processes.map((child) => child.waitUntilHealthy(60_000)));
  const ready = Object.fromEntries(SERVICE_NAMES.map((service, index) => [service, healthy[index] ?? false])) as Record<ServiceName, boolean>;
  const endpoints = Object.fromEntries(SERVICE_NAMES.map((service) => [service, url(service)])) as Record<ServiceName, string>;
  return { stateDir, processes, endpoints, adminToken: token, adminTokenFile: file, serviceToken: service.token, serviceTokenFile: service.file, ready, embeddedDatabases, stop, killNow: () => processes.forEach((child) => child.killNow()) };
}
