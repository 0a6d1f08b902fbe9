/**
 * Which driver controls the stack: Swarm when the engine is a swarm manager running the project's
 * stack, Docker when the engine answers and the compose project has containers, the local
 * processes otherwise; ACGS_STACK=local|docker|swarm forces one.
 */
import { COMPOSE_LABELS, DEFAULT_COMPOSE_PROJECT } from './docker/compose-labels.js';
import { DEFAULT_DOCKER_HOST, dockerClient, engineDown } from './docker/engine-connection.js';
import { createDockerStack } from './docker/index.js';
import { StackError, type Stack } from './stack.js';
import { createSwarmStack } from './swarm/index.js';
import { probeSwarm, type SwarmProbe } from './swarm/swarm-probe.js';

export interface SelectStackOptions {
  /** Reads ACGS_STACK, DOCKER_HOST and COMPOSE_PROJECT_NAME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Builds the local driver when it is chosen: it needs the processes that npm start runs. */
  local: () => Stack | Promise<Stack>;
  /** How long the engine may take to answer the probe (default 2 s). */
  probeTimeoutMs?: number;
}

export interface StackSelection {
  stack: Stack;
  /** Why this driver, for the start-up log and `status`. */
  reason: string;
}

export async function selectStack(options: SelectStackOptions): Promise<StackSelection> {
  const env = options.env ?? process.env;
  const mode = env.ACGS_STACK?.trim() || 'auto';
  if (!['auto', 'local', 'docker', 'swarm'].includes(mode)) {
    throw new StackError('INVALID_ARGUMENT', `ACGS_STACK must be local, docker or swarm, or unset to choose by itself (got "${mode.slice(0, 40)}")`);
  }
  if (mode === 'local') return { stack: await options.local(), reason: 'ACGS_STACK=local' };

  const dockerHost = env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const project = env.COMPOSE_PROJECT_NAME || DEFAULT_COMPOSE_PROJECT;
  const probe = dockerClient(dockerHost, options.probeTimeoutMs ?? 2000);
  let swarm: SwarmProbe;
  let containers: number;
  try {
    swarm = await probeSwarm(probe, project);
    containers = (await probe.listContainers({ all: true, filters: { label: [`${COMPOSE_LABELS.project}=${project}`] } })).length;
  } catch (error) {
    if (mode === 'docker' || mode === 'swarm') throw engineDown(dockerHost, error);
    return { stack: await options.local(), reason: `the Docker Engine at ${dockerHost} does not answer, so the local processes are controlled` };
  }
  if (mode === 'swarm') {
    if (!swarm.manager) {
      throw new StackError(
        'ENGINE_DOWN',
        `ACGS_STACK=swarm, but the Docker Engine at ${dockerHost} is not a swarm manager (${swarm.why}); point DOCKER_HOST at a manager of the swarm, or unset ACGS_STACK`,
      );
    }
    const note = swarm.services === 0 ? ` (stack ${project} has no services yet)` : '';
    return { stack: createSwarmStack({ dockerHost, stack: project }), reason: `ACGS_STACK=swarm${note}` };
  }
  if (swarm.manager && swarm.services > 0 && mode === 'auto') {
    return {
      stack: createSwarmStack({ dockerHost, stack: project }),
      reason: `stack ${project} has ${swarm.services} service(s) on the swarm manager at ${dockerHost}`,
    };
  }
  if (mode === 'docker') {
    const stack = createDockerStack({ dockerHost, project });
    const note = containers === 0 ? ` (compose project ${project} has no containers yet)` : '';
    return { stack, reason: `ACGS_STACK=docker${note}` };
  }
  if (containers === 0) {
    return {
      stack: await options.local(),
      reason: `the Docker Engine at ${dockerHost} has no containers of compose project ${project}, so the local processes are controlled`,
    };
  }
  return {
    stack: createDockerStack({ dockerHost, project }),
    reason: `compose project ${project} has ${containers} container(s) on the Docker Engine at ${dockerHost}`,
  };
}
