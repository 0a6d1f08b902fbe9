/**
 * A runbook's version: a content hash of everything that decides what a run does. A run records
 * the version it started with; a changed runbook gets a new version, so an in-flight run is never
 * silently switched to other code.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../../services/kit/hash-chain/canonical-json.js';

interface VersionedShape {
  name: string;
  level: number;
  args: z.ZodType;
  onStepFailure: string;
  steps: ReadonlyArray<{
    id: string;
    kind: string;
    title: string;
    timeoutMs: number;
    idempotent: boolean;
    skippable?: boolean;
    run: (...args: never[]) => unknown;
    compensate?: (...args: never[]) => unknown;
    dryRun: (...args: never[]) => unknown;
  }>;
}

/**
 * The arguments as JSON Schema; a schema zod cannot describe (a transform, a refinement's code) is
 * described as far as zod can, which is what a person reading the plan sees anyway.
 */
function describeArgs(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' });
}

/** 16 hex digits of SHA-256: short enough to show, long enough never to collide among one runbook's versions. */
export function runbookVersion(runbook: VersionedShape): string {
  const described = {
    name: runbook.name,
    level: runbook.level,
    args: describeArgs(runbook.args),
    onStepFailure: runbook.onStepFailure,
    steps: runbook.steps.map((step) => ({
      id: step.id,
      kind: step.kind,
      title: step.title,
      timeoutMs: step.timeoutMs,
      idempotent: step.idempotent,
      skippable: step.skippable !== false,
      // The source text: a changed step body is a changed runbook, even with the same ids. It is the
      // text the module loader produced (tsx's transform; vitest's differs), so replicas agree when
      // they run the same code the same way; a replica that does not sees another version, which
      // errs on the safe side: the run stops for a decision instead of running other code.
      run: step.run.toString(),
      compensate: step.compensate ? step.compensate.toString() : null,
      dryRun: step.dryRun.toString(),
    })),
  };
  return createHash('sha256').update(canonicalJson(described)).digest('hex').slice(0, 16);
}
