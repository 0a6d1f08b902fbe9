/**
 * One `GET /containers/{id}/stats?stream=false` sample turned into the numbers `docker stats`
 * prints, with the same arithmetic (docker/cli's stats_helpers), so the bot and the CLI agree.
 */
export interface EngineStatsSample {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
  pids_stats?: { current?: number };
}

export interface UsageNumbers {
  cpuPercent: number;
  memory: { usedBytes: number; limitBytes: number; percent: number };
  network: { rxBytes: number; txBytes: number } | null;
  blockIo: { readBytes: number; writeBytes: number } | null;
  pids: number | null;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export function usageFromEngineStats(sample: EngineStatsSample): UsageNumbers {
  const cpu = sample.cpu_stats;
  const pre = sample.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  // Without a previous sample (one-shot stats) there is no interval to measure over: report 0, not the average since boot.
  const hasPrevious = (pre?.system_cpu_usage ?? 0) > 0;
  const cpuPercent = hasPrevious && cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;

  // docker stats leaves the inactive page cache out: cgroup v1 reports it as total_inactive_file, v2 as inactive_file.
  const memory = sample.memory_stats;
  const usage = memory?.usage ?? 0;
  const inactive = memory?.stats?.total_inactive_file ?? memory?.stats?.inactive_file ?? 0;
  const usedBytes = inactive < usage ? usage - inactive : usage;
  const limitBytes = memory?.limit ?? 0;

  let network: UsageNumbers['network'] = null;
  if (sample.networks) {
    network = { rxBytes: 0, txBytes: 0 };
    for (const counters of Object.values(sample.networks)) {
      network.rxBytes += counters.rx_bytes ?? 0;
      network.txBytes += counters.tx_bytes ?? 0;
    }
  }

  let blockIo: UsageNumbers['blockIo'] = null;
  const io = sample.blkio_stats?.io_service_bytes_recursive;
  if (Array.isArray(io)) {
    blockIo = { readBytes: 0, writeBytes: 0 };
    for (const entry of io) {
      const op = (entry.op ?? '').toLowerCase();
      if (op === 'read') blockIo.readBytes += entry.value ?? 0;
      else if (op === 'write') blockIo.writeBytes += entry.value ?? 0;
    }
  } else if (sample.blkio_stats) {
    // The engine answers null when the container has done no block I/O yet.
    blockIo = { readBytes: 0, writeBytes: 0 };
  }

  return {
    cpuPercent: round2(cpuPercent),
    memory: { usedBytes, limitBytes, percent: limitBytes > 0 ? round2((usedBytes / limitBytes) * 100) : 0 },
    network,
    blockIo,
    pids: sample.pids_stats?.current ?? null,
  };
}
