/**
 * `deploy`: the runbook's standard deployment (OPERATIONAL_RUNBOOK.md, "Deployment Procedures"):
 * the pre-deployment checks with their evidence, the release built and validated in isolation, a
 * fresh backup as the rollback point, a rolling update service by service with verification after
 * each, the watch, and the notices. Level 2: the approval shows the plan (versions from and to,
 * the order, the backup, the watch rules) and is bound to it.
 */
import { z } from 'zod';
import { defineRunbook } from '../engine/definition.js';
import { ROLLOUT_ORDER, ServiceListSchema, VersionSchema, releaseRefusal, settingsOf } from './release-plan.js';
import {
  headroomStep,
  healthNowStep,
  lockStep,
  noticeFinishedStep,
  noticeStartedStep,
  prepareStep,
  releaseOutcome,
  rollbackPointStep,
  rolloutStep,
  unlockStep,
  validateStep,
  verdictStep,
  verifyStep,
} from './release-steps.js';
import { stopUnlessHoldingLock } from './rollout.js';
import { baselineStep, watchStep } from './watch-step.js';

export const DeployArgs = z
  .object({
    version: VersionSchema,
    /** Some services only (comma-separated); all four by default. */
    services: ServiceListSchema.optional(),
  })
  .strict();
type Args = z.output<typeof DeployArgs>;

const target = (args: Args) => ({ version: args.version, services: args.services ?? ROLLOUT_ORDER });

export const deployRunbook = defineRunbook({
  source: import.meta.url,
  name: 'deploy',
  summary: "Deploy a release (a tag or commit) to the stack's services: checks, validation, a backup, a rolling update with verification, a watch that rolls back by itself",
  level: 2,
  args: DeployArgs,
  validate: (args, ports) => releaseRefusal(ports, args.version),
  outcome: (outputs) => releaseOutcome('deploy', outputs),
  steps: [
    lockStep<Args>('deploy'),
    healthNowStep<Args>(),
    headroomStep<Args>(target),
    prepareStep<Args>(target),
    validateStep<Args>(),
    baselineStep<Args>(),
    rollbackPointStep<Args>('Take a fresh backup: the rollback point'),
    noticeStartedStep<Args>('deploy'),
    rolloutStep<Args>('deploy'),
    verifyStep<Args>('deploy'),
    watchStep<Args>({ baselineFrom: 'baseline', beforeSample: stopUnlessHoldingLock, settings: (ports) => ({ windowMs: settingsOf(ports).watchMs, everyMs: settingsOf(ports).watchEveryMs }) }),
    verdictStep<Args>('deploy'),
    noticeFinishedStep<Args>('deploy'),
    unlockStep<Args>(),
  ],
});
