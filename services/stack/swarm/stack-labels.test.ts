import { describe, expect, it } from 'vitest';
import { composeServiceName, HELD_REPLICAS_LABEL, heldReplicas, swarmServiceName } from './stack-labels.js';

describe('stack names and labels', () => {
  it('maps compose service names to Swarm service names and back', () => {
    expect(swarmServiceName('acgs', 'policy-engine')).toBe('acgs_policy-engine');
    expect(composeServiceName('acgs', 'acgs_policy-engine')).toBe('policy-engine');
    expect(composeServiceName('acgs', 'other_web')).toBe('other_web');
  });

  it.each([
    [{ [HELD_REPLICAS_LABEL]: '3' }, 3],
    [{ [HELD_REPLICAS_LABEL]: '0' }, undefined],
    [{ [HELD_REPLICAS_LABEL]: 'two' }, undefined],
    [{ [HELD_REPLICAS_LABEL]: '1.5' }, undefined],
    [{}, undefined],
    [undefined, undefined],
  ])('reads the remembered replica count of %j as %s', (labels, expected) => {
    expect(heldReplicas(labels)).toBe(expected);
  });
});
