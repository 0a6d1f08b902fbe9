/**
 * A runbook's version: a content hash of everything that decides what a run does: the definition's
 * data and the text of the module that defines it, as the file holds it (not as a module loader
 * transformed it: tsx, `node --import tsx` and vitest each make other code of the same file, and
 * replicas started differently must agree). A run records the version it started with; a changed
 * runbook gets a new version, so an in-flight run is never silently switched to other code.
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
export function runbookVersion(runbook: VersionedShape, sourceText: string): string {
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
    })),
    // A changed step body is a changed runbook, even with the same ids. Line endings are a
    // checkout's choice, not the code's.
    source: createHash('sha256').update(sourceText.replace(/\r\n/g, '\n')).digest('hex'),
  };
  return createHash('sha256').update(canonicalJson(described)).digest('hex').slice(0, 16);
}
