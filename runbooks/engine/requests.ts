/**
 * What people ask of the engine, checked before anything is written: start a run (a known
 * runbook, arguments its schema accepts), and see its plan (each step's dry run). Decisions and
 * aborts are checked by the store under the run's row lock (run-store.ts).
 */
import { z } from 'zod';
import type { AnyRunbook, DryRunResult, StepKind } from './definition.js';
import { RunbookInputError } from './errors.js';
import type { StepPorts } from './ports.js';
import type { RunbookRegistry } from './registry.js';
import type { RunRecord, RunStore } from './run-store.js';
import { callStep } from './step-call.js';
import { ignoreProgress } from './step-progress.js';

export interface RunRequest {
  runbook: string;
  args: unknown;
  /** Who asked (a Slack user id, a CLI user). */
  requester: string;
  /** Where it was asked: typed, button, console, cli, schedule, alert. */
  origin: string;
  /** Who approved it, when its start was approved (the approval request's approvers). */
  approvedBy?: readonly string[];
  /**
   * The version the run's approved plan was made on: an approval binds that code, so when the
   * current version is another one the run is refused (`version-changed`) rather than started on it.
   */
  version?: string;
}

/** The runbook and the arguments as its schema parsed them; throws RunbookInputError. */
export function checkRequest(registry: RunbookRegistry, runbookName: string, args: unknown): { runbook: AnyRunbook; args: unknown } {
  const runbook = registry.current(runbookName);
  const parsed = runbook.args.safeParse(args ?? {});
  if (!parsed.success) {
    throw new RunbookInputError('bad-arguments', `The arguments for "${runbook.name}" are not valid:\n${z.prettifyError(parsed.error)}`);
  }
  return { runbook, args: parsed.data };
}

/** checkRequest, then the runbook's own check against the world (validate); throws RunbookInputError. */
export async function validateRequest(registry: RunbookRegistry, runbookName: string, rawArgs: unknown, ports: StepPorts): Promise<{ runbook: AnyRunbook; args: unknown }> {
  const checked = checkRequest(registry, runbookName, rawArgs);
  const refusal = await checked.runbook.validate?.(checked.args, ports);
  if (refusal) throw new RunbookInputError('refused-by-runbook', refusal.message, refusal.hint);
  return checked;
}

/** Records a new pending run on the runbook's current version; a runner picks it up. */
export async function submitRun(store: RunStore, registry: RunbookRegistry, request: RunRequest, ports: StepPorts = {}): Promise<RunRecord> {
  const { runbook, args } = await validateRequest(registry, request.runbook, request.args, ports);
  if (request.version !== undefined && request.version !== runbook.version) {
    throw new RunbookInputError(
      'version-changed',
      `Runbook "${runbook.name}" is version ${runbook.version} now, not version ${request.version} its plan was made and approved for: nothing was started.`,
      'Ask again: the approvers see the plan of the code that would run.',
    );
  }
  return store.create({ runbook: runbook.name, version: runbook.version, args, requester: request.requester, origin: request.origin, ...(request.approvedBy ? { approvedBy: request.approvedBy } : {}) });
}

export interface PlannedStep {
  index: number;
  id: string;
  kind: StepKind;
  title: string;
  idempotent: boolean;
  skippable: boolean;
  canBeUndone: boolean;
  /** What the dry run did; a dry run that failed says so as a description, with the error. */
  dryRun: DryRunResult & { error?: string };
}

export interface RunPlan {
  runbook: string;
  version: string;
  level: number;
  args: unknown;
  steps: PlannedStep[];
}

/**
 * Every step's dry run, in order, with the outputs of none (nothing ran). A dry run must only read:
 * what it returns says whether it checked something real or only described the step.
 */
export async function planRun(
  registry: RunbookRegistry,
  runbookName: string,
  rawArgs: unknown,
  ports: StepPorts = {},
  who: Pick<RunRequest, 'requester' | 'origin'> = { requester: 'unknown', origin: 'unknown' },
): Promise<RunPlan> {
  const { runbook, args } = await validateRequest(registry, runbookName, rawArgs, ports);
  const steps: PlannedStep[] = [];
  const never = new AbortController().signal;
  for (const [index, step] of runbook.steps.entries()) {
    const result = await callStep((signal) => step.dryRun({ runId: 'dry-run', ...who, approvedBy: [], args, outputs: {}, attempt: 1, signal, ports, progress: ignoreProgress }), {
      timeoutMs: step.timeoutMs,
      runSignal: never,
      what: `the dry run of step "${step.id}"`,
    });
    const dryRun: PlannedStep['dryRun'] = result.ok
      ? (result.value as DryRunResult)
      : { mode: 'description', text: `${step.title} (its dry run failed)`, error: result.error };
    steps.push({ index, id: step.id, kind: step.kind, title: step.title, idempotent: step.idempotent, skippable: step.skippable !== false, canBeUndone: Boolean(step.compensate), dryRun });
  }
  return { runbook: runbook.name, version: runbook.version, level: runbook.level, args, steps };
}
