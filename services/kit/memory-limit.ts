import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

const CGROUP_V2_MEMORY_MAX = '/sys/fs/cgroup/memory.max';

/**
 * The memory this process may use: its cgroup's limit (a container with `mem_limit`), else the
 * machine's memory, which is what the local stack's `stats` measures against too. Read per call:
 * a limit can be changed on a running container (`docker update --memory`).
 */
export function memoryLimitBytes(cgroupFile = CGROUP_V2_MEMORY_MAX): number {
  const machine = totalmem();
  try {
    const text = readFileSync(cgroupFile, 'utf8').trim();
    const limit = Number(text);
    // "max" (no limit), or a limit above the machine's memory, means the machine is the limit.
    return Number.isSafeInteger(limit) && limit > 0 && limit < machine ? limit : machine;
  } catch {
    return machine;
  }
}
