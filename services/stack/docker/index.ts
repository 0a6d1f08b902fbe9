/**
 * The Stack port over the Docker Engine API: the containers of one compose project, found by
 * compose's labels, controlled the way the runbook does with docker-compose and docker exec,
 * without shelling out. Each operation is its own module, a plain function of the context
 * (context.ts); this file only wires them into the port.
 */
import type { Stack } from '../stack.js';
import { createDockerContext, type DockerStackOptions } from './context.js';
import { deployService, runningArtifact } from './deploy.js';
import { execInService } from './exec.js';
import { serviceHealth } from './health.js';
import { listServiceNames, listServices } from './list.js';
import { serviceLogs } from './logs.js';
import { recreateService } from './recreate.js';
import { restartService } from './restart.js';
import { scaleService } from './scale.js';
import { serviceStats } from './stats.js';
import { startService, stopService } from './stop-start.js';

export type { DockerStackOptions } from './context.js';

export function createDockerStack(options: DockerStackOptions = {}): Stack {
  const context = createDockerContext(options);
  return {
    kind: 'docker',
    description: `Docker Engine at ${context.host}, compose project ${context.project}`,
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
