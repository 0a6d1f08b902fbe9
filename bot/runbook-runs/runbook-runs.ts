/**
 * The commands' `RunbookRuns` port (commands/ports.ts) over the runbook engine: the registry for
 * what can run, the executor for what changes a run, the store for what people read. Runs and
 * attempts become plain data with ISO times; the engine's input errors become the port's
 * RunRequestError, so commands never see the engine's types.
 */
import { RunRequestError, type RunbookInfo, type RunbookLevelNumber, type RunbookRuns, type RunbookStepInfo, type RunInfo, type RunPlanInfo } from '../../commands/ports.js';
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import { RunbookInputError } from '../../runbooks/engine/errors.js';
import type { RunbookRegistry } from '../../runbooks/engine/registry.js';
import type { RunExecutor } from '../../runbooks/engine/run-executor.js';
import type { AttemptRecord, Decision, RunRecord, RunStore } from '../../runbooks/engine/run-store.js';

export interface RunbookRunsOptions {
  registry: RunbookRegistry;
  executor: RunExecutor;
  store: RunStore;
  /** Told of every run started from a channel (the bot shows it there); its failure does not undo the run. */
  onStartedInChannel?(runId: string, channel: string): Promise<unknown>;
}

function stepsOf(runbook: AnyRunbook): RunbookStepInfo[] {
  return runbook.steps.map((step, index) => ({
    index,
    id: step.id,
    kind: step.kind,
    title: step.title,
    idempotent: step.idempotent,
    skippable: step.skippable !== false,
    canBeUndone: Boolean(step.compensate),
  }));
}

/** What is needed to tell a held lease's age: the database's time now, and the runners' lease settings. */
interface LeaseClock {
  now: Date;
  leaseMs: number;
  renewEveryMs: number;
}

/**
 * A held run's lease: a claim and every renewal set it to end `leaseMs` after the database's now,
 * so its age is how long ago its holder was last heard from.
 */
function leaseInfo(run: RunRecord, clock: LeaseClock | undefined): RunInfo['lease'] {
  if (!clock || !run.leaseOwner || !run.leaseExpiresAt) return undefined;
  const expiresInMs = run.leaseExpiresAt.getTime() - clock.now.getTime();
  return { ageMs: Math.max(0, clock.leaseMs - expiresInMs), renewEveryMs: clock.renewEveryMs, expiresInMs };
}

function runInfo(run: RunRecord, clock?: LeaseClock): RunInfo {
  const lease = leaseInfo(run, clock);
  return {
    id: run.id,
    runbook: run.runbook,
    version: run.version,
    args: run.args,
    requester: run.requester,
    origin: run.origin,
    state: run.state,
    reason: run.reason,
    detail: run.detail,
    decision: run.decision,
    decidedBy: run.decidedBy,
    createdAt: run.createdAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
    runner: run.leaseOwner,
    ...(lease ? { lease } : {}),
  };
}

function attemptInfo(attempt: AttemptRecord) {
  return {
    stepIndex: attempt.stepIndex,
    stepId: attempt.stepId,
    attempt: attempt.attempt,
    action: attempt.action,
    outcome: attempt.outcome,
    startedAt: attempt.startedAt.toISOString(),
    finishedAt: attempt.finishedAt?.toISOString() ?? null,
    error: attempt.error,
    ...(attempt.output === null || attempt.output === undefined ? {} : { output: attempt.output }),
    ...(attempt.progress ? { progress: { text: attempt.progress.text, ...(attempt.progress.data === undefined ? {} : { data: attempt.progress.data }), at: attempt.progress.at.toISOString() } } : {}),
  };
}

/** The engine's refusals, as the port's error; anything else passes through as it is. */
async function asPortErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RunbookInputError) throw new RunRequestError(error.code, error.message, error.hint);
    throw error;
  }
}

export function createRunbookRuns(options: RunbookRunsOptions): RunbookRuns {
  const { registry, executor, store } = options;
  /** The lease clock, read from the database only when a run shown is held by a runner. */
  const clockFor = async (runs: readonly RunRecord[]): Promise<LeaseClock | undefined> =>
    runs.some((run) => run.leaseOwner && run.leaseExpiresAt) ? { now: await store.now(), leaseMs: executor.leaseMs, renewEveryMs: executor.renewEveryMs } : undefined;
  return {
    list(): RunbookInfo[] {
      return registry.list().map((runbook) => ({
        name: runbook.name,
        summary: runbook.summary,
        level: runbook.level as RunbookLevelNumber,
        version: runbook.version,
        steps: stepsOf(runbook),
      }));
    },
    plan(runbook, args, who) {
      return asPortErrors(async (): Promise<RunPlanInfo> => {
        const plan = await executor.plan(runbook, args, who);
        return { ...plan, level: plan.level as RunbookLevelNumber };
      });
    },
    // `execution` is for an engine in another process: this one is the bot's own, behind its command path.
    submit({ channel, execution: _execution, ...request }) {
      return asPortErrors(async () => {
        const run = await executor.submit(request);
        if (channel) await options.onStartedInChannel?.(run.id, channel).catch(() => undefined);
        return runInfo(run);
      });
    },
    get(runId) {
      return asPortErrors(async () => {
        const run = await executor.get(runId);
        const attempts = await store.attempts(run.id);
        const runbook = registry.version(run.runbook, run.version);
        return { run: runInfo(run, await clockFor([run])), ...(runbook ? { steps: stepsOf(runbook) } : {}), attempts: attempts.map(attemptInfo) };
      });
    },
    async activeAndRecent(endedLimit) {
      const runs = await store.activeAndRecent(endedLimit);
      const clock = await clockFor(runs);
      return runs.map((run) => runInfo(run, clock));
    },
    abort(runId, by) {
      return asPortErrors(async () => runInfo(await executor.abort(runId, by)));
    },
    decide(runId, decision, by) {
      return asPortErrors(async () => runInfo(await executor.decide(runId, decision as Decision, by)));
    },
  };
}
