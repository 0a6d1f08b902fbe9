import { describe, expect, it } from 'vitest';
import { blockText } from '../../test/testing/slack-harness.js';
import { renderIncidentUpdate } from './incident-update-message.js';
import { SLACK_LIMITS } from './render.js';
import { validateBlocks } from './stand-in/block-kit.js';

const incident = { key: 'INC-3', title: 'Policy Engine p99 above 5 ms', severity: 'sev1' as const, type: 'performance' as const, channelId: 'C0INC3' };
const at = new Date('2026-12-07T18:30:00Z');

describe('renderIncidentUpdate', () => {
  it('says whose update it is and when, and where the incident runs when told elsewhere', () => {
    const here = renderIncidentUpdate({ incident, update: { author: 'U0ONCALL', text: 'Scaled to 3 replicas', at } });
    expect(validateBlocks(here.blocks, 'message')).toEqual([]);
    expect(here.text).toBe('INC-3 update (sev1): Scaled to 3 replicas');
    expect(blockText(here.blocks)).toContain('by <@U0ONCALL> at 2026-12-07 18:30 UTC · performance');
    expect(blockText(here.blocks)).not.toContain('it runs in');
    const elsewhere = renderIncidentUpdate({ incident, update: { author: 'U0ONCALL', text: 'Scaled', at }, elsewhere: true });
    expect(blockText(elsewhere.blocks)).toContain('it runs in <#C0INC3>');
  });

  it("escapes the update's words, so they mention nobody, and a name that is not a Slack ID is no mention", () => {
    const message = renderIncidentUpdate({ incident, update: { author: 'cli:olivia', text: '<!channel> see <@U0CEO> & <https://x.example|here>', at } });
    const text = blockText(message.blocks);
    expect(text).toContain('&lt;!channel&gt; see &lt;@U0CEO&gt; &amp; &lt;https://x.example|here&gt;');
    expect(text).toContain('by @cli:olivia');
    expect(text).not.toMatch(/<[!@#]/);
  });

  it('stays inside Slack\'s limits with the longest title and update', () => {
    const message = renderIncidentUpdate({ incident: { ...incident, title: 'T'.repeat(150) }, update: { author: 'U0ONCALL', text: '<'.repeat(4000), at } });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    expect(blockText(message.blocks)).toContain('(truncated)');
  });
});
