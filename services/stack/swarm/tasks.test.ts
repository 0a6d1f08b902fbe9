import { describe, expect, it } from 'vitest';
import { currentSlots, healthOfTask, heldReplicaList, replicaOfSlot, stateOfTask, taskImage, tasksBySlot, type SwarmTask } from './tasks.js';

function task(fields: Partial<SwarmTask> & { ID: string; state: string; desired?: string; at: string }): SwarmTask {
  return {
    ID: fields.ID,
    ServiceID: 'svc',
    NodeID: fields.NodeID ?? 'node-1',
    Slot: fields.Slot,
    CreatedAt: fields.at,
    DesiredState: fields.desired ?? 'running',
    Spec: { ContainerSpec: { Image: fields.Spec?.ContainerSpec?.Image ?? 'acgs/stack:1@sha256:' + 'a'.repeat(64) } },
    Status: { State: fields.state, Timestamp: fields.at, ...fields.Status },
  };
}

describe('Swarm tasks as replicas', () => {
  it('shows each slot by its newest task, leaving out slots Swarm is shutting down', () => {
    const tasks = [
      task({ ID: 'old1', Slot: 1, state: 'shutdown', desired: 'shutdown', at: '2026-01-01T00:00:00Z' }),
      task({ ID: 'new1', Slot: 1, state: 'running', at: '2026-01-01T00:01:00Z' }),
      task({ ID: 'two', Slot: 2, state: 'running', desired: 'remove', at: '2026-01-01T00:00:30Z' }),
      task({ ID: 'three', Slot: 3, state: 'starting', at: '2026-01-01T00:02:00Z' }),
    ];
    expect(currentSlots(tasks).map((slot) => [slot.current.ID, slot.earlier.map((earlier) => earlier.ID)])).toEqual([
      ['new1', ['old1']],
      ['three', []],
    ]);
  });

  it('groups the tasks of a global service by node', () => {
    const tasks = [task({ ID: 'a', NodeID: 'n1', state: 'running', at: '2026-01-01T00:00:00Z' }), task({ ID: 'b', NodeID: 'n2', state: 'running', at: '2026-01-01T00:00:00Z' })];
    expect(tasksBySlot(tasks).map((slot) => slot.key)).toEqual(['node:n1', 'node:n2']);
  });

  it.each([
    ['running', 'running'],
    ['starting', 'running'],
    ['preparing', 'created'],
    ['failed', 'exited'],
    ['shutdown', 'exited'],
    ['rejected', 'dead'],
    ['orphaned', 'removing'],
  ])('reads task state %s as replica state %s', (state, expected) => {
    expect(stateOfTask(task({ ID: 't', state, at: '2026-01-01T00:00:00Z' }))).toBe(expected);
  });

  it("takes health from this engine's container, else counts a running task with a health check healthy", () => {
    const running = task({ ID: 't', state: 'running', at: '2026-01-01T00:00:00Z' });
    const unhealthy = { State: { Running: true, Health: { Status: 'unhealthy' } } } as never;
    expect(healthOfTask(running, true, unhealthy)).toBe('unhealthy');
    expect(healthOfTask(running, true, undefined)).toBe('healthy');
    expect(healthOfTask(running, false, undefined)).toBe('none');
    expect(healthOfTask(task({ ID: 's', state: 'starting', at: '2026-01-01T00:00:00Z' }), true, undefined)).toBe('starting');
    expect(healthOfTask(task({ ID: 'f', state: 'failed', at: '2026-01-01T00:00:00Z' }), true, undefined)).toBe('none');
  });

  it('counts only the failed earlier tasks of a slot as restarts, and reports the last exit', () => {
    const [slot] = tasksBySlot([
      task({ ID: 'crash', Slot: 1, state: 'failed', desired: 'shutdown', at: '2026-01-01T00:00:00Z', Status: { State: 'failed', ContainerStatus: { ExitCode: 137 } } }),
      task({ ID: 'forced', Slot: 1, state: 'shutdown', desired: 'shutdown', at: '2026-01-01T00:01:00Z' }),
      task({ ID: 'now', Slot: 1, state: 'running', at: '2026-01-01T00:02:00Z' }),
    ]);
    const replica = replicaOfSlot(slot!, { swarmName: 'acgs_web', hasHealthcheck: true, container: undefined, now: Date.parse('2026-01-01T00:03:00Z') });
    expect(replica).toMatchObject({ id: 'now', name: 'acgs_web.1', number: 1, state: 'running', health: 'healthy', image: 'acgs/stack:1', restarts: 1, uptimeSeconds: 60 });
    expect(replica.lastExit).toEqual({ at: '2026-01-01T00:00:00.000Z', code: 137, signal: null });
  });

  it('shows a held service as its remembered count of exited, held replicas', () => {
    const replicas = heldReplicaList('acgs_web', 'svc', 'acgs/stack:1', 2, [task({ ID: 'last1', Slot: 1, state: 'shutdown', desired: 'shutdown', at: '2026-01-01T00:00:00Z' })]);
    expect(replicas.map((replica) => [replica.id, replica.name, replica.state, replica.held])).toEqual([
      ['last1', 'acgs_web.1', 'exited', true],
      ['svc.2', 'acgs_web.2', 'exited', true],
    ]);
  });

  it('drops the digest docker stack deploy pins an image to', () => {
    expect(taskImage(task({ ID: 't', state: 'running', at: '2026-01-01T00:00:00Z' }))).toBe('acgs/stack:1');
  });
});
