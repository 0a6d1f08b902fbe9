/**
 * docker-compose.swarm.yml, the stack file for `docker stack deploy`: valid for the docker CLI's
 * own loader (`docker stack config`, which checks Swarm's schema without a swarm), with rolling
 * updates that roll back and monitor each new task for at least its health check's grace, and
 * in step with docker-compose.yml for the services both run.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Values only for rendering: the files refuse to render without the three secrets. */
const RENDER_ENV = { ACGS_ADMIN_TOKEN: 'render-only', ACGS_SERVICE_TOKEN: 'render-only', REDIS_PASSWORD: 'render-only' };

interface Healthcheck {
  test?: string[];
  interval?: string;
  retries?: number;
  start_period?: string;
}
interface UpdateConfig {
  order?: string;
  failure_action?: string;
  monitor?: string;
}
interface ServiceConfig {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  deploy?: { replicas?: number; update_config?: UpdateConfig; rollback_config?: UpdateConfig };
}

/** A Go duration as `docker stack config` prints one (`1m20s`, `15s`, `500ms`), in milliseconds. */
function durationMs(text: string | undefined): number {
  if (!text) return 0;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  let rest = text;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)) {
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.replace(match[0], '');
  }
  if (rest !== '') throw new Error(`not a duration: ${text}`);
  return total;
}

async function swarmStackConfig(): Promise<Record<string, ServiceConfig>> {
  const { stdout } = await run('docker', ['stack', 'config', '--compose-file', 'docker-compose.swarm.yml'], { cwd: repoRoot, env: { ...process.env, ...RENDER_ENV }, timeout: 30_000 });
  return (parse(stdout) as { services: Record<string, ServiceConfig> }).services;
}

async function composeFile(file: string): Promise<Record<string, ServiceConfig>> {
  return (parse(await readFile(`${repoRoot}/${file}`, 'utf8'), { merge: true }) as { services: Record<string, ServiceConfig> }).services;
}

const DATA_SERVICES = ['postgres', 'redis'];

describe('docker-compose.swarm.yml', () => {
  it("is a stack file the docker CLI's Swarm loader accepts", async () => {
    const services = await swarmStackConfig();
    expect(Object.keys(services).sort()).toEqual(['audit-engine', 'evolution-oversight', 'policy-engine', 'postgres', 'redis', 'sandbox-controller']);
  });

  it("monitors each updated task for at least its health check's start_period + interval x retries, and rolls back on failure", async () => {
    for (const [name, service] of Object.entries(await swarmStackConfig())) {
      const health = service.healthcheck!;
      const grace = durationMs(health.start_period) + durationMs(health.interval) * (health.retries ?? 3);
      const update = service.deploy?.update_config;
      expect({ name, monitorAtLeastGrace: durationMs(update?.monitor) >= grace, grace }).toEqual({ name, monitorAtLeastGrace: true, grace });
      expect({ name, failure: update?.failure_action }).toEqual({ name, failure: 'rollback' });
      expect({ name, rollbackMonitor: durationMs(service.deploy?.rollback_config?.monitor) >= grace }).toEqual({ name, rollbackMonitor: true });
    }
  });

  it('starts the new task first where a service can run twice, and stops first where it owns a data volume', async () => {
    for (const [name, service] of Object.entries(await swarmStackConfig())) {
      const expected = DATA_SERVICES.includes(name) ? 'stop-first' : 'start-first';
      expect({ name, order: service.deploy?.update_config?.order, rollback: service.deploy?.rollback_config?.order }).toEqual({ name, order: expected, rollback: expected });
    }
  });

  it('runs the same image, commands, environment names and health checks as docker-compose.yml', async () => {
    const [swarm, compose] = await Promise.all([composeFile('docker-compose.swarm.yml'), composeFile('docker-compose.yml')]);
    for (const [name, service] of Object.entries(swarm)) {
      const plain = compose[name]!;
      expect(plain, name).toBeDefined();
      expect({ name, image: service.image?.replace('${ACGS_STACK_IMAGE:-acgs/stack:latest}', 'acgs/stack:latest') }).toEqual({ name, image: plain.image });
      expect({ name, command: service.command }).toEqual({ name, command: plain.command });
      expect({ name, environment: Object.keys(service.environment ?? {}).sort() }).toEqual({ name, environment: Object.keys(plain.environment ?? {}).sort() });
      expect({ name, health: service.healthcheck?.test }).toEqual({ name, health: plain.healthcheck?.test });
    }
  });
});
