/**
 * One process per spool directory: two writers appending to one spool and acknowledging it
 * separately would replay each other's records out of order. A lock file holds the owner's pid;
 * a lock left by a process that is gone (a crash) is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Directories claimed by this process: the pid in the lock file cannot tell two trails of one process apart. */
const claimedHere = new Set<string>();

export class SpoolDirectoryInUseError extends Error {
  override readonly name = 'SpoolDirectoryInUseError';
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
      writeSync(fd, String(process.pid));
      closeSync(fd);
      claimedHere.add(absolute);
      return () => {
        claimedHere.delete(absolute);
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new SpoolDirectoryInUseError(
          `the audit spool directory ${dir} is in use by process ${owner}; give each bot process its own spool directory`,
        );
      }
      // Left behind by a process that is gone (or by an earlier run with this pid): take it over.
      rmSync(lockPath, { force: true });
    }
  }
  throw new SpoolDirectoryInUseError(`the audit spool directory ${dir} is being claimed by another process at the same time`);
}
