/**
 * `npm start`: the four services as supervised local processes, with embedded PostgreSQL when
 * no DATABASE_URL is given. Later issues add the bot and the Slack console to this entry point.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { SERVICE_PORTS, type ServiceName } from './kit/constitution.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { superviseProcess, type SupervisedProcess } from './local-supervisor.js';

const stateDir = resolve(process.env.ACGS_STATE_DIR ?? '.acgs');
mkdirSync(stateDir, { recursive: true });

function adminToken(): string {
  if (process.env.ACGS_ADMIN_TOKEN) return process.env.ACGS_ADMIN_TOKEN;
  // Locally the admin endpoints still need a token; keep one beside the state so curl can use it.
  const file = join(stateDir, 'admin-token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const url = (service: ServiceName) => `http://127.0.0.1:${SERVICE_PORTS[service]}`;

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolvePort(true) : reject(error)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(false)));
  });
}

/**
 * Refuses to start over another stack: a service that cannot bind would be restarted forever
 * while the health checks answered from the other stack's process.
 */
async function requireFreePorts(): Promise<void> {
  const taken: string[] = [];
  for (const service of Object.keys(SERVICE_PORTS) as ServiceName[]) {
    if (await portInUse(SERVICE_PORTS[service])) taken.push(`${SERVICE_PORTS[service]} (${service})`);
  }
  if (taken.length > 0) throw new Error(`ports already in use on 127.0.0.1: ${taken.join(', ')}; is another stack running?`);
}

async function main(): Promise<void> {
  await requireFreePorts();
  const embedded: EmbeddedPostgres[] = [];
  let auditDatabaseUrl = process.env.AUDIT_DATABASE_URL ?? process.env.DATABASE_URL;
  let evolutionDatabaseUrl = process.env.EVOLUTION_DATABASE_URL ?? process.env.DATABASE_URL;
  const poolEnv: Record<string, string> = {};
  if (!auditDatabaseUrl || !evolutionDatabaseUrl) {
    const audit = await startEmbeddedPostgres(join(stateDir, 'pglite', 'audit'));
    const evolution = await startEmbeddedPostgres(join(stateDir, 'pglite', 'evolution'));
    embedded.push(audit, evolution);
    auditDatabaseUrl = audit.url;
    evolutionDatabaseUrl = evolution.url;
    poolEnv.DATABASE_POOL_MAX = '1';
    console.log(`[start] embedded PostgreSQL (PGlite) in ${join(stateDir, 'pglite')}; set DATABASE_URL to use a real server`);
  }
  const token = adminToken();
  const common = {
    POLICY_ENGINE_URL: url('policy-engine'),
    AUDIT_ENGINE_URL: url('audit-engine'),
    ACGS_ADMIN_TOKEN: token,
  };
  const envFor: Record<ServiceName, Record<string, string | undefined>> = {
    'audit-engine': { ...common, ...poolEnv, DATABASE_URL: auditDatabaseUrl },
    'policy-engine': { ...common, REDIS_URL: process.env.REDIS_URL, ACGS_STATE_DIR: join(stateDir, 'policy-engine') },
    'evolution-oversight': {
      ...common,
      ...poolEnv,
      DATABASE_URL: evolutionDatabaseUrl,
      ACGS_STATE_DIR: join(stateDir, 'evolution-oversight'),
    },
    'sandbox-controller': { ...common, ACGS_STATE_DIR: join(stateDir, 'sandbox-controller') },
  };
  const children: SupervisedProcess[] = (Object.keys(SERVICE_PORTS) as ServiceName[]).map((service) =>
    superviseProcess({
      name: service,
      command: process.execPath,
      args: ['--import', 'tsx', `services/${service}/main.ts`],
      env: { ...envFor[service], PORT: String(SERVICE_PORTS[service]) },
      healthUrl: `${url(service)}/health`,
    }),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[start] ${signal}: stopping the stack`);
    await Promise.all(children.map((child) => child.stop()));
    await Promise.all(embedded.map((db) => db.stop()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const ready = await Promise.all(children.map((child) => child.waitUntilHealthy(60_000)));
  console.log('[start] ACGS-1 Lite stack:');
  for (const [index, child] of children.entries()) {
    console.log(`  ${ready[index] ? 'up  ' : 'DOWN'}  ${child.name.padEnd(20)} ${url(child.name as ServiceName)}`);
  }
  console.log(`[start] admin token: ${process.env.ACGS_ADMIN_TOKEN ? 'from ACGS_ADMIN_TOKEN' : join(stateDir, 'admin-token')}`);
}

main().catch((error: unknown) => {
  console.error(`[start] could not start the stack: ${(error as Error).message}`);
  process.exit(1);
});
