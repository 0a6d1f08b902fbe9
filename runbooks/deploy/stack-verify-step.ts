/**
 * The whole stack's verification as a step, after a deploy's rollout and after a rollback: every
 * health check, the Policy Engine's decisions on the known inputs, the audit chain. What a failure
 * does belongs to the runbook: a deploy rolls back, a rollback (which cannot undo itself) asks a
 * person.
 */
import type { DryRunResult, StepContext, StepDefinition } from '../engine/definition.js';
import type { VerificationFigure } from '../engine/ports.js';
import { ROLLOUT_ORDER } from './release-plan.js';
import { failedFigures, verifyRelease } from './verification.js';

export interface StackVerifyOptions<Args> {
  /** Told the figures that failed; what it throws is how the step fails. */
  onFailure(context: StepContext<Args>, failed: VerificationFigure[]): Promise<void>;
  /** What a failure does, for the plan an approver reads: `any failure rolls back`. */
  onFailureWords?: string;
}

export function stackVerifyStep<Args>(options: StackVerifyOptions<Args>): StepDefinition<Args> {
  return {
    id: 'verify',
    kind: 'verify',
    title: "Verify the whole stack: health, the Policy Engine's decisions on known inputs, the audit chain",
    timeoutMs: 5 * 60_000,
    idempotent: true,
    async run(context) {
      const figures = await verifyRelease(context.ports, ROLLOUT_ORDER, context.signal, true);
      const failed = failedFigures(figures);
      if (failed.length > 0) await options.onFailure(context, failed);
      return { figures };
    },
    async dryRun(): Promise<DryRunResult> {
      const text = 'Would check every health check, a known allowed and a known denied decision, and the audit chain';
      return { mode: 'description', text: options.onFailureWords ? `${text}; ${options.onFailureWords}` : text };
    },
  };
}
