/**
 * Drives one claimed run to where it stops: succeeded, failed, needs a decision, aborted, or lost
 * (another runner holds it now; then nothing more is written). Completed steps are never run
 * again: where to go on is read from the attempts table each time a run is claimed, so a runner
 * that takes over after a crash continues exactly where the dead one stopped.
 */
import type { AnyRunbook, StepContext, StepDefinition } from './definition.js';
import { LeaseLostError } from './errors.js';
import { keepLease, type LeaseKeeper, type RunStop } from './lease-keeper.js';
import type { RunAuditSink, StepAuditEvent, StepPorts } from './ports.js';
import type { AttemptRecord, Claim, Lease, RunRecord, RunState, RunStore } from './run-store.js';
import { DEFAULT_PROGRESS_EVERY_MS, throttleProgress, type ProgressThrottle } from './progress-throttle.js';
import { callStep } from './step-call.js';
import { checkedProgress, ignoreProgress } from './step-progress.js';
import type { StepProgress } from './run-store.js';

export interface DriveOptions {
  store: RunStore;
  audit: RunAuditSink;
  ports: StepPorts;
  renewEveryMs: number;
  /** The run's runbook at the version it started with; undefined when this process does not have it. */
  runbook: AnyRunbook | undefined;
  /** The current version's id, for the reason when the run's own version is gone. */
  currentVersion: string | undefined;
  /**
   * This process is shutting down: `now` fires at once, `afterGrace` a grace period later. The step
   * at hand is stopped on `now` when it is idempotent (the next runner runs it again), on
   * `afterGrace` when it is not (the next runner stops the run for a decision), and the run is
   * handed back; a step that ends in time is recorded first.
   */
  shutdown: { now: AbortSignal; afterGrace: AbortSignal };
  /** The least time between two progress writes of the run (progress-throttle.ts). */
  progressEveryMs?: number;
  /** Given the run's lease keeper while it is driven, so that an abort asked in this process reaches the step at once. */
  onKeeper?(keeper: LeaseKeeper | undefined): void;
  log(message: string, error?: unknown): void;
}

/** How one drive ended, for the executor's log and the tests. */
export type DriveEnd = RunState | 'lost' | 'handed-back';

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function driveRun(claim: Claim, options: DriveOptions): Promise<DriveEnd> {
  const { store, runbook } = options;
  const { run, lease } = claim;
  const keeper = keepLease(store, lease, options.renewEveryMs, (error) => options.log(`renewing the lease of run ${run.id} failed`, error));
  options.onKeeper?.(keeper);
  try {
    if (!runbook) return await versionGone(run, lease, options);
    return await new RunDrive(run, lease, runbook, keeper, options).drive();
  } catch (error) {
    if (error instanceof LeaseLostError || keeper.lost.aborted) {
      options.log(`run ${run.id}: ${error instanceof LeaseLostError ? error.message : 'lease lost'}; this runner stops it here`);
      return 'lost';
    }
    throw error;
  } finally {
    keeper.stop();
    options.onKeeper?.(undefined);
  }
}

async function versionGone(run: RunRecord, lease: Lease, options: DriveOptions): Promise<DriveEnd> {
  const current = options.currentVersion ? `the current version is ${options.currentVersion}` : 'this process has no runbook by that name';
  if (run.state === 'aborting') {
    const settled = await options.store.settle(lease, {
      state: 'aborted',
      reason: `aborted; nothing could be undone: version ${run.version} of "${run.runbook}" is gone (${current})`,
      detail: { undone: [], nothingToUndo: [], couldNotUndo: [], versionGone: run.version },
    });
    await announce(options, settled);
    return 'aborted';
  }
  const settled = await options.store.settle(lease, {
    state: 'needs_decision',
    reason: `version gone: the run started on version ${run.version} of "${run.runbook}", which this process does not have (${current})`,
    detail: { versionGone: run.version, currentVersion: options.currentVersion ?? null },
  });
  // An abort asked for meanwhile: end it as aborted instead.
  if (settled.state === 'aborting') return versionGone(settled, lease, options);
  await announce(options, settled);
  return 'needs_decision';
}

async function announce(options: Pick<DriveOptions, 'audit' | 'log'>, run: RunRecord): Promise<void> {
  await options.audit
    .runStateChanged({ runId: run.id, runbook: run.runbook, version: run.version, state: run.state, reason: run.reason })
    .catch((error: unknown) => options.log(`the audit trail did not take run ${run.id}'s state ${run.state}`, error));
}

/** A progress report bound to the attempt that made it. */
interface AttemptProgress {
  index: number;
  attempt: number;
  progress: StepProgress;
}

type StepStatus = { kind: 'completed' } | { kind: 'fresh' } | { kind: 'stopped'; last: AttemptRecord; justInterrupted: boolean };

class RunDrive {
  private outputs: Record<string, unknown> = {};
  private readonly progress: ProgressThrottle<AttemptProgress>;
  /** The attempt whose reports are taken now: a step that ignored its stop cannot report into the next one. */
  private reporting: string | undefined;

  constructor(
    private readonly run: RunRecord,
    private readonly lease: Lease,
    private readonly runbook: AnyRunbook,
    private readonly keeper: LeaseKeeper,
    private readonly options: DriveOptions,
  ) {
    this.progress = throttleProgress({
      everyMs: options.progressEveryMs ?? DEFAULT_PROGRESS_EVERY_MS,
      write: (report) => options.store.recordProgress(lease, report),
      onError: (error) => options.log(`recording the progress of run ${run.id} failed`, error),
    });
  }

  async drive(): Promise<DriveEnd> {
    const interrupted = await this.options.store.interruptRunning(this.lease);
    for (const attempt of interrupted) {
      const step = this.runbook.steps[attempt.stepIndex];
      if (step) await this.finished(step, attempt.stepIndex, attempt.attempt, attempt.action, 'interrupted', 0, attempt.error ?? undefined);
    }
    const attempts = await this.options.store.attempts(this.run.id);
    for (const attempt of attempts) if (attempt.action === 'run' && attempt.outcome === 'done') this.outputs[attempt.stepId] = attempt.output;
    if (this.run.state === 'aborting') return this.abort(attempts);

    const justInterrupted = new Set(interrupted.filter((a) => a.action === 'run').map((a) => `${a.stepIndex}/${a.attempt}`));
    for (const [index, step] of this.runbook.steps.entries()) {
      const status = statusOf(attempts, index, justInterrupted);
      if (status.kind === 'completed') continue;
      if (status.kind === 'stopped') {
        const mayRunAgain = (status.justInterrupted && step.idempotent) || this.run.decision === 'retry';
        if (!mayRunAgain) return this.needsDecision(index, step, status.last, status.justInterrupted);
      }
      if (this.options.shutdown.now.aborted) return this.handBack();
      const end = await this.runStep(index, step);
      if (end) return end;
    }
    return this.settle({ state: 'succeeded', reason: this.outcome() });
  }

  /** The runbook's sentence about what the run made; a faulty one must not turn success into an error. */
  private outcome(): string | null {
    try {
      return this.runbook.outcome?.(this.outputs) ?? null;
    } catch {
      return null;
    }
  }

  /** Runs one step; returns how the drive ends when it does not go on to the next step. */
  private async runStep(index: number, step: StepDefinition<unknown>): Promise<DriveEnd | undefined> {
    const attempt = await this.options.store.startAttempt(this.lease, { index, id: step.id, action: 'run' });
    if (attempt === undefined) return this.abort(await this.options.store.attempts(this.run.id));
    const context = { ...this.context(attempt, this.keeper.stepSignal), progress: this.reporter(index, attempt) };
    const started = await this.started(step, index, attempt, 'run');
    const shutdown = step.idempotent ? this.options.shutdown.now : this.options.shutdown.afterGrace;
    const runSignal = AbortSignal.any([this.keeper.stepSignal, shutdown]);
    const result = started.ok
      ? await callStep((signal) => step.run({ ...context, signal }), { timeoutMs: step.timeoutMs, runSignal, what: `step "${step.id}"`, ...waitForStop(step) })
      : { ok: false as const, error: started.error, timedOut: false, durationMs: 0 };
    this.reporting = undefined;
    // The last report not written yet goes with the attempt's end (or before the run is handed back).
    const lastReport = (await this.progress.takePending())?.progress;
    const progress = lastReport ? { progress: lastReport } : {};
    if (this.keeper.lost.aborted) throw new LeaseLostError((this.keeper.lost.reason as RunStop & { message?: string }).message ?? 'lease lost');
    if (started.ok && !result.ok && shutdown.aborted && !this.keeper.abortRequested) {
      if (lastReport) await this.options.store.recordProgress(this.lease, { index, attempt, progress: lastReport });
      return this.abandon(step);
    }
    let failure: { error: string; timedOut: boolean; durationMs: number; endsRun?: boolean };
    if (result.ok) {
      const stored = storable(result.value);
      if (stored.ok) {
        await this.options.store.finishAttempt(this.lease, { index, attempt, outcome: 'done', output: stored.value, ...progress });
        this.outputs[step.id] = stored.value;
        await this.finished(step, index, attempt, 'run', 'done', result.durationMs);
        return undefined;
      }
      // The step acted, but what it returned cannot be kept: a person decides, as for a failure.
      failure = { error: stored.error, timedOut: false, durationMs: result.durationMs };
    } else {
      failure = result;
    }
    if (this.keeper.abortRequested) {
      await this.options.store.finishAttempt(this.lease, { index, attempt, outcome: 'interrupted', error: 'stopped: the run is being aborted', ...progress });
      await this.finished(step, index, attempt, 'run', 'interrupted', failure.durationMs, 'stopped: the run is being aborted');
      return this.abort(await this.options.store.attempts(this.run.id));
    }
    await this.options.store.finishAttempt(this.lease, { index, attempt, outcome: 'failed', error: failure.error, ...progress });
    await this.finished(step, index, attempt, 'run', 'failed', failure.durationMs, failure.error);
    const detail = { step: { index, id: step.id, title: step.title, kind: step.kind, attempt, idempotent: step.idempotent, skippable: step.skippable !== false, error: failure.error, timedOut: failure.timedOut } };
    // The step's own sentence is the run's reason: it already says what it did about the failure.
    if (failure.endsRun) return this.settle({ state: 'failed', reason: failure.error, detail });
    const reason = `step "${step.id}" (${step.title}) failed: ${failure.error}`;
    if (this.runbook.onStepFailure === 'fail') return this.settle({ state: 'failed', reason, detail });
    return this.settle({ state: 'needs_decision', reason, detail });
  }

  private needsDecision(index: number, step: StepDefinition<unknown>, last: AttemptRecord, justInterrupted: boolean): Promise<DriveEnd> {
    const reason =
      last.outcome === 'interrupted'
        ? `step "${step.id}" (${step.title}) was interrupted${step.idempotent ? '' : ' and is not safe to run again by itself'}: ${step.skippable === false ? 'retry or abort' : 'retry, skip or abort'}`
        : `step "${step.id}" (${step.title}) failed: ${last.error ?? 'no error recorded'}`;
    return this.settle({
      state: 'needs_decision',
      reason,
      detail: {
        step: {
          index,
          id: step.id,
          title: step.title,
          idempotent: step.idempotent,
          skippable: step.skippable !== false,
          attempt: last.attempt,
          outcome: last.outcome,
          startedAt: last.startedAt.toISOString(),
          finishedAt: last.finishedAt?.toISOString() ?? null,
          owner: last.owner,
          error: last.error,
          interruptedByTakeover: justInterrupted,
        },
      },
    });
  }

  /**
   * Undoes the completed steps in reverse order where they can be undone, and reports each: undone,
   * nothing to undo (no compensation), or could not undo (the compensation failed). A compensation
   * interrupted by a crash is run again by the next runner: compensations must be safe to repeat.
   */
  private async abort(attempts: AttemptRecord[]): Promise<DriveEnd> {
    const undone: string[] = [];
    const nothingToUndo: string[] = [];
    const couldNotUndo: Array<{ step: string; error: string }> = [];
    const ran = (index: number) => attempts.some((a) => a.stepIndex === index && a.action === 'run' && a.outcome === 'done');
    // A step stopped part-way (by this abort, or by a runner's death) is undone too when its compensation can.
    const ranPartly = (index: number) => steps[index]!.undoesPartialRun === true && attempts.some((a) => a.stepIndex === index && a.action === 'run' && a.outcome !== 'skipped');
    const completed = (index: number) => ran(index) || ranPartly(index);
    const compensated = (index: number) => attempts.some((a) => a.stepIndex === index && a.action === 'compensate' && a.outcome === 'compensated');
    const steps = this.runbook.steps;
    for (let index = steps.length - 1; index >= 0; index -= 1) {
      const step = steps[index]!;
      if (!completed(index)) continue;
      if (compensated(index)) {
        undone.push(step.id);
        continue;
      }
      const compensate = step.compensate;
      if (!compensate) {
        nothingToUndo.push(step.id);
        continue;
      }
      if (this.options.shutdown.now.aborted) return this.handBack();
      const attempt = (await this.options.store.startAttempt(this.lease, { index, id: step.id, action: 'compensate' }))!;
      const context = this.context(attempt, this.keeper.lost);
      const started = await this.started(step, index, attempt, 'compensate');
      // Compensations are safe to repeat (see above): a shutdown stops one at once, for the next runner.
      const runSignal = AbortSignal.any([this.keeper.lost, this.options.shutdown.now]);
      const result = started.ok
        ? await callStep((signal) => compensate.call(step, { ...context, signal }), { timeoutMs: step.timeoutMs, runSignal, what: `undoing step "${step.id}"` })
        : { ok: false as const, error: started.error, durationMs: 0 };
      if (this.keeper.lost.aborted) throw new LeaseLostError('lease lost while undoing a step');
      if (!result.ok && this.options.shutdown.now.aborted) return this.handBack(`undoing step "${step.id}" was stopped and runs again`);
      if (result.ok) {
        const output = storable(result.value);
        await this.options.store.finishAttempt(this.lease, { index, attempt, outcome: 'compensated', output: output.ok ? output.value : { unstorable: output.error } });
        await this.finished(step, index, attempt, 'compensate', 'compensated', result.durationMs);
        undone.push(step.id);
      } else {
        await this.options.store.finishAttempt(this.lease, { index, attempt, outcome: 'failed', error: result.error });
        await this.finished(step, index, attempt, 'compensate', 'failed', result.durationMs, result.error);
        couldNotUndo.push({ step: step.id, error: result.error });
      }
    }
    const parts = [
      undone.length ? `undone: ${undone.join(', ')}` : 'nothing was undone',
      nothingToUndo.length ? `no way to undo: ${nothingToUndo.join(', ')}` : '',
      couldNotUndo.length ? `could not undo: ${couldNotUndo.map((each) => `${each.step} (${each.error})`).join(', ')}` : '',
    ].filter(Boolean);
    return this.settle({ state: 'aborted', reason: `aborted; ${parts.join('; ')}`, detail: { undone, nothingToUndo, couldNotUndo } });
  }

  private async handBack(what?: string): Promise<DriveEnd> {
    const reason = `handed back by ${this.lease.owner}, which is shutting down${what ? `: ${what}` : ''}`;
    await this.options.store.settle(this.lease, { state: 'pending', reason });
    return 'handed-back';
  }

  /**
   * The step at hand was stopped for a shutdown: its attempt is left `running` and the run handed
   * back, exactly as a crash leaves it, so the next runner's takeover marks it interrupted and
   * decides as after a crash: an idempotent step runs again, another waits for a person.
   */
  private abandon(step: StepDefinition<unknown>): Promise<DriveEnd> {
    return this.handBack(
      step.idempotent
        ? `step "${step.id}" was stopped and runs again`
        : `step "${step.id}" did not end within the shutdown grace; the next runner treats it as interrupted`,
    );
  }

  private async settle(outcome: { state: Exclude<RunState, 'running' | 'pending'>; reason: string | null; detail?: Record<string, unknown> }): Promise<DriveEnd> {
    const settled = await this.options.store.settle(this.lease, outcome);
    // An abort asked for while the last step ran wins over the ending this drive reached.
    if (settled.state === 'aborting' && outcome.state !== 'aborted') return this.abort(await this.options.store.attempts(this.run.id));
    await announce(this.options, settled);
    return settled.state;
  }

  private context(attempt: number, signal: AbortSignal): StepContext<unknown> {
    return { runId: this.run.id, requester: this.run.requester, origin: this.run.origin, approvedBy: this.run.approvedBy, args: this.run.args, outputs: { ...this.outputs }, attempt, signal, ports: this.options.ports, progress: ignoreProgress };
  }

  /** The `progress` of one attempt of a step: checked at once, written through the run's throttle while the attempt runs. */
  private reporter(index: number, attempt: number): StepContext<unknown>['progress'] {
    const key = `${index}/${attempt}`;
    this.reporting = key;
    return (report) => {
      const progress = checkedProgress(report);
      if (this.reporting === key) this.progress.report({ index, attempt, progress });
    };
  }

  private event(step: StepDefinition<unknown>, index: number, attempt: number, action: 'run' | 'compensate'): StepAuditEvent {
    const { run } = this;
    return { runId: run.id, runbook: run.runbook, version: run.version, requester: run.requester, origin: run.origin, stepIndex: index, stepId: step.id, kind: step.kind, title: step.title, attempt, action };
  }

  /** A step must not act unrecorded: when the trail refuses its start, the step fails without running. */
  private async started(step: StepDefinition<unknown>, index: number, attempt: number, action: 'run' | 'compensate'): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.options.audit.stepStarted(this.event(step, index, attempt, action));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: `the audit trail did not record the step's start (${describe(error)}), so it did not run` };
    }
  }

  private async finished(
    step: StepDefinition<unknown>,
    index: number,
    attempt: number,
    action: 'run' | 'compensate',
    outcome: 'done' | 'failed' | 'compensated' | 'interrupted',
    durationMs: number,
    error?: string,
  ): Promise<void> {
    await this.options.audit
      .stepFinished({ ...this.event(step, index, attempt, action), outcome, durationMs, ...(error ? { error } : {}) })
      .catch((failure: unknown) => this.options.log(`the audit trail did not take the end of step ${step.id} of run ${this.run.id}`, failure));
  }
}

function statusOf(attempts: AttemptRecord[], index: number, justInterrupted: Set<string>): StepStatus {
  const mine = attempts.filter((a) => a.stepIndex === index && a.action === 'run').sort((a, b) => a.attempt - b.attempt);
  if (mine.some((a) => a.outcome === 'done' || a.outcome === 'skipped')) return { kind: 'completed' };
  const last = mine.at(-1);
  if (!last) return { kind: 'fresh' };
  return { kind: 'stopped', last, justInterrupted: justInterrupted.has(`${index}/${last.attempt}`) };
}

/** A step's output as JSON data (what the attempts table keeps), or why it cannot be kept. */
function storable(value: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (value === undefined) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(value)) as unknown };
  } catch (error) {
    return { ok: false, error: `it finished, but its output could not be stored as JSON (${describe(error)})` };
  }
}

/** How long callStep waits for a stopped step to come to rest, and on which stops (definition.ts). */
function waitForStop(step: StepDefinition<unknown>): { waitForStopMs?: number; waitForStopWhen?: (reason: unknown) => boolean } {
  if (step.undoesPartialRun) return { waitForStopMs: step.timeoutMs };
  if (step.finishesWhenAborted) return { waitForStopMs: step.timeoutMs, waitForStopWhen: (reason) => (reason as RunStop | undefined)?.kind === 'abort-requested' };
  return {};
}
