/** What the rollout's step says in the plan an approval binds to, with the runbook's settings. */
import { describe, expect, it } from 'vitest';
import { rolloutStep } from './release-steps.js';
import { rollBackServicesStep } from './rollback-steps.js';

describe("the rollout's plan", () => {
  it('gives the health timeout in seconds, as the runbook sets it', async () => {
    expect((await rolloutStep('deploy').dryRun!({ ports: {} } as never)).target).toBe('health timeout 60 s');
    expect((await rollBackServicesStep().dryRun!({ ports: {} } as never)).target).toBe('health timeout 60 s');
  });
});
