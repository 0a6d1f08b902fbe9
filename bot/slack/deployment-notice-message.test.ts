import { describe, expect, it } from 'vitest';
import type { DeploymentRolledBack } from '../../runbooks/engine/ports.js';
import { validateBlocks } from './stand-in/block-kit.js';
import { renderDeploymentNotice } from './deployment-notice-message.js';

describe('a deployment notice in Slack', () => {
  it('stays inside Block Kit limits with many services, long names and many samples, saying what it left out', () => {
    const notice: DeploymentRolledBack = {
      kind: 'rolled-back',
      runId: 'run-big',
      version: `9.9.9-${'x'.repeat(300)}`,
      requester: 'U0ONCALL',
      startedAt: '2026-12-06T03:00:00.000Z',
      rolledBackAt: '2026-12-06T03:10:00.000Z',
      reason: `<!channel> ${'slow '.repeat(1000)}`,
      services: Array.from({ length: 120 }, (_, index) => ({ service: `service-${index}-${'n'.repeat(80)}`, from: '1.0.0', to: '2.0.0' })),
      breaches: Array.from({ length: 200 }, (_, index) => ({ at: '2026-12-06T03:04:00.000Z', metric: `p99 ${index}`, value: '41 ms', limit: '5 ms' })),
    };
    const message = renderDeploymentNotice(notice);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(message.text.length).toBeLessThanOrEqual(3000);
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain('more');
    expect(shown).not.toContain('<!channel>');
  });
});
