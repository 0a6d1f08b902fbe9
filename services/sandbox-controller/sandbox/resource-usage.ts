import type Docker from 'dockerode';
import type { DockerClients } from '../engine/docker-connection.js';
import { LABELS } from './container-spec.js';

export interface SandboxUsage {
  sandbox_id: string;
  container_id: string;
  agent_id: string;
  runtime: string;
  own: boolean;
  started_at: string;
  age_seconds: number;
  limits: { timeout_seconds: number; memory_limit_mb: number; cpu_limit: number };
  usage: { cpu_percent: number; memory_bytes: number; memory_limit_bytes: number; pids: number } | null;
}

interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** `docker stats` arithmetic: CPU share of the interval between the two samples, memory without page cache. */
export function usageFromStats(stats: EngineStats): NonNullable<SandboxUsage['usage']> {
  const cpu = stats.cpu_stats;
  const pre = stats.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus ?? cpu?.cpu_usage?.percpu_usage?.length ?? 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const memory = stats.memory_stats;
  // cgroup v1 reports page cache as `cache`, v2 as `inactive_file`; docker stats subtracts it too.
  const cache = memory?.stats?.inactive_file ?? memory?.stats?.total_inactive_file ?? memory?.stats?.cache ?? 0;
  return {
    cpu_percent: round(cpuPercent),
    memory_bytes: Math.max(0, (memory?.usage ?? 0) - cache),
    memory_limit_bytes: memory?.limit ?? 0,
    pids: stats.pids_stats?.current ?? 0,
  };
}

async function statsOf(docker: DockerClients, id: string): Promise<SandboxUsage['usage']> {
  try {
    const stats = (await docker.control.getContainer(id).stats({ stream: false })) as EngineStats;
    return usageFromStats(stats);
  } catch {
    return null; // exited between listing and sampling, or the runtime cannot report stats
  }
}

function describe(container: Docker.ContainerInfo, controllerId: string, now: number): Omit<SandboxUsage, 'usage'> {
  const labels = container.Labels;
  const created = container.Created * 1000;
  return {
    sandbox_id: labels[LABELS.id] ?? '',
    container_id: container.Id,
    agent_id: labels[LABELS.agentId] ?? '',
    runtime: labels[LABELS.runtime] ?? 'unknown',
    own: labels[LABELS.controller] === controllerId,
    started_at: new Date(created).toISOString(),
    age_seconds: Math.max(0, Math.round((now - created) / 1000)),
    limits: {
      timeout_seconds: Number(labels[LABELS.timeoutSeconds] ?? 0),
      memory_limit_mb: Number(labels[LABELS.memoryMb] ?? 0),
      cpu_limit: Number(labels[LABELS.cpu] ?? 0),
    },
  };
}

/** The running sandbox containers on the engine (all controllers), each with a stats sample. */
export async function sandboxResourceUsage(
  docker: DockerClients,
  controllerId: string,
  agentId?: string,
): Promise<SandboxUsage[]> {
  const label = [`${LABELS.sandbox}=1`];
  if (agentId) label.push(`${LABELS.agentId}=${agentId}`);
  const containers = await docker.control.listContainers({ filters: { label, status: ['running'] } });
  const now = Date.now();
  return Promise.all(
    containers.map(async (container) => ({ ...describe(container, controllerId, now), usage: await statsOf(docker, container.Id) })),
  );
}
