/**
 * A real, tiny file system that fills up: a tmpfs of a few KiB mounted on a fresh directory, for
 * tests of what happens when the disk is full (ENOSPC from write(2), short writes). Needs root
 * and mount(8); without them it fails with a message that says so, rather than skipping.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TinyTmpfs {
  dir: string;
  /** Unmounts and removes the directory; safe to call twice. */
  unmount(): void;
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  return stderr || (error as Error).message;
}

/** `sizeBytes` is rounded up to whole pages (4 KiB) by the kernel. */
export function mountTinyTmpfs(sizeBytes: number): TinyTmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-full-disk-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]);
  } catch (error) {
    rmdirSync(dir);
    throw new Error(
      `cannot mount a ${sizeBytes}-byte tmpfs on ${dir} for the full-disk test (it needs root and mount(8); ` +
        `uid ${process.getuid?.() ?? '?'}): ${stderrOf(error)}`,
    );
  }
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        run('umount', [dir]);
      } catch (error) {
        // Busy: a file is still open on it. Detach it anyway so no mount outlives the test, and say so.
        run('umount', ['--lazy', dir]);
        rmdirSync(dir);
        throw new Error(`the tmpfs on ${dir} was still in use when the test ended (a file left open?): ${stderrOf(error)}`);
      }
      rmdirSync(dir);
    },
  };
}
