/**
 * `hotfix`: the runbook's emergency hotfix: one service, now. An emergency backup, the service
 * force-recreated on the release, an immediate verification and a shorter watch (5 minutes) on the
 * critical metrics. Unlike a deploy it does not wait for the stack to be healthy first (a broken
 * service is why it runs) nor for headroom; the release is still validated in isolation, and a
 * replica that is not healthy still rolls back at once. Level 2; admins may break glass when no
 * approver answers (the command path's break-glass, recorded as such).
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { defineRunbook } from '../engine/definition.js';
import { VersionSchema, releaseRefusal, settingsOf } from './release-plan.js';
import {
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

export const HotfixArgs = z
  .object({
    service: z.enum(SERVICE_NAMES as unknown as [ServiceName, ...ServiceName[]], { message: `the service to hotfix is one of ${SERVICE_NAMES.join(', ')}` }),
    version: VersionSchema,
  })
  .strict();
type Args = z.output<typeof HotfixArgs>;

const target = (args: Args) => ({ version: args.version, services: [args.service] });

export const hotfixRunbook = defineRunbook({
  source: import.meta.url,
  name: 'hotfix',
  summary: 'Hotfix one service: emergency backup, the service recreated on the release, immediate verification, a 5-minute watch that rolls back by itself',
  level: 2,
  args: HotfixArgs,
  validate: (args, ports) => releaseRefusal(ports, args.version),
  outcome: (outputs) => releaseOutcome('hotfix', outputs),
  steps: [
    lockStep<Args>('hotfix'),
    prepareStep<Args>(target),
    validateStep<Args>(),
    baselineStep<Args>(),
    rollbackPointStep<Args>('Take an emergency backup: the rollback point'),
    noticeStartedStep<Args>('hotfix'),
    rolloutStep<Args>('hotfix'),
    verifyStep<Args>('hotfix'),
    watchStep<Args>({ baselineFrom: 'baseline', beforeSample: stopUnlessHoldingLock, title: 'Watch the critical metrics after the hotfix', settings: (ports) => ({ windowMs: settingsOf(ports).hotfixWatchMs, everyMs: settingsOf(ports).watchEveryMs }) }),
    verdictStep<Args>('hotfix'),
    noticeFinishedStep<Args>('hotfix'),
    unlockStep<Args>(),
  ],
});
