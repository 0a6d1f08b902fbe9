/**
 * What an approval of a runbook run is bound to: the plan (every step's dry run) as people read
 * it, and a hash of what the plan will DO: the runbook, its version, the arguments as its schema
 * parsed them, and each step (id, kind, title, idempotent, can be undone, target). A dry run's
 * text is evidence (sizes, ages, "now: healthy") and whether its check ran or failed is how the
 * plan was looked at, not what it does: neither is hashed, so a plan is not superseded because a
 * dump grew by a few bytes, and is when a step would act on another target (runbooks/README.md).
 *
 * The fingerprint stays readable (it is shown as "state when requested") and carries one short
 * hash per part, so a changed plan can say which part changed.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../services/kit/hash-chain/canonical-json.js';
import type { ApprovalPlan } from './command.js';
import { levelWords } from './decision-documents.js';
import { clip } from './format.js';
import type { RunPlanInfo, RunPlanStep } from './ports.js';

/** The approval store keeps fingerprints up to 200 characters. */
const MAX_FINGERPRINT = 200;
/**
 * The approval store keeps up to 100 plan lines of up to 2,900 characters: a line fits one Slack
 * section whole, so a step's dry run is read in full rather than cut where it says what it finds.
 */
const MAX_PLAN_LINES = 100;
const MAX_PLAN_LINE = 2900;

const DRY_RUN_WORDS = { 'read-only-check': 'checked (read-only)', description: 'description only' } as const;

const stepsWord = (count: number) => `${count} step${count === 1 ? '' : 's'}`;

const digest = (value: unknown, hexDigits: number) => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, hexDigits);

/** What a step will do, as hashed: never its dry run's text, mode or error. */
function stepMeaning(step: RunPlanStep): unknown {
  return { index: step.index, id: step.id, kind: step.kind, title: step.title, idempotent: step.idempotent, canBeUndone: step.canBeUndone, target: step.dryRun.target ?? null };
}

/** The whole plan's hash: 32 hex digits (128 bits) of SHA-256 over the canonical JSON of what it does. */
export function planHash(plan: RunPlanInfo): string {
  return digest({ runbook: plan.runbook, version: plan.version, args: plan.args ?? {}, steps: plan.steps.map(stepMeaning) }, 32);
}

/**
 * `plan <hash> · <runbook>@<version> · args <h> · steps <h>,<h>,...`: one hash per step while they
 * fit in the store's 200 characters, else one for all the steps and their count.
 */
export function planFingerprint(plan: RunPlanInfo): string {
  const head = `plan ${planHash(plan)} · ${plan.runbook}@${plan.version} · args ${digest(plan.args ?? {}, 8)}`;
  const perStep = `${head} · steps ${plan.steps.map((step) => digest(stepMeaning(step), 6)).join(',')}`;
  if (perStep.length <= MAX_FINGERPRINT) return perStep;
  return clip(`${head} · steps ${plan.steps.length}:${digest(plan.steps.map(stepMeaning), 8)}`, MAX_FINGERPRINT);
}

interface FingerprintParts {
  runbook: string;
  version: string;
  args: string;
  /** One hash per step, or undefined when they were folded into one. */
  steps?: string[];
  stepsFolded?: string;
}

const FINGERPRINT = /^plan [0-9a-f]+ · ([a-z0-9-]+)@(\S+) · args ([0-9a-f]+) · steps (\S+)$/;

function partsOf(fingerprint: string): FingerprintParts | undefined {
  const match = FINGERPRINT.exec(fingerprint);
  if (!match) return undefined;
  const [, runbook, version, args, steps] = match as unknown as [string, string, string, string, string];
  return steps.includes(':') ? { runbook, version, args, stepsFolded: steps } : { runbook, version, args, steps: steps.split(',') };
}

/** The runbook version a plan's fingerprint names; undefined for a fingerprint that is not a plan's. */
export function plannedVersion(fingerprint: string): string | undefined {
  return partsOf(fingerprint)?.version;
}

/** Which parts of `plan` differ from the plan `earlier` fingerprints, as a clause; undefined when none does. */
export function describePlanChange(earlier: string, plan: RunPlanInfo): string | undefined {
  const now = planFingerprint(plan);
  if (now === earlier) return undefined;
  const before = partsOf(earlier);
  const after = partsOf(now)!;
  if (!before) return 'the plan it was requested with cannot be compared with the plan now';
  const changes: string[] = [];
  if (before.runbook !== after.runbook) changes.push(`it now runs runbook "${after.runbook}", not "${before.runbook}"`);
  if (before.version !== after.version) changes.push(`the runbook's code changed (version ${before.version} is now ${after.version})`);
  if (before.args !== after.args) changes.push('the arguments as the runbook reads them changed');
  if (before.steps && after.steps) {
    if (before.steps.length !== after.steps.length) changes.push(`it has ${stepsWord(after.steps.length)} now, ${before.steps.length} when requested`);
    else {
      const changed = plan.steps.filter((_, index) => before.steps![index] !== after.steps![index]);
      if (changed.length > 0) changes.push(`what ${changed.length === 1 ? 'step' : 'steps'} ${changed.map((step) => `${step.index + 1} (${step.title}${step.dryRun.target ? `, now on ${step.dryRun.target}` : ''})`).join(', ')} would do changed`);
    }
  } else if (before.stepsFolded !== after.stepsFolded) changes.push('its steps or what they act on changed');
  return changes.length > 0 ? changes.join('; ') : 'the plan changed';
}

/** One line per step: number, title, kind, target, how its dry run was made and what it found. */
export function planLines(plan: RunPlanInfo): string[] {
  return plan.steps.map((step) => {
    const how = step.dryRun.error ? 'description (its check failed)' : DRY_RUN_WORDS[step.dryRun.mode];
    const target = step.dryRun.target ? ` on ${step.dryRun.target}` : '';
    const text = step.dryRun.error ? `${step.dryRun.text}: ${step.dryRun.error}` : step.dryRun.text;
    return clip(`${step.index + 1}. ${step.title} (${step.kind}${target}); ${how}: ${text}`, MAX_PLAN_LINE);
  });
}

/** The plan's lines as the store keeps them: a plan longer than it keeps says so in its last line. */
function storedPlanLines(plan: RunPlanInfo): string[] {
  const lines = planLines(plan);
  if (lines.length <= MAX_PLAN_LINES) return lines;
  const kept = lines.slice(0, MAX_PLAN_LINES - 1);
  return [...kept, `… steps ${kept.length + 1} to ${lines.length} are not listed here: the whole plan is the runbook's --dry-run`];
}

/** The plan an approval request shows and is bound to. */
export function runbookApprovalPlan(plan: RunPlanInfo): ApprovalPlan {
  const checked = plan.steps.filter((step) => step.dryRun.mode === 'read-only-check' && !step.dryRun.error).length;
  return {
    summary: `Run runbook ${plan.runbook}, ${levelWords(plan.level)}, version ${plan.version}: ${stepsWord(plan.steps.length)}, ${checked} checked for real by a read-only dry run, the others only described`,
    target: `runbook ${plan.runbook}`,
    fingerprint: planFingerprint(plan),
    details: storedPlanLines(plan),
    explainChange: (earlier) => describePlanChange(earlier, plan),
  };
}
