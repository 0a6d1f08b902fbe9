import { describe, expect, it } from 'vitest';
import { replicaName, replicaNumber } from './compose-labels.js';

describe('compose replica numbers and names', () => {
  it('reads the replica number from the compose label', () => {
    expect(replicaNumber({ 'com.docker.compose.container-number': '3' })).toBe(3);
  });

  it.each<Record<string, string> | undefined>([undefined, {}, { 'com.docker.compose.container-number': 'x' }, { 'com.docker.compose.container-number': '0' }])(
    'counts a container without a usable number label (%j) as replica 1',
    (labels) => {
      expect(replicaNumber(labels)).toBe(1);
    },
  );

  it('names a new replica the way compose v2 does, also beside a fixed container_name', () => {
    expect(replicaName('acgs', 'policy-engine', 2, ['acgs-policy-engine'])).toBe('acgs-policy-engine-2');
  });

  it('follows compose v1 underscores when the service already uses them', () => {
    expect(replicaName('acgs', 'redis', 3, ['acgs_redis_1', 'acgs_redis_2'])).toBe('acgs_redis_3');
  });
});
