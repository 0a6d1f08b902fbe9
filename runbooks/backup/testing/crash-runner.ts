/**
 * Starts a backup runner process (backup-runner-process.ts) for a crash test and reads the events
 * it prints, so the test can wait for the step it means to SIGKILL it in.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackupRunnerOptions } from './backup-runner-process.js';

const RUNNER = fileURLToPath(new URL('./backup-runner-process.ts', import.meta.url));

export interface RunnerEvent {
  event: string;
  versions?: Record<string, string>;
  runId?: string;
  stepId?: string;
  attempt?: number;
  outcome?: string;
  state?: string;
}

export interface CrashRunner {
  child: ChildProcessWithoutNullStreams;
  events: RunnerEvent[];
  /** The first event that matches, once the runner has printed it; throws after `timeoutMs`. */
  waitFor(match: (event: RunnerEvent) => boolean, timeoutMs?: number): Promise<RunnerEvent>;
}

/** `children` collects the process so the test's afterAll can kill what is still running. */
export function startCrashRunner(options: BackupRunnerOptions, settings: { children: ChildProcessWithoutNullStreams[]; waitMs: number }): CrashRunner {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  settings.children.push(child);
  const events: RunnerEvent[] = [];
  let buffered = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as RunnerEvent);
  });
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const waitFor = async (match: (event: RunnerEvent) => boolean, timeoutMs = settings.waitMs): Promise<RunnerEvent> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find(match);
      if (found) return found;
      if (Date.now() > until) throw new Error(`runner ${options.owner} did not report the awaited event; it said ${JSON.stringify(events)} ${errors}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, events, waitFor };
}
