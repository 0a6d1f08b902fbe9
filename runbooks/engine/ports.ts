/**
 * What the engine needs from the process that hosts it, and what steps may talk to. The bot
 * implements these later (its audit trail, its command dependencies); runbooks/ never imports
 * bot/ (.dependency-cruiser.cjs), so the shapes are declared here and the compiler checks the fit
 * wherever the bot hands them in.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { StepKind } from './step-kinds.js';

/** One step attempt starting or ending, as the audit trail records it. */
export interface StepAuditEvent {
  runId: string;
  runbook: string;
  version: string;
  requester: string;
  origin: string;
  stepIndex: number;
  stepId: string;
  kind: StepKind;
  title: string;
  attempt: number;
  /** `run` for the step itself, `compensate` for undoing it during an abort. */
  action: 'run' | 'compensate';
}

export interface StepFinishedEvent extends StepAuditEvent {
  outcome: 'done' | 'failed' | 'compensated' | 'interrupted';
  durationMs: number;
  error?: string;
}

export interface RunStateEvent {
  runId: string;
  runbook: string;
  version: string;
  state: string;
  reason: string | null;
}

/**
 * Where every step's start and end go (the bot's audit trail). `stepStarted` is awaited before the
 * step runs and a refusal fails the step: a step must not act without its start on record.
 */
export interface RunAuditSink {
  stepStarted(event: StepAuditEvent): Promise<void>;
  stepFinished(event: StepFinishedEvent): Promise<void>;
  runStateChanged(event: RunStateEvent): Promise<void>;
}

/** An audit sink that records nothing: for tests and tools that do not keep a trail. */
export const silentAuditSink: RunAuditSink = {
  async stepStarted() {},
  async stepFinished() {},
  async runStateChanged() {},
};

/**
 * What steps may call: the same things commands call (the Stack port, the service clients, the
 * stack's database and Redis), when this process has them. A runbook whose step needs one that is
 * absent fails that step with a sentence saying so.
 */
export interface StepPorts {
  commands?: Partial<CommandDependencies>;
}
