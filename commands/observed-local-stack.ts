/**
 * The local stack as another process sees it. The four local services are children of the
 * `npm start` process: only that process can restart them or read their output. A separate
 * process (the CLI) can still see whether they answer, so this Stack lists them from their
 * `/health` endpoints and refuses everything else, pointing at the console that can do it.
 *
 * It lives in commands/ because services/stack/ was being finished by another helper; it belongs
 * beside local-stack.ts there.
 */
import { SERVICE_NAMES, type ServiceName } from '../services/kit/constitution.js';
import {
  StackError,
  requireKnownService,
  serviceHealthOf,
  type Replica,
  type ReplicaHealth,
  type ReplicaState,
  type ServiceHealth,
  type ServiceStatus,
  type Stack,
} from '../services/stack/stack.js';
import { probeJson } from './health-probes.js';

export interface ObservedLocalStackOptions {
  endpoints: Readonly<Record<ServiceName, string>>;
  /** Where the process that owns the stack serves its console, for the refusals. */
  consoleUrl: string;
  probeTimeoutMs?: number;
}

interface Observation {
  state: ReplicaState;
  health: ReplicaHealth;
  startedAt: string | null;
  uptimeSeconds: number | null;
  detail: string;
}

/** What one health probe says about a process the caller does not own. */
async function observe(endpoint: string, timeoutMs: number): Promise<Observation> {
  const answer = await probeJson(new URL('/health', endpoint).toString(), timeoutMs, new AbortController().signal);
  if (!answer.ok) {
    // Refused: nothing listens, so no process serves there. Anything else (a hang): something runs but does not answer.
    const refused = answer.problem === 'connection refused';
    return { state: refused ? 'exited' : 'running', health: refused ? 'none' : 'unhealthy', startedAt: null, uptimeSeconds: null, detail: `${endpoint}: ${answer.problem}` };
  }
  const uptime = (answer.value.body as { uptime_seconds?: unknown } | undefined)?.uptime_seconds;
  const uptimeSeconds = typeof uptime === 'number' && Number.isFinite(uptime) && uptime >= 0 ? Math.round(uptime) : null;
  return {
    state: 'running',
    health: answer.value.status === 200 ? 'healthy' : 'unhealthy',
    startedAt: uptimeSeconds === null ? null : new Date(Date.now() - uptimeSeconds * 1000).toISOString(),
    uptimeSeconds,
    detail: answer.value.status === 200 ? endpoint : `${endpoint}: /health answered ${answer.value.status}`,
  };
}

export function createObservedLocalStack(options: ObservedLocalStackOptions): Stack {
  const timeoutMs = options.probeTimeoutMs ?? 2000;
  const names = [...SERVICE_NAMES].sort();
  const owner = `the local stack belongs to the npm start process that runs it: use the console at ${options.consoleUrl}`;
  const where = 'the local stack';

  async function replicaOf(service: ServiceName): Promise<Replica & { detail: string }> {
    const seen = await observe(options.endpoints[service], timeoutMs);
    return {
      id: `local:${service}`,
      name: service,
      number: 1,
      state: seen.state,
      health: seen.health,
      image: seen.detail,
      startedAt: seen.startedAt,
      uptimeSeconds: seen.uptimeSeconds,
      restarts: 0,
      detail: seen.detail,
    };
  }

  const refuse = (what: string, service?: string): never => {
    if (service !== undefined) requireKnownService(service, names, where);
    throw new StackError('NOT_SUPPORTED', `${what} is not possible from the CLI: ${owner}`);
  };

  return {
    kind: 'local',
    description: `npm start's local processes, seen through their /health endpoints; control them from the console at ${options.consoleUrl}`,
    async services() {
      return names;
    },
    async list(): Promise<ServiceStatus[]> {
      return Promise.all(
        names.map(async (name) => {
          const { detail: _detail, ...replica } = await replicaOf(name as ServiceName);
          return { name, replicas: [replica] };
        }),
      );
    },
    async health(service): Promise<ServiceHealth> {
      requireKnownService(service, names, where);
      const replica = await replicaOf(service as ServiceName);
      const entry = { id: replica.id, name: replica.name, state: replica.state, health: replica.health, detail: replica.detail };
      return { service, status: serviceHealthOf([entry]), replicas: [entry] };
    },
    restart: async (service) => refuse(`Restarting ${service}`, service),
    scale: async (service) => refuse(`Scaling ${service}`, service),
    logs: async (service) => refuse(`Reading the logs of ${service}`, service),
    stats: async (service) => refuse(`Measuring the resource use of ${service ?? 'the processes'}`, service),
    exec: async (service) => refuse(`Running a command in ${service}`, service),
    recreate: async (service) => refuse(`Recreating ${service}`, service),
    async close() {},
  };
}
