/**
 * Starts a backup runner process (backup-runner-process.ts) for a crash test and reads the events
 * it prints (runbooks/engine/testing/runner-events.ts), so the test can wait for the step it means
 * to SIGKILL it in.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRunnerProcess, type RunnerProcess } from '../../engine/testing/runner-events.js';
import type { BackupRunnerOptions } from './backup-runner-process.js';

export type { RunnerEvent } from '../../engine/testing/runner-events.js';

const RUNNER = fileURLToPath(new URL('./backup-runner-process.ts', import.meta.url));

export type CrashRunner = Pick<RunnerProcess, 'child' | 'events' | 'waitFor'>;

/** A short lease, renewed and scanned often: the next runner takes a killed one's run over within seconds. */
const TAKEOVER_TIMING = { leaseMs: 2000, renewEveryMs: 400, scanEveryMs: 200 };

/** `children` collects the process so the test's afterAll can kill what is still running. */
export function startCrashRunner(options: Omit<BackupRunnerOptions, keyof typeof TAKEOVER_TIMING>, settings: { children: ChildProcessWithoutNullStreams[]; waitMs: number }): CrashRunner {
  return startRunnerProcess({ script: RUNNER, options: { ...options, ...TAKEOVER_TIMING }, name: options.owner, children: settings.children, waitMs: settings.waitMs });
}
