/**
 * What the port's Replica says of an inspected container: held when it is exited under a restart
 * policy that would have brought a crashed one back (so someone stopped it), and its crash count.
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { replicaOf } from './containers.js';

function inspected(status: string, policy: string, restarts = 0): Docker.ContainerInspectInfo {
  return {
    Id: 'c0ffee',
    Name: '/acgs-web-1',
    Created: '2026-12-07T03:00:00.000Z',
    RestartCount: restarts,
    State: { Status: status, Running: status === 'running', StartedAt: '2026-12-07T03:00:01.000Z', ExitCode: 0 },
    HostConfig: { RestartPolicy: { Name: policy, MaximumRetryCount: 0 } },
    Config: { Image: 'acgs/web:1', Labels: { 'com.docker.compose.container-number': '1' } },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('a container as a replica', () => {
  it('is held when it is exited although its policy restarts crashed ones', () => {
    expect(replicaOf(inspected('exited', 'unless-stopped'), Date.now()).held).toBe(true);
    expect(replicaOf(inspected('exited', 'always'), Date.now()).held).toBe(true);
  });

  it('is not held when it runs, restarts, or is exited under a policy that would leave a crashed one exited too', () => {
    expect(replicaOf(inspected('running', 'unless-stopped'), Date.now()).held).toBeUndefined();
    expect(replicaOf(inspected('restarting', 'unless-stopped', 4), Date.now())).toMatchObject({ state: 'restarting', restarts: 4 });
    expect(replicaOf(inspected('restarting', 'unless-stopped'), Date.now()).held).toBeUndefined();
    expect(replicaOf(inspected('exited', 'no'), Date.now()).held).toBeUndefined();
    expect(replicaOf(inspected('exited', 'on-failure'), Date.now()).held).toBeUndefined();
  });
});
