/**
 * A single-node swarm on the test engine with a stack of busybox health responders
 * (test/fixtures/stack/swarm-responders.yml), for the Swarm driver's tests. The swarm listens on
 * 127.0.0.1 only. An engine that is already a swarm manager is used as it is and left in the
 * swarm; one that was not is taken out of swarm mode again by `close`, also after a failure.
 *
 * Suites using it take `flock /tmp/acgs-docker-swarm.lock` (the engine is shared between
 * sessions, and a swarm is engine-wide) and import test/testing/docker.js, which leaves them to
 * the machine's Node line (scripts/test-node.sh).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { STACK_NAMESPACE_LABEL } from '../../services/stack/swarm/stack-labels.js';
import { TEST_DOCKER_HOST } from './docker.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export const SWARM_RESPONDERS_FILE = fileURLToPath(new URL('../fixtures/stack/swarm-responders.yml', import.meta.url));

export interface TestSwarm {
  /** Whether this run made the engine a swarm manager (and so takes it out again). */
  initialized: boolean;
  close(): Promise<void>;
}

async function swarmState(docker: Docker): Promise<{ state: string; manager: boolean }> {
  const swarm = ((await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }).Swarm;
  return { state: swarm?.LocalNodeState || 'inactive', manager: swarm?.ControlAvailable === true };
}

/** Makes the engine a single-node swarm manager on 127.0.0.1, unless it already is one. */
export async function requireSwarmManager(docker: Docker): Promise<TestSwarm> {
  const { state, manager } = await swarmState(docker);
  if (state === 'active' && manager) return { initialized: false, close: async () => undefined };
  if (state !== 'inactive') {
    throw new Error(`The test engine is in swarm state "${state}"${manager ? '' : ' as a worker'}; the Swarm tests need a manager or an engine outside any swarm`);
  }
  // swarm init creates the docker_gwbridge network and leaving keeps it: removed again unless it was there before.
  const hadGatewayBridge = (await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((network) => network.Name === 'docker_gwbridge');
  await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', ForceNewCluster: false });
  return {
    initialized: true,
    close: async () => {
      await docker.swarmLeave({ force: true });
      if (!hadGatewayBridge) await docker.getNetwork('docker_gwbridge').remove().catch(() => undefined);
    },
  };
}

/**
 * `docker stack deploy` of the responders' compose file: the API has no stack deploy (the CLI turns
 * the compose file into services and a network), so this one step uses the CLI.
 */
export async function deployResponderStack(stack: string): Promise<void> {
  await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '--compose-file', SWARM_RESPONDERS_FILE, stack], {
    env: { ...process.env, DOCKER_HOST: TEST_DOCKER_HOST },
    timeout: 60_000,
  });
}

const stackFilter = (stack: string) => ({ label: [`${STACK_NAMESPACE_LABEL}=${stack}`] });

/** Waits until every service of the stack runs all its replicas (tasks in state running). */
export async function waitForStackRunning(docker: Docker, stack: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `every service of stack ${stack} running`,
    async () => {
      const services = (await docker.listServices({ filters: stackFilter(stack) })) as Array<{ ID: string; Spec: { Mode?: { Replicated?: { Replicas?: number } } } }>;
      if (services.length === 0) return undefined;
      for (const service of services) {
        const tasks = (await docker.listTasks({ filters: { service: [service.ID], 'desired-state': ['running'] } })) as Array<{ Status: { State: string } }>;
        const running = tasks.filter((task) => task.Status.State === 'running').length;
        if (running !== (service.Spec.Mode?.Replicated?.Replicas ?? running)) return undefined;
      }
      return true;
    },
    timeoutMs,
    async () => JSON.stringify(((await docker.listTasks().catch(() => [])) as Array<{ Status?: unknown }>).map((task) => task.Status)).slice(0, 1500),
  );
}

/** Removes the stack's services and networks (what `docker stack rm` does) and waits for its containers to go. */
export async function removeStack(docker: Docker, stack: string): Promise<void> {
  const services = await docker.listServices({ filters: stackFilter(stack) });
  await Promise.all(services.map((service) => docker.getService(service.ID).remove().catch(() => undefined)));
  await waitFor(
    `the containers of stack ${stack} gone`,
    async () => ((await docker.listContainers({ all: true, filters: stackFilter(stack) })).length === 0 ? true : undefined),
    30_000,
    () => 'containers remain',
  );
  const networks = await docker.listNetworks({ filters: stackFilter(stack) });
  for (const network of networks) await docker.getNetwork(network.Id).remove().catch(() => undefined);
}
