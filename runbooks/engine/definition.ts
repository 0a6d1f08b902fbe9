/**
 * A runbook as code: a name, a summary, its escalation level, zod arguments and an ordered list of
 * steps. `defineRunbook` checks the shape once, at load time, and stamps the definition with its
 * version (version.ts), which every run records so that it finishes on the code it started with.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { StepPorts } from './ports.js';
import type { StepProgress } from './run-store.js';
import { STEP_KINDS, type StepKind } from './step-kinds.js';
import { runbookVersion } from './version.js';

export { STEP_KINDS, type StepKind } from './step-kinds.js';

/** The runbook's escalation levels (0 read-only), as commands have them. */
export type RunbookLevel = 0 | 1 | 2 | 3 | 4;

/** What a step sees while it runs (or while its dry run or compensation runs). */
export interface StepContext<Args> {
  runId: string;
  /** Who asked for the run (a Slack user id, a CLI user); on a dry run, who asked for the plan. */
  requester: string;
  /** Where it was asked: typed, button, console, cli, schedule, alert. */
  origin: string;
  /**
   * Who approved the run's start (its approval request's approvers), for steps that record who
   * let them act; empty when the run needed no approval, and on a dry run (made before approval).
   */
  approvedBy: readonly string[];
  args: Args;
  /** What earlier completed steps returned, by step id (survives a takeover: it is stored). */
  outputs: Readonly<Record<string, unknown>>;
  /** 1 for the first attempt of this step; higher after a retry or a takeover. */
  attempt: number;
  /** Aborted on timeout, on abort of the run, and when this process lost the run's lease. */
  signal: AbortSignal;
  ports: StepPorts;
  /**
   * Tells the run's watchers how far a long step got (the Slack message under the step, `run
   * status`, the CLI follower): `text` is one sentence, `data` optional JSON figures. Call it as
   * often as useful: it is recorded on the attempt at most every couple of seconds (the latest
   * always lands, at the latest with the step's end) and survives a takeover. A no-op in dry runs
   * and compensations. Throws a TypeError for a report that cannot be kept (no text, data that is
   * not JSON).
   */
  progress(report: StepProgress): void;
}

/**
 * What a dry run did: a real check that only read (`read-only-check`) or merely said what the step
 * would do (`description`). The plan shows which, so that a dry run never passes for more than it is.
 */
export interface DryRunResult {
  mode: 'read-only-check' | 'description';
  /** What was found or would be done, for people: evidence (sizes, ages) may change between two dry runs. */
  text: string;
  /**
   * What the step will act on (`database acgs`, `backup 20261206T152000Z-a1b2c3`), stable while the
   * plan means the same: part of the plan's hash that an approval is bound to (runbooks/README.md).
   */
  target?: string;
}

export interface StepDefinition<Args> {
  /** Unique within the runbook; stays the same across versions when the step means the same. */
  id: string;
  kind: StepKind;
  /** A sentence a person understands, shown in the run's message. */
  title: string;
  timeoutMs: number;
  /** Safe to run again after a crash interrupted it; a non-idempotent one waits for a person. */
  idempotent: boolean;
  /**
   * Whether a person may skip it when it stopped (default true). False for a step whose output
   * later steps need: skipping it would only make the next step fail.
   */
  skippable?: boolean;
  /** Returns a JSON-able summary, kept as the step's output for later steps and for people. */
  run(context: StepContext<Args>): Promise<unknown>;
  /** Undoes what `run` did, when the run is aborted later; absent when nothing can be undone. */
  compensate?(context: StepContext<Args>): Promise<unknown>;
  /**
   * Whether `compensate` also undoes a run of the step that was stopped part-way (an abort while
   * it ran, or a runner that died in it). Such a step is waited for once it is told to stop (it
   * must honour its signal, at most `timeoutMs`), so that undoing never races what it still does.
   */
  undoesPartialRun?: boolean;
  /**
   * Whether the step, once an abort stops it, is waited for (at most `timeoutMs`) before the run
   * is ended as aborted, because what it still does cleans up after itself: a gate whose request
   * is created while the run is being aborted withdraws it, and the run must not read as aborted
   * with that request still open. A shutdown or a lost lease does not wait for it.
   */
  finishesWhenAborted?: boolean;
  dryRun(context: StepContext<Args>): Promise<DryRunResult>;
  /** For a `gate` step (gate-step.ts): the level its approval is decided at. */
  gate?: GateSettings;
}

/** What a gate waits for: an approval decided at this level. */
export interface GateSettings {
  level: 2 | 3 | 4;
  /**
   * How many approvals it needs; without it, what the authorization rules give for the level. The
   * rules stay a floor: a runbook's code can ask for more approvers than they do, never fewer.
   */
  approvals?: number;
}

/** Why a run is refused before it is recorded (validate), and what to do instead. */
export interface RunbookRefusal {
  message: string;
  hint?: string;
}

export interface RunbookInput<Schema extends z.ZodType> {
  /**
   * The defining module's URL: `source: import.meta.url`. Its file's text is part of the version
   * (version.ts), so a changed step body changes the version whatever loader runs the code.
   */
  source: string;
  name: string;
  summary: string;
  level: RunbookLevel;
  args: Schema;
  steps: ReadonlyArray<StepDefinition<z.output<Schema>>>;
  /**
   * When a step fails (throws or times out): `decide` (the default) stops the run for a person
   * (retry / skip / abort); `fail` ends it as failed, for runbooks where retrying makes no sense.
   */
  onStepFailure?: 'decide' | 'fail';
  /**
   * Checks the parsed arguments against the world before anything is written (the backup to verify
   * is there): a refusal answers the request (submit and dry run alike) and no run is recorded.
   * Only reads; a check that cannot be made (the disk does not answer) throws instead.
   */
  validate?(args: z.output<Schema>, ports: StepPorts): Promise<RunbookRefusal | undefined>;
  /**
   * What a run that succeeded made, in one sentence from its steps' outputs (the new backup's id):
   * kept as the run's reason, so its status, its message and the CLI's end show it. Undefined, or
   * a throw, leaves the run without one; the run has succeeded either way.
   */
  outcome?(outputs: Readonly<Record<string, unknown>>): string | undefined;
}

export interface Runbook<Schema extends z.ZodType = z.ZodType> extends RunbookInput<Schema> {
  onStepFailure: 'decide' | 'fail';
  /** A content hash of the definition (version.ts). */
  version: string;
}

/** A runbook whose arguments are not known statically: what the registry and the executor hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRunbook = Runbook<any>;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** A definition that cannot work: thrown when the module loads, never at run time. */
export class RunbookDefinitionError extends Error {
  override readonly name = 'RunbookDefinitionError';
}

export function defineRunbook<Schema extends z.ZodType>(input: RunbookInput<Schema>): Runbook<Schema> {
  const where = `runbook "${input.name}"`;
  if (!NAME.test(input.name)) throw new RunbookDefinitionError(`${where}: a name is lower-case words joined by "-"`);
  if (!input.summary.trim()) throw new RunbookDefinitionError(`${where}: the summary is empty`);
  if (![0, 1, 2, 3, 4].includes(input.level)) throw new RunbookDefinitionError(`${where}: level must be 0 to 4`);
  if (input.steps.length === 0) throw new RunbookDefinitionError(`${where}: a runbook has at least one step`);
  const ids = new Set<string>();
  for (const step of input.steps) {
    const at = `${where}, step "${step.id}"`;
    if (!NAME.test(step.id)) throw new RunbookDefinitionError(`${at}: a step id is lower-case words joined by "-"`);
    if (ids.has(step.id)) throw new RunbookDefinitionError(`${at}: the id is used twice`);
    ids.add(step.id);
    if (!STEP_KINDS.includes(step.kind)) throw new RunbookDefinitionError(`${at}: kind must be one of ${STEP_KINDS.join(', ')}`);
    if (!step.title.trim()) throw new RunbookDefinitionError(`${at}: the title is empty`);
    if (!Number.isInteger(step.timeoutMs) || step.timeoutMs < 1) throw new RunbookDefinitionError(`${at}: timeoutMs must be a whole number of milliseconds`);
    if (typeof step.run !== 'function' || typeof step.dryRun !== 'function') throw new RunbookDefinitionError(`${at}: run and dryRun are required`);
    if (step.skippable !== undefined && typeof step.skippable !== 'boolean') throw new RunbookDefinitionError(`${at}: skippable is true or false`);
    if ((step.kind === 'gate') !== (step.gate !== undefined)) throw new RunbookDefinitionError(`${at}: a gate step, and only a gate step, has gate settings (use gateStep)`);
    // Skipping a gate would let the run past its approvers: a stopped gate is retried or aborted.
    if (step.gate && (![2, 3, 4].includes(step.gate.level) || step.skippable !== false)) throw new RunbookDefinitionError(`${at}: a gate's level is 2 to 4 and a gate is never skippable (use gateStep)`);
    if (step.gate?.approvals !== undefined && !(Number.isInteger(step.gate.approvals) && step.gate.approvals >= 1 && step.gate.approvals <= 10)) {
      throw new RunbookDefinitionError(`${at}: a gate's approvals are a whole number from 1 to 10 (got ${String(step.gate.approvals)})`);
    }
  }
  const runbook = { ...input, steps: [...input.steps], onStepFailure: input.onStepFailure ?? 'decide' };
  return Object.freeze({ ...runbook, version: runbookVersion(runbook, readSource(where, input.source)) });
}

/** The defining module's text, read once when the module loads. */
function readSource(where: string, source: string): string {
  let path: string;
  try {
    path = fileURLToPath(source);
  } catch {
    throw new RunbookDefinitionError(`${where}: source must be the module's file URL (source: import.meta.url), not ${JSON.stringify(String(source)).slice(0, 80)}`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new RunbookDefinitionError(`${where}: its source ${path} cannot be read (${(error as Error).message})`);
  }
}
