/**
 * The process-level runner: claims runs through leases and drives each (run-driver.ts). A scan
 * (services/kit/periodic.ts) claims runs nobody runs: new ones, and those whose runner's lease ran
 * out (it crashed, hung, or lost PostgreSQL); so a dead runner's runs move on within one lease
 * period plus one scan interval. Several processes may run executors on one database: a claim is
 * a single conditional UPDATE with SKIP LOCKED, so each run has one runner at a time.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startPeriodicJob, type PeriodicJob } from '../../services/kit/periodic.js';
import { RunbookInputError } from './errors.js';
import { silentAuditSink, type RunAuditSink, type StepPorts } from './ports.js';
import type { RunbookRegistry } from './registry.js';
import { planRun, submitRun, type RunPlan, type RunRequest } from './requests.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { driveRun, type DriveEnd } from './run-driver.js';
import type { Claim, Decision, RunRecord, RunStore } from './run-store.js';

export const DEFAULT_LEASE_MS = 15_000;
export const DEFAULT_RENEW_EVERY_MS = 5_000;
/** How long a shutdown waits for a non-idempotent step in hand before abandoning it as a crash would. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export interface RunExecutorOptions {
  store: RunStore;
  registry: RunbookRegistry;
  /** Names this runner in leases and attempts; default `<host>/<pid>/<random>`. */
  owner?: string;
  leaseMs?: number;
  /** Must be well under leaseMs, so a missed renewal or two does not lose the run. */
  renewEveryMs?: number;
  /** How often to look for runs nobody runs; default one renewal period. */
  scanEveryMs?: number;
  /** Runs this process drives at once. */
  maxConcurrentRuns?: number;
  /** On stop, how long a non-idempotent step in hand may still take (idempotent ones are stopped at once). */
  shutdownGraceMs?: number;
  audit?: RunAuditSink;
  ports?: StepPorts;
  /** The least time between two progress writes of one run (default 2 s: the Slack message is edited from them). */
  progressEveryMs?: number;
  log?(message: string, error?: unknown): void;
  /** Called when a drive ends (tests wait on it). */
  onDriveEnd?(runId: string, end: DriveEnd): void;
}

export interface RunExecutor {
  readonly owner: string;
  /** How long a claim or a renewal holds a run, and how often its holder renews it (its lease keeper). */
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  /** Starts the scan. */
  start(): void;
  /** Validates and records a run; a runner (this one first, if it has room) starts it. Throws RunbookInputError. */
  submit(request: RunRequest): Promise<RunRecord>;
  /** Every step's dry run; `who` asked for it (steps see it as the requester). */
  plan(runbook: string, args: unknown, who?: Pick<RunRequest, 'requester' | 'origin'>): Promise<RunPlan>;
  decide(runId: string, decision: Decision, by: string): Promise<RunRecord>;
  abort(runId: string, by: string): Promise<RunRecord>;
  get(runId: string): Promise<RunRecord>;
  /** Claims what it can now, without waiting for the scan. */
  scanNow(): Promise<void>;
  /** Resolves when this process drives no run. */
  idle(): Promise<void>;
  /**
   * Stops the scan and hands every run in hand back for another runner (or the next start): an
   * idempotent step at hand is stopped at once and runs again there; a non-idempotent one gets
   * shutdownGraceMs to end, then is abandoned as a crash would leave it (the run then waits for a
   * decision). Resolves once no run is driven here.
   */
  stop(): Promise<void>;
}

export function createRunExecutor(options: RunExecutorOptions): RunExecutor {
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const renewEveryMs = options.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
  if (renewEveryMs * 2 > leaseMs) throw new RangeError(`renewEveryMs (${renewEveryMs}) must be at most half of leaseMs (${leaseMs})`);
  const scanEveryMs = options.scanEveryMs ?? renewEveryMs;
  const maxConcurrentRuns = options.maxConcurrentRuns ?? 4;
  const shutdownGraceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const audit = options.audit ?? silentAuditSink;
  const ports = options.ports ?? {};
  const log = options.log ?? (() => undefined);
  const { store, registry } = options;

  const driving = new Map<string, Promise<void>>();
  // The keepers of the runs this process drives: an abort asked here stops the step at once,
  // rather than at the lease's next renewal (a rollout would otherwise move on to another service).
  const keepers = new Map<string, LeaseKeeper>();
  let scanning: Promise<void> | undefined;
  let job: PeriodicJob | undefined;
  let stopping = false;
  const shutdownNow = new AbortController();
  const shutdownGraceOver = new AbortController();
  const shutdown = { now: shutdownNow.signal, afterGrace: shutdownGraceOver.signal };

  function drive(claim: Claim): void {
    const runbook = registry.version(claim.run.runbook, claim.run.version);
    let currentVersion: string | undefined;
    try {
      currentVersion = registry.current(claim.run.runbook).version;
    } catch {
      currentVersion = undefined;
    }
    if (claim.previousOwner && claim.previousOwner !== owner) log(`run ${claim.run.id}: taken over from ${claim.previousOwner}, whose lease ran out`);
    const done = driveRun(claim, { store, audit, ports, renewEveryMs, runbook, currentVersion, shutdown, log, ...(options.progressEveryMs === undefined ? {} : { progressEveryMs: options.progressEveryMs }),
      onKeeper: (keeper) => (keeper ? keepers.set(claim.run.id, keeper) : keepers.delete(claim.run.id)),
    })
      .then(
        (end) => options.onDriveEnd?.(claim.run.id, end),
        (error: unknown) => {
          // PostgreSQL went away mid-run, most likely: the lease runs out and a scan picks the run up again.
          log(`run ${claim.run.id} stopped on an error; it is picked up again once its lease runs out`, error);
          options.onDriveEnd?.(claim.run.id, 'lost');
        },
      )
      .finally(() => {
        driving.delete(claim.run.id);
      });
    driving.set(claim.run.id, done);
  }

  async function scanOnce(): Promise<void> {
    while (!stopping && driving.size < maxConcurrentRuns) {
      const claim = await store.claimNext(owner, leaseMs);
      if (!claim) return;
      drive(claim);
    }
  }

  function scanNow(): Promise<void> {
    // One scan at a time per process; a second caller waits for the one in progress and scans again.
    const next = (scanning ?? Promise.resolve()).catch(() => undefined).then(scanOnce);
    scanning = next;
    return next.finally(() => {
      if (scanning === next) scanning = undefined;
    });
  }

  async function get(runId: string): Promise<RunRecord> {
    const run = await store.get(runId);
    if (!run) throw new RunbookInputError('unknown-run', `There is no run "${runId}".`);
    return run;
  }

  return {
    owner,
    leaseMs,
    renewEveryMs,
    start() {
      if (job) return;
      job = startPeriodicJob({ intervalMs: scanEveryMs, run: scanNow, onError: (error) => log('the runbook scan failed', error) });
    },
    async submit(request) {
      const run = await submitRun(store, registry, request, ports);
      if (job) void scanNow().catch((error: unknown) => log('the runbook scan failed', error));
      return run;
    },
    plan(runbook, args, who) {
      return planRun(registry, runbook, args, ports, who);
    },
    async decide(runId, decision, by) {
      const run = await store.decide(runId, decision, by);
      if (job) void scanNow().catch((error: unknown) => log('the runbook scan failed', error));
      return run;
    },
    async abort(runId, by) {
      const run = await store.requestAbort(runId, by);
      keepers.get(runId)?.noteState(run.state);
      if (job) void scanNow().catch((error: unknown) => log('the runbook scan failed', error));
      return run;
    },
    get,
    scanNow,
    async idle() {
      while (driving.size > 0 || scanning) {
        await Promise.all([...driving.values(), scanning?.catch(() => undefined)]);
      }
    },
    async stop() {
      stopping = true;
      shutdownNow.abort(new Error('this runner is shutting down'));
      const grace = setTimeout(() => shutdownGraceOver.abort(new Error(`this runner is shutting down; the step did not end within ${shutdownGraceMs} ms`)), shutdownGraceMs);
      try {
        await job?.stop();
        job = undefined;
        await scanning?.catch(() => undefined);
        await Promise.all(driving.values());
      } finally {
        clearTimeout(grace);
      }
    },
  };
}
