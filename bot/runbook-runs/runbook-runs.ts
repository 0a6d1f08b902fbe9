/**
 * The commands' `RunbookRuns` port (commands/ports.ts) over the runbook engine: the registry for
 * what can run, the executor for what changes a run, the store for what people read. Runs and
 * attempts become plain data with ISO times; the engine's input errors become the port's
 * RunRequestError, so commands never see the engine's types.
 */
import { RunRequestError, type RunGateInfo, type RunGateRequest, type RunbookInfo, type RunbookLevelNumber, type RunbookRuns, type RunbookStepInfo, type RunInfo, type RunPlanInfo } from '../../commands/ports.js';
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import { RunbookInputError } from '../../runbooks/engine/errors.js';
import type { RunbookRegistry } from '../../runbooks/engine/registry.js';
import type { RunExecutor } from '../../runbooks/engine/run-executor.js';
import type { GateStore } from '../../runbooks/engine/gate-store.js';
import { leaseAge, type LeaseClock } from '../../runbooks/engine/lease-age.js';
import type { ApprovalStore } from '../approvals/index.js';
import type { GateApprovals } from './gate-approvals.js';
import type { AttemptRecord, Decision, RunRecord, RunStore } from '../../runbooks/engine/run-store.js';

export interface RunbookRunsOptions {
  registry: RunbookRegistry;
  executor: RunExecutor;
  store: RunStore;
  /** Where gate steps' requests and passes are kept (engine/gate-store.ts). */
  gates: GateStore;
  /** The bot's approvals for gates: an abort closes the requests the run's gates wait on. */
  gateApprovals?: Pick<GateApprovals, 'closeForAbort'>;
  /** Where a gate's request stands, for `run pass` typed while it waits (absent: only its id is told). */
  approvals?: Pick<ApprovalStore, 'get'>;
  /**
   * Told of every run started from a channel (the bot shows it there): true when the run's own
   * message is published there. Its failure does not undo the run.
   */
  onStartedInChannel?(runId: string, channel: string): Promise<boolean | undefined>;
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
    ...(step.gate ? { gateLevel: step.gate.level, ...(step.gate.approvals ? { gateApprovals: step.gate.approvals } : {}) } : {}),
  }));
}

function runInfo(run: RunRecord, clock?: LeaseClock): RunInfo {
  const lease = leaseAge(run, clock);
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

  /** The gate while it waits: refused (nothing read further, nothing written) when any part of the line is wrong. */
  async function waitingGate(runId: string, runbookName: string, stepId: string): Promise<RunGateInfo> {
    const run = await executor.get(runId);
    if (run.runbook !== runbookName) throw new RunRequestError('gate-foreign', `Run ${run.id} is a run of ${run.runbook}, not of ${runbookName}; nothing was changed.`);
    const runbook = registry.version(run.runbook, run.version);
    const index = runbook?.steps.findIndex((step) => step.id === stepId) ?? -1;
    const step = runbook?.steps[index];
    if (!runbook || !step?.gate) throw new RunRequestError('not-a-gate', `Run ${run.id} of ${run.runbook} has no gate step "${stepId}"; nothing was changed.`);
    const running = (await store.attempts(run.id)).find((attempt) => attempt.outcome === 'running' && attempt.action === 'run');
    if (run.state !== 'running' || running?.stepId !== stepId) {
      throw new RunRequestError('gate-not-waiting', `The gate "${stepId}" of run ${run.id} is not waiting for approvers (the run is ${run.state}${running ? `, at step ${running.stepId}` : ''}); nothing was changed.`);
    }
    return {
      run: runInfo(run),
      step: { id: step.id, title: step.title, level: step.gate.level, ...(step.gate.approvals ? { approvals: step.gate.approvals } : {}) },
      guards: runbook.steps.slice(index + 1).map((later) => later.title),
      ...(await gateRequest(run.id, stepId)),
    };
  }

  async function gateRequest(runId: string, stepId: string): Promise<{ request?: RunGateRequest }> {
    const kept = await options.gates.latest(runId, stepId);
    if (!kept || kept.passedAt) return {};
    // Where the request stands is a courtesy: a store that cannot say leaves its id, which is enough to find it.
    const request = await options.approvals?.get(kept.requestId).catch(() => undefined);
    if (!request) return { request: { id: kept.requestId } };
    const channels = [...new Set(request.messages.map((message) => message.channel))];
    return { request: { id: request.id, state: request.state, approvalsRequired: request.approvalsRequired, approvedBy: request.approvedBy, channels } };
  }

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
        // A run not shown (no publisher, or it could not claim the message) gets the full answer instead.
        const shown = channel ? await options.onStartedInChannel?.(run.id, channel).catch(() => false) : false;
        return { ...runInfo(run), ...(shown === true ? { shownInChannel: true } : {}) };
      });
    },
    get(runId) {
      return asPortErrors(async () => {
        const run = await executor.get(runId);
        const attempts = await store.attempts(run.id);
        const runbook = registry.version(run.runbook, run.version);
        const at = attempts.find((attempt) => attempt.outcome === 'running' && attempt.action === 'run');
        const gate = run.state === 'running' && at && runbook?.steps[at.stepIndex]?.gate ? { gate: { stepId: at.stepId, ...(await gateRequest(run.id, at.stepId)) } } : {};
        return { run: runInfo(run, await clockFor([run])), ...(runbook ? { steps: stepsOf(runbook) } : {}), attempts: attempts.map(attemptInfo), ...gate };
      });
    },
    async activeAndRecent(endedLimit) {
      const runs = await store.activeAndRecent(endedLimit);
      const clock = await clockFor(runs);
      return runs.map((run) => runInfo(run, clock));
    },
    abort(runId, by) {
      return asPortErrors(async () => {
        const run = await executor.abort(runId, by);
        // The abort stands either way; a request left open fails its `run pass` (the run is not running).
        await options.gateApprovals?.closeForAbort(run, by).catch(() => undefined);
        return runInfo(run);
      });
    },
    decide(runId, decision, by) {
      return asPortErrors(async () => runInfo(await executor.decide(runId, decision as Decision, by)));
    },
    gate(runId, runbook, stepId) {
      return asPortErrors(() => waitingGate(runId, runbook, stepId));
    },
    pass(runId, runbook, stepId, request) {
      return asPortErrors(async () => {
        const gate = await waitingGate(runId, runbook, stepId);
        if (!(await options.gates.pass(gate.run.id, stepId, request))) throw new RunRequestError('gate-not-waiting', `The gate "${stepId}" of run ${gate.run.id} has no request waiting for a pass (it passed already, or it asked nobody yet); nothing was changed.`);
        return gate;
      });
    },
  };
}
