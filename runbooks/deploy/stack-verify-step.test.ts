/**
 * The one verification step deploy and rollback share, against a stack where nothing answers (every
 * client on a loopback port nobody listens on): each check fails for real, the runbook's failure
 * hook is told every failing figure and decides how the step fails. The passing path runs on the
 * embedded stack in deploy-embedded.test.ts and rollback.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { endpointsNowhere } from '../../test/testing/services-nowhere.js';
import type { StepContext } from '../engine/definition.js';
import type { VerificationFigure } from '../engine/ports.js';
import { restoreRunbook } from '../backup/restore.js';
import { rollbackRestoreRunbook } from './rollback-restore.js';
import { rollbackRunbook } from './rollback.js';
import { rollbackVerifyStep } from './rollback-steps.js';
import { verifyStep } from './release-steps.js';
import { stackVerifyStep } from './stack-verify-step.js';

async function contextNowhere(): Promise<StepContext<Record<string, never>>> {
  const commands = createCommandDependencies({ endpoints: await endpointsNowhere(), checkTimeoutMs: 500, callTimeoutMs: 500 });
  return { runId: 'run-1', requester: 'U0ONCALL', origin: 'test', approvedBy: [], args: {}, outputs: {}, attempt: 1, signal: new AbortController().signal, ports: { commands }, progress: () => undefined };
}

const EVERY_CHECK = ['audit-engine health', 'evolution-oversight health', 'sandbox-controller health', 'policy-engine health', 'policy-engine policy health', 'known allowed request', 'known denied request', 'audit chain'];

describe('the shared stack verification step', () => {
  it("tells the runbook's hook every check that failed, in rollout order, and fails as the hook says", async () => {
    const told: VerificationFigure[][] = [];
    const step = stackVerifyStep<Record<string, never>>({
      async onFailure(_context, failed) {
        told.push(failed);
        throw new Error('the hook decided');
      },
    });
    await expect(step.run(await contextNowhere())).rejects.toThrow(/^the hook decided$/);
    expect(told).toHaveLength(1);
    expect(told[0]!.map((figure) => figure.name)).toEqual(EVERY_CHECK);
    expect(told[0]!.every((figure) => !figure.ok)).toBe(true);
  });

  it('returns the figures when the hook lets a failure pass', async () => {
    const step = stackVerifyStep<Record<string, never>>({ onFailure: async () => undefined });
    const output = (await step.run(await contextNowhere())) as { figures: VerificationFigure[] };
    expect(output.figures.map((figure) => figure.name)).toEqual(EVERY_CHECK);
  });

  it('a rollback asks a person: its verify step fails with what failed and "retry checks again"', async () => {
    const error = await rollbackVerifyStep<Record<string, never>>()
      .run(await contextNowhere())
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    if (!(error instanceof Error)) throw new Error(`the rollback's verify step passed on a stack where nothing answers: ${String(error)}`);
    expect(error.message).toMatch(/^the stack fails its verification after the rollback: audit-engine health: .*; audit chain: not checked: .*; retry checks again$/);
  });

  it('says in the plan what a failure does: a deploy rolls back, a rollback only checks', async () => {
    const context = await contextNowhere();
    expect((await verifyStep<Record<string, never>>('deploy').dryRun(context)).text).toBe(
      'Would check every health check, a known allowed and a known denied decision, and the audit chain; any failure rolls back',
    );
    expect((await rollbackVerifyStep<Record<string, never>>().dryRun(context)).text).toBe('Would check every health check, a known allowed and a known denied decision, and the audit chain');
  });
});

describe('rollback and rollback-restore share their steps', () => {
  const ids = (steps: ReadonlyArray<{ id: string }>) => steps.map((step) => step.id);

  it('rollback-restore is rollback with the restore (less its lock steps and last health check) between the plan and the redeploy', () => {
    expect(ids(restoreRunbook.steps).slice(0, 2)).toEqual(['check-backup', 'lock']);
    expect(ids(restoreRunbook.steps).slice(-2)).toEqual(['check-health', 'unlock']);
    // The rollback takes the deploy lock over itself and frees it at its end.
    const restore = ids(restoreRunbook.steps).filter((id) => !['lock', 'check-health', 'unlock'].includes(id));
    expect(ids(rollbackRunbook.steps)).toEqual(['take-over-lock', 'plan', 'roll-back', 'verify', 'notice-rolled-back', 'watch', 'unlock']);
    expect(ids(rollbackRestoreRunbook.steps)).toEqual(['take-over-lock', 'plan', ...restore, 'roll-back', 'verify', 'notice-rolled-back', 'watch', 'unlock']);
  });
});
