/**
 * One process per spool directory: two writers appending to one spool and acknowledging it
 * separately would replay each other's records out of order. A lock file holds the owner's pid
 * and, where /proc tells it, the process's start time (field 22 of /proc/<pid>/stat, in clock
 * ticks since boot); a lock left by a process that is gone (a crash) is taken over, and so is one
 * whose pid now belongs to another process (started at another time): pids are reused, in a
 * container after every restart.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Directories claimed by this process: the pid in the lock file cannot tell two trails of one process apart. */
const claimedHere = new Set<string>();

export class SpoolDirectoryInUseError extends Error {
  override readonly name = 'SpoolDirectoryInUseError';
}

/** When the process started, in clock ticks since boot; undefined where /proc does not say (not Linux, gone). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) is in parentheses and may hold spaces or ')': count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3];
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** What a lock file says: `<pid>` (older bots) or `<pid> <start time>`. */
function parseLock(text: string): { pid: number; start?: string } {
  const [pid, start] = text.trim().split(/\s+/);
  return { pid: Number(pid), ...(start && /^\d+$/.test(start) ? { start } : {}) };
}

/** The process that wrote the lock still runs: its pid is alive and, when both are known, started when the lock says. */
function isHeldBy(owner: { pid: number; start?: string }): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || !isRunning(owner.pid)) return false;
  const started = processStartTime(owner.pid);
  // A lock without a start time, or a process whose start time cannot be read: trusted, as before.
  return owner.start === undefined || started === undefined || started === owner.start;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still means it is running.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory for this process; returns the function that gives it back. */
export function claimSpoolDirectory(dir: string): () => void {
  const absolute = resolve(dir);
  if (claimedHere.has(absolute)) {
    throw new SpoolDirectoryInUseError(`the audit spool directory ${dir} is already used by another audit trail in this process`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, 'trail.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      const started = processStartTime(process.pid);
      writeSync(fd, started ? `${process.pid} ${started}` : String(process.pid));
      closeSync(fd);
      claimedHere.add(absolute);
      return () => {
        claimedHere.delete(absolute);
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = parseLock(readFileSync(lockPath, 'utf8'));
      if (owner.pid !== process.pid && isHeldBy(owner)) {
        throw new SpoolDirectoryInUseError(
          `the audit spool directory ${dir} is in use by process ${owner.pid}; give each bot process its own spool directory`,
        );
      }
      // Left behind by a process that is gone, by one whose pid was reused since, or by an earlier run with this pid: take it over.
      rmSync(lockPath, { force: true });
    }
  }
  throw new SpoolDirectoryInUseError(`the audit spool directory ${dir} is being claimed by another process at the same time`);
}
