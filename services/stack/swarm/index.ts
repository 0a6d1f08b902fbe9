/**
 * The Stack port over Docker Swarm: the services of one stack (`docker stack deploy`), found by
 * the stack's namespace label on a manager's engine, controlled through the Swarm API (service
 * updates and their tasks), never the docker CLI. Each operation is its own module; this file
 * only wires them into the port.
 *
 * `kind` is 'docker': what every reader of the kind asks is "images on a Docker Engine, or local
 * processes?" (the release builder, the console's refusal of a real stack, the image column), and
 * for Swarm the answer is the Docker one. The description says Swarm.
 */
import type { Stack } from '../stack.js';
import { createSwarmContext, type SwarmStackOptions } from './context.js';
import { execInService } from './exec.js';
import { listServiceNames, listServices, serviceHealth } from './list.js';
import { serviceLogs } from './logs.js';
import { deployService, recreateService, runningArtifact } from './recreate.js';
import { restartService } from './restart.js';
import { scaleService } from './scale.js';
import { serviceStats } from './stats.js';
import { startService, stopService } from './stop-start.js';

export type { SwarmStackOptions } from './context.js';

export function createSwarmStack(options: SwarmStackOptions = {}): Stack {
  const context = createSwarmContext(options);
  return {
    kind: 'docker',
    description: `Docker Swarm manager at ${context.host}, stack ${context.stack}`,
    services: () => listServiceNames(context),
    list: () => listServices(context),
    health: (service) => serviceHealth(context, service),
    restart: (service, restartOptions) => restartService(context, service, restartOptions),
    scale: (service, replicas, scaleOptions) => scaleService(context, service, replicas, scaleOptions),
    stop: (service) => stopService(context, service),
    start: (service, startOptions) => startService(context, service, startOptions),
    logs: (service, logsOptions) => serviceLogs(context, service, logsOptions),
    stats: (service, statsOptions) => serviceStats(context, service, statsOptions),
    exec: (service, command, execOptions) => execInService(context, service, command, execOptions),
    recreate: (service, image, recreateOptions) => recreateService(context, service, image, recreateOptions),
    deploy: (service, artifact, deployOptions) => deployService(context, service, artifact, deployOptions),
    running: (service) => runningArtifact(context, service),
    async close() {
      // dockerode keeps no connection open between calls.
    },
  };
}
