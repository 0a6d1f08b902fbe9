/**
 * A runner in a child process, as the crash tests start it (runner-process.ts here,
 * runbooks/backup/testing/backup-runner-process.ts): it prints one JSON event per line on stdout,
 * and the test waits for the step it means to SIGKILL it in. One reader for both, so the way a
 * test waits (on each line as it arrives, never by polling) is the same everywhere.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** What a runner process prints: `started` (with the versions it computes), step starts and ends, run states. */
export interface RunnerEvent {
  event: string;
  owner?: string;
  /** When this process read the line. */
  receivedAt: number;
  versions?: Record<string, string>;
  runId?: string;
  stepId?: string;
  attempt?: number;
  outcome?: string;
  state?: string;
}

export interface RunnerProcess {
  child: ChildProcessWithoutNullStreams;
  events: RunnerEvent[];
  /** The exit signal, or the code. */
  exited: Promise<NodeJS.Signals | number | null>;
  /** What it wrote on stderr so far. */
  errors(): string;
  /** The first event that matches, as soon as the runner printed it; throws after `timeoutMs`. */
  waitFor(match: (event: RunnerEvent) => boolean, timeoutMs?: number): Promise<RunnerEvent>;
}

export interface RunnerProcessOptions {
  /** The runner module, started with `node --import tsx <script> <JSON of options>`. */
  script: string;
  options: unknown;
  /** Names the runner in a timeout's message. */
  name: string;
  /** Collects the process, so that the test's afterEach or afterAll can kill what still runs. */
  children: ChildProcessWithoutNullStreams[];
  waitMs: number;
}

export function startRunnerProcess({ script, options, name, children, waitMs }: RunnerProcessOptions): RunnerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const events: RunnerEvent[] = [];
  const waiters: Array<{ match: (event: RunnerEvent) => boolean; resolve: (event: RunnerEvent) => void }> = [];
  let buffered = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const event: RunnerEvent = { ...(JSON.parse(line) as Omit<RunnerEvent, 'receivedAt'>), receivedAt: Date.now() };
      events.push(event);
      for (const waiter of waiters.filter((each) => each.match(event))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return {
    child,
    events,
    exited,
    errors: () => errors,
    waitFor(match, timeoutMs = waitMs) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`runner ${name} did not report the awaited event in ${timeoutMs} ms; it said ${JSON.stringify(events)} ${errors}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
      });
    },
  };
}
