/**
 * The engine's audit sink (runbooks/engine/ports.ts) on the bot's audit trail. A step's start is
 * committed to the chain before the step runs (appendToChain: a refusal fails the step, which then
 * does not act unrecorded); its end and a run's states take the ordinary append, which spools
 * while PostgreSQL is away. Keys make a repeated record (a runner retrying a write) one record.
 */
import type { AuditTrail } from '../audit-trail/index.js';
import type { RunAuditSink, StepAuditEvent } from '../../runbooks/engine/ports.js';

type TrailWriter = Pick<AuditTrail, 'append' | 'appendToChain'>;

function stepDetails(event: StepAuditEvent): Record<string, unknown> {
  return {
    run: event.runId,
    runbook: event.runbook,
    version: event.version,
    requested_from: event.origin,
    step: event.stepId,
    step_index: event.stepIndex,
    step_kind: event.kind,
    title: event.title,
    attempt: event.attempt,
    action: event.action,
  };
}

const stepKey = (event: StepAuditEvent, end: 'start' | 'end') => `run_step:${event.runId}:${event.stepIndex}:${event.action}:${event.attempt}:${end}`;

export function trailAuditSink(trail: TrailWriter): RunAuditSink {
  return {
    async stepStarted(event) {
      await trail.appendToChain({
        kind: 'run_step',
        key: stepKey(event, 'start'),
        actor: event.requester,
        origin: 'system',
        command: `run ${event.runbook}`.slice(0, 200),
        outcome: 'started',
        details: stepDetails(event),
      });
    },
    async stepFinished(event) {
      await trail.append({
        kind: 'run_step',
        key: stepKey(event, 'end'),
        actor: event.requester,
        origin: 'system',
        command: `run ${event.runbook}`.slice(0, 200),
        outcome: event.outcome,
        details: { ...stepDetails(event), duration_ms: event.durationMs, ...(event.error ? { error: event.error } : {}) },
      });
    },
    async runStateChanged(event) {
      await trail.append({
        kind: 'run_state',
        actor: 'system',
        origin: 'system',
        command: `run ${event.runbook}`.slice(0, 200),
        outcome: event.state,
        details: { run: event.runId, runbook: event.runbook, version: event.version, state: event.state, reason: event.reason },
      });
    },
  };
}
