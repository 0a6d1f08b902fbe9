/**
 * The Swarm driver of the Stack port on a real single-node swarm: the test engine made a swarm
 * manager on 127.0.0.1 (and taken out of swarm mode afterwards when it was not one), a stack of
 * busybox health responders deployed with `docker stack deploy`, then listed, scaled, restarted
 * (a forced update), read (logs, stats), stopped and started, recreated and rolled back by Swarm,
 * all through the port. Run under `flock /tmp/acgs-docker-swarm.lock`.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectStack } from '../../services/stack/select-stack.js';
import type { SkippedStats, Stack } from '../../services/stack/stack.js';
import { HELD_REPLICAS_LABEL } from '../../services/stack/swarm/stack-labels.js';
import { createSwarmStack } from '../../services/stack/swarm/index.js';
import { RESPONDER_IMAGES, TEST_DOCKER_HOST, execOutput, requireDockerEngine, requireImage } from '../testing/docker.js';
import { uniqueProjectName } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';
import { deployResponderStack, removeStack, requireSwarmManager, waitForStackRunning, type TestSwarm } from '../testing/swarm-stack.js';

const stackName = uniqueProjectName('acgs-swarm');
let docker: Docker;
let swarm: TestSwarm | undefined;
let stack: Stack;

interface TaskInfo {
  ID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
}

async function serviceInfo(service: string) {
  return (await docker.getService(`${stackName}_${service}`).inspect()) as {
    ID: string;
    Spec: { Labels?: Record<string, string>; Mode: { Replicated?: { Replicas?: number } }; TaskTemplate: { ForceUpdate?: number; ContainerSpec: { Image: string } }; UpdateConfig?: { Order?: string } };
  };
}

async function runningTasks(service: string): Promise<TaskInfo[]> {
  const tasks = (await docker.listTasks({ filters: { service: [`${stackName}_${service}`] } })) as TaskInfo[];
  return tasks.filter((task) => task.Status.State === 'running');
}

beforeAll(async () => {
  docker = await requireDockerEngine();
  for (const image of [RESPONDER_IMAGES.v1, RESPONDER_IMAGES.v2, RESPONDER_IMAGES.broken]) await requireImage(docker, image);
  swarm = await requireSwarmManager(docker);
  await deployResponderStack(stackName);
  await waitForStackRunning(docker, stackName);
  stack = createSwarmStack({ dockerHost: TEST_DOCKER_HOST, stack: stackName, pollIntervalMs: 100 });
}, 90_000);

afterAll(async () => {
  // Always: the stack first (an engine that was a manager before stays one, without our services), then the swarm.
  try {
    if (docker) await removeStack(docker, stackName);
  } finally {
    await swarm?.close();
  }
}, 60_000);

describe('Swarm stack: seeing the stack', () => {
  it('lists the services of the stack with one replica per slot: state, health, image and uptime', async () => {
    const services = await stack.list();
    expect(services.map((service) => service.name)).toEqual(['plain', 'web']);
    const web = services.find((service) => service.name === 'web')!;
    const [task] = await runningTasks('web');
    expect(web.replicas).toEqual([
      expect.objectContaining({ id: task!.ID, name: `${stackName}_web.1`, number: 1, state: 'running', health: 'healthy', image: RESPONDER_IMAGES.v1, restarts: 0 }),
    ]);
    expect(Date.parse(web.replicas[0]!.startedAt!)).toBeLessThanOrEqual(Date.now());
    expect(web.replicas[0]!.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const plain = services.find((service) => service.name === 'plain')!;
    expect(plain.replicas).toEqual([expect.objectContaining({ name: `${stackName}_plain.1`, state: 'running', health: 'none' })]);
  });

  it('names the services of the stack by their compose names, sorted', async () => {
    expect(await stack.services()).toEqual(['plain', 'web']);
    expect(stack.description).toBe(`Docker Swarm manager at ${TEST_DOCKER_HOST}, stack ${stackName}`);
  });

  it('reports a healthy service as healthy, per replica', async () => {
    const health = await stack.health('web');
    expect(health).toMatchObject({ service: 'web', status: 'healthy' });
    expect(health.replicas).toEqual([expect.objectContaining({ name: `${stackName}_web.1`, state: 'running', health: 'healthy' })]);
  });

  it('refuses a service the stack does not have, naming the ones it has', async () => {
    const error = await stackErrorOf(stack.health('policy-engine'));
    expect(error.code).toBe('SERVICE_UNKNOWN');
    expect(error.message).toContain('There is no service "policy-engine"');
    expect(error.message).toContain('plain, web');
  });

  it('runs the stack on the overlay network docker stack deploy made for it', async () => {
    const [network] = await docker.listNetworks({ filters: { label: [`com.docker.stack.namespace=${stackName}`] } });
    expect(network).toMatchObject({ Name: `${stackName}_default`, Driver: 'overlay', Scope: 'swarm' });
  });

  it.each([
    ['restart with a timeout under 100 ms', () => stack.restart('web', { timeoutMs: 50 }), 'INVALID_ARGUMENT'],
    ['start with a timeout over 30 minutes', () => stack.start('web', { timeoutMs: 31 * 60_000 }), 'INVALID_ARGUMENT'],
    ['stop of a service the stack lacks', () => stack.stop('policy-engine'), 'SERVICE_UNKNOWN'],
    ['scale of a malformed name', () => stack.scale('../web', 2), 'SERVICE_UNKNOWN'],
    ['exec of a command off the allow list', () => stack.exec('web', 'rm -rf /' as never), 'INVALID_ARGUMENT'],
    ['exec in replica 0', () => stack.exec('web', 'meminfo', { replica: 0 }), 'INVALID_ARGUMENT'],
    ['exec in a replica the service lacks', () => stack.exec('web', 'meminfo', { replica: 7 }), 'CONTAINER_MISSING'],
    ['deploy of a release directory', () => stack.deploy('web', { kind: 'directory', directory: '/tmp/release' }), 'NOT_SUPPORTED'],
    ['recreate onto an image reference with a space', () => stack.recreate('web', 'acgs/web:1 --force'), 'INVALID_ARGUMENT'],
  ] as const)('refuses %s and changes nothing', async (_what, operation, code) => {
    const version = ((await docker.getService(`${stackName}_web`).inspect()) as { Version: { Index: number } }).Version.Index;
    const error = await stackErrorOf(operation());
    expect(error.code).toBe(code);
    expect(((await docker.getService(`${stackName}_web`).inspect()) as { Version: { Index: number } }).Version.Index).toBe(version);
  });

  it('refuses a malformed service name before asking the engine', async () => {
    const error = await stackErrorOf(stack.restart('web; rm -rf /'));
    expect(error.code).toBe('SERVICE_UNKNOWN');
    expect(error.message).toContain('is not a service name');
  });

  it('is chosen by itself when the engine is a swarm manager running the stack', async () => {
    const { stack: chosen, reason } = await selectStack({ env: { DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: stackName }, local: () => { throw new Error('not the local stack'); } });
    expect(reason).toBe(`stack ${stackName} has 2 service(s) on the swarm manager at ${TEST_DOCKER_HOST}`);
    expect(chosen.description).toContain('Docker Swarm manager');
    expect(await chosen.services()).toEqual(['plain', 'web']);
  });

  it('is used with ACGS_STACK=swarm before the stack has services, and says so', async () => {
    const { stack: chosen, reason } = await selectStack({ env: { ACGS_STACK: 'swarm', DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: `${stackName}-empty` }, local: () => { throw new Error('not the local stack'); } });
    expect(reason).toBe(`ACGS_STACK=swarm (stack ${stackName}-empty has no services yet)`);
    expect(await chosen.services()).toEqual([]);
  });
});

describe('Swarm stack: scale', () => {
  it('scales a service from 1 to 2 and back to 1, each time waiting until Swarm runs exactly that many healthy tasks', async () => {
    const up = await stack.scale('web', 2, { timeoutMs: 30_000 });
    expect(up).toMatchObject({ service: 'web', from: 1, to: 2, created: [`${stackName}_web.2`], removed: [] });
    expect(await runningTasks('web')).toHaveLength(2);
    const web = (await stack.list()).find((service) => service.name === 'web')!;
    expect(web.replicas.map((replica) => [replica.name, replica.state, replica.health])).toEqual([
      [`${stackName}_web.1`, 'running', 'healthy'],
      [`${stackName}_web.2`, 'running', 'healthy'],
    ]);

    const down = await stack.scale('web', 1, { timeoutMs: 30_000 });
    expect(down).toMatchObject({ from: 2, to: 1, created: [] });
    expect(down.removed).toHaveLength(1);
    expect((await serviceInfo('web')).Spec.Mode.Replicated?.Replicas).toBe(1);
    expect(await runningTasks('web')).toHaveLength(1);
    expect((await stack.list()).find((service) => service.name === 'web')!.replicas).toHaveLength(1);
  });

  it.each([0, 11, 1.5, -1])('refuses to scale to %s replicas, saying what is accepted, and changes nothing', async (count) => {
    const version = ((await docker.getService(`${stackName}_web`).inspect()) as { Version: { Index: number } }).Version.Index;
    const error = await stackErrorOf(stack.scale('web', count));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('replicas must be a whole number from 1 to 10');
    expect(((await docker.getService(`${stackName}_web`).inspect()) as { Version: { Index: number } }).Version.Index).toBe(version);
  });
});

describe('Swarm stack: restart', () => {
  it('restarts a service with a forced update: a new task in the same slot, healthy, the old one shut down', async () => {
    const [before] = await runningTasks('web');
    const forceBefore = (await serviceInfo('web')).Spec.TaskTemplate.ForceUpdate ?? 0;
    const report = await stack.restart('web', { timeoutMs: 30_000 });
    expect(report).toMatchObject({ service: 'web', health: 'healthy' });
    expect(report.replicas).toEqual([expect.objectContaining({ name: `${stackName}_web.1`, previousId: before!.ID, health: 'healthy' })]);
    expect(report.replicas[0]!.id).not.toBe(before!.ID);
    const after = await serviceInfo('web');
    expect(after.Spec.TaskTemplate.ForceUpdate).toBe(forceBefore + 1);
    expect(after.Spec.UpdateConfig?.Order).toBe('start-first');
    const running = await runningTasks('web');
    expect(running.map((task) => task.ID)).toEqual([report.replicas[0]!.id]);
    const old = (await docker.getTask(before!.ID).inspect()) as TaskInfo;
    expect(old.DesiredState).toBe('shutdown');
    expect(old.Status.State).toBe('shutdown');
  });

  it('refuses a second restart of the same service while the first one runs, and finishes the first', async () => {
    const first = stack.restart('plain', { timeoutMs: 30_000 });
    const second = await stackErrorOf(stack.restart('plain'));
    expect(second.code).toBe('BUSY');
    expect(second.message).toContain('Cannot restart plain now: a restart of plain started');
    const report = await first;
    expect(report.health).toBe('healthy');
    expect(report.replicas[0]!.health).toBe('none');
  });
});

describe('Swarm stack: logs and stats', () => {
  it("reads a service's log from its tasks, the replaced run's lines included, under the replica's name", async () => {
    const logs = await stack.logs('web', { grep: 'ready on' });
    // The first task and the one the restart made both said so; scale's second replica too.
    expect(logs.lines.length).toBeGreaterThanOrEqual(2);
    for (const line of logs.lines) {
      expect(line.text).toMatch(/^Responder READY on 127\.0\.0\.1:\d+$/);
      expect(line.stream).toBe('stdout');
      expect(line.replica).toMatch(new RegExp(`^${stackName}_web\\.[12]$`));
    }
    expect(logs.lines.filter((line) => line.replica === `${stackName}_web.1`).length).toBeGreaterThanOrEqual(2);
    const times = logs.lines.map((line) => Date.parse(line.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('returns the last lines asked for, and the error stream apart', async () => {
    const last = await stack.logs('web', { tail: 1 });
    expect(last.lines).toHaveLength(1);
    const errors = await stack.logs('web', { grep: 'port' });
    expect(errors.lines.every((line) => line.stream === 'stdout' || line.text.includes('port'))).toBe(true);
  });

  it.each([{ tail: 0 }, { tail: 1001 }, { grep: '' }, { grep: 'a\nb' }])('refuses logs options %j, saying what is accepted', async (options) => {
    const error = await stackErrorOf(stack.logs('web', options));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('measures each running task of the service on this engine', async () => {
    const skipped: SkippedStats[] = [];
    const samples = await stack.stats(undefined, { onSkipped: (entry) => skipped.push(entry) });
    expect(samples.map((sample) => [sample.service, sample.replica])).toEqual([
      ['plain', `${stackName}_plain.1`],
      ['web', `${stackName}_web.1`],
    ]);
    expect(samples[1]!.memory.usedBytes).toBeGreaterThan(0);
    expect(samples[1]!.pids).toBeGreaterThan(0);
    expect(skipped).toEqual([]);
  });

  it('runs an allow-listed command in a task of this engine', async () => {
    const result = await stack.exec('web', 'meminfo');
    expect(result).toMatchObject({ service: 'web', replica: `${stackName}_web.1`, exitCode: 0 });
    expect(result.output).toContain('MemTotal:');
  });
});

describe('Swarm stack: stop and start', () => {
  it('stops a service by scaling it to 0, remembering its count, and starts the same count again', { timeout: 60_000 }, async () => {
    await stack.scale('web', 2, { timeoutMs: 30_000 });
    const stopped = await stack.stop('web');
    expect(stopped.stopped).toEqual([`${stackName}_web.1`, `${stackName}_web.2`]);
    const held = await serviceInfo('web');
    expect(held.Spec.Mode.Replicated?.Replicas).toBe(0);
    expect(held.Spec.Labels?.[HELD_REPLICAS_LABEL]).toBe('2');
    expect(await runningTasks('web')).toEqual([]);
    expect(await docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${stackName}_web`] } })).toEqual([]);
    const web = (await stack.list()).find((service) => service.name === 'web')!;
    expect(web.replicas.map((replica) => [replica.name, replica.state, replica.held])).toEqual([
      [`${stackName}_web.1`, 'exited', true],
      [`${stackName}_web.2`, 'exited', true],
    ]);
    expect((await stack.health('web')).status).toBe('down');
    const skipped: SkippedStats[] = [];
    expect(await stack.stats('web', { onSkipped: (entry) => skipped.push(entry) })).toEqual([]);
    expect(skipped.map((entry) => entry.reason)).toEqual([
      `${stackName}_web.1 is stopped (held at 0 replicas), not running: nothing to measure`,
      `${stackName}_web.2 is stopped (held at 0 replicas), not running: nothing to measure`,
    ]);

    const restart = await stackErrorOf(stack.restart('web'));
    expect(restart.code).toBe('NOT_RUNNING');
    expect(restart.message).toContain('start brings back 2');
    const scale = await stackErrorOf(stack.scale('web', 3));
    expect(scale.code).toBe('INVALID_ARGUMENT');

    const started = await stack.start('web', { timeoutMs: 30_000 });
    expect(started).toMatchObject({ service: 'web', health: 'healthy', started: [`${stackName}_web.1`, `${stackName}_web.2`] });
    const back = await serviceInfo('web');
    expect(back.Spec.Mode.Replicated?.Replicas).toBe(2);
    expect(back.Spec.Labels?.[HELD_REPLICAS_LABEL]).toBeUndefined();
    expect(await runningTasks('web')).toHaveLength(2);
    await stack.scale('web', 1, { timeoutMs: 30_000 });
  });

  it('leaves a running service as it is when asked to start it', async () => {
    const [before] = await runningTasks('plain');
    const started = await stack.start('plain', { timeoutMs: 30_000 });
    expect(started.started).toEqual([`${stackName}_plain.1`]);
    expect((await runningTasks('plain')).map((task) => task.ID)).toEqual([before!.ID]);
  });
});

describe('Swarm stack: recreate onto another image', () => {
  it('moves a service to a new image with a rolling update, the new task serving before the old one stops', async () => {
    const [before] = await runningTasks('web');
    const report = await stack.recreate('web', RESPONDER_IMAGES.v2, { timeoutMs: 20_000 });
    expect(report.replicas).toEqual([
      expect.objectContaining({ name: `${stackName}_web.1`, previousId: before!.ID, previousImage: RESPONDER_IMAGES.v1, strategy: 'side-by-side', unavailableMs: 0 }),
    ]);
    const [task] = await runningTasks('web');
    expect(task!.ID).toBe(report.replicas[0]!.id);
    expect(await execOutput(docker, task!.Status.ContainerStatus!.ContainerID!, ['cat', '/www/version'])).toBe('2');
    expect(await stack.running('web')).toEqual({ kind: 'image', image: RESPONDER_IMAGES.v2 });
  }, 45_000);

  it('reports UNHEALTHY, saying Swarm rolled back, when the new image never becomes healthy', async () => {
    const error = await stackErrorOf(stack.recreate('web', RESPONDER_IMAGES.broken, { timeoutMs: 20_000 }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.message).toContain('Swarm gave up moving');
    expect(error.message).toContain(`Swarm rolled ${stackName}_web back to ${RESPONDER_IMAGES.v2}`);
    const info = await serviceInfo('web');
    expect(info.Spec.TaskTemplate.ContainerSpec.Image.replace(/@.*/, '')).toBe(RESPONDER_IMAGES.v2);
  }, 60_000);

  it('refuses an image reference that is not one', async () => {
    const error = await stackErrorOf(stack.recreate('web', '--help'));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });
});
