/**
 * The body of a runner process for crash tests: a run executor over the given runbooks that
 * prints one JSON line per audit event (and a first `started` line with the versions as this
 * process computes them), so a test can SIGKILL it mid-step or run two at once. It runs until
 * killed, or until SIGTERM (then it stops its executor and exits).
 */
import type pg from 'pg';
import { createPool } from '../../../services/kit/postgres.js';
import type { AnyRunbook } from '../definition.js';
import type { StepPorts } from '../ports.js';
import { createRunbookRegistry } from '../registry.js';
import { createRunExecutor } from '../run-executor.js';
import { createRunStore } from '../run-store.js';

export interface RunnerProcessOptions {
  databaseUrl: string;
  owner: string;
  leaseMs: number;
  renewEveryMs: number;
  scanEveryMs?: number;
  shutdownGraceMs?: number;
}

export interface RunnerHostSetup<Options extends RunnerProcessOptions> {
  /** Names the process's connections in pg_stat_activity. */
  application: string;
  runbooks(pool: pg.Pool, options: Options): AnyRunbook[];
  /** Awaited before the executor starts: a runner of the deploy runbooks starts its services first. */
  ports?(options: Options, pool: pg.Pool): StepPorts | Promise<StepPorts>;
  /** On SIGTERM, after the executor stopped: what the ports started ends here. */
  stop?(): Promise<void>;
}

export function hostRunnerProcess<Options extends RunnerProcessOptions>(setup: RunnerHostSetup<Options>): void {
  void hostRunner(setup).catch((error: unknown) => {
    process.stderr.write(`runner process failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

async function hostRunner<Options extends RunnerProcessOptions>(setup: RunnerHostSetup<Options>): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Options;
  const pool = createPool({ databaseUrl: options.databaseUrl, max: 4, applicationName: `${setup.application}-${options.owner}` });
  const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ owner: options.owner, ...line })}\n`);
  const registry = createRunbookRegistry(setup.runbooks(pool, options));
  const executor = createRunExecutor({
    store: createRunStore(pool),
    registry,
    owner: options.owner,
    leaseMs: options.leaseMs,
    renewEveryMs: options.renewEveryMs,
    scanEveryMs: options.scanEveryMs ?? options.renewEveryMs,
    ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
    ...(setup.ports ? { ports: await setup.ports(options, pool) } : {}),
    audit: {
      async stepStarted(event) {
        print({ event: 'stepStarted', runId: event.runId, stepId: event.stepId, attempt: event.attempt, action: event.action });
      },
      async stepFinished(event) {
        print({ event: 'stepFinished', runId: event.runId, stepId: event.stepId, attempt: event.attempt, outcome: event.outcome });
      },
      async runStateChanged(event) {
        print({ event: 'runStateChanged', runId: event.runId, state: event.state });
      },
    },
    log: (message, error) => process.stderr.write(`${message}${error ? `: ${(error as Error).message}` : ''}\n`),
  });
  executor.start();
  // The versions as this process computes them: a test checks they are the ones it computes under vitest.
  print({ event: 'started', pid: process.pid, versions: Object.fromEntries(registry.list().map((runbook) => [runbook.name, runbook.version])) });
  process.on('SIGTERM', () => {
    void executor
      .stop()
      .then(() => setup.stop?.())
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
  // The executor's timers are unref'd; this keeps the process alive until it is killed.
  setInterval(() => undefined, 60_000);
}
