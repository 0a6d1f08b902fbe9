import { describe, expect, it } from 'vitest';
import type { DeploymentRolledBack, DeploymentStarted } from '../../runbooks/engine/ports.js';
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

  it('names a Slack requester with a mention, as the run message does, and anyone else as written', () => {
    const started: DeploymentStarted = { kind: 'started', runId: 'run-1', version: '1.4.0', requester: 'U0ONCALL', startedAt: '2026-12-06T03:00:00.000Z', services: [] };
    const summary = (message: ReturnType<typeof renderDeploymentNotice>) => JSON.stringify(message.blocks[1]);
    const bySlackUser = renderDeploymentNotice(started);
    expect(summary(bySlackUser)).toContain('<@U0ONCALL> started deploying 1.4.0');
    // The fallback text (notifications) stays plain, so that a notice never pings its requester.
    expect(bySlackUser.text).toContain('U0ONCALL started deploying 1.4.0');
    expect(bySlackUser.text).not.toContain('<@');
    const byCli = renderDeploymentNotice({ ...started, requester: 'cli:alice<script>' });
    expect(summary(byCli)).toContain('cli:alice&lt;script&gt; started deploying');
    expect(summary(byCli)).not.toContain('<@');
    const rolledBack: DeploymentRolledBack = { ...started, kind: 'rolled-back', rolledBackAt: '2026-12-06T03:01:00.000Z', reason: `p99 ${'slow '.repeat(1000)}`, breaches: [] };
    const fitted = renderDeploymentNotice(rolledBack);
    expect(validateBlocks(fitted.blocks, 'message')).toEqual([]);
    expect(summary(fitted)).toContain('after <@U0ONCALL> started it: p99 slow');
  });
});
