import { randomUUID } from 'node:crypto';
import { type PeriodicJob, startPeriodicJob } from '../../kit/periodic.js';
import type { SandboxConfig } from '../config.js';
import { connectDocker, type DockerClients } from '../engine/docker-connection.js';
import { EngineMonitor } from '../engine/engine-monitor.js';
import { reapOrphans } from '../sandbox/orphan-reaper.js';
import { SandboxSlots } from '../sandbox/sandbox-slots.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    sandboxDocker: DockerClients;
    sandboxEngine: EngineMonitor;
    sandboxSlots: SandboxSlots;
    /** Labels this controller's containers, so listings can tell its own from other controllers'. */
    sandboxControllerId: string;
  }
}

export interface SandboxEnginePluginOptions extends Record<string, unknown> {
  config: SandboxConfig;
}

const REAP_INTERVAL_MS = 60_000;

/**
 * The Docker Engine connection, what it can run, and the execution slots. Starting does not need
 * the engine: without one the service still answers, reports `degraded` and refuses to run code.
 */
export const sandboxEnginePlugin = fp<SandboxEnginePluginOptions>(async (app, { config }) => {
  const docker = connectDocker(config.dockerHost);
  const controllerId = randomUUID();
  const engine = new EngineMonitor({
    docker,
    preference: config.runtime,
    images: [config.image, ...(config.nodeImage ? [config.nodeImage] : [])],
    controllerId,
    pidsLimit: config.pidsLimit,
    log: app.log,
  });
  app.decorate('sandboxDocker', docker);
  app.decorate('sandboxEngine', engine);
  const slots = new SandboxSlots(config.maxConcurrent);
  app.decorate('sandboxSlots', slots);
  app.decorate('sandboxControllerId', controllerId);

  const reap = () =>
    reapOrphans(docker, new Date(), app.log).catch((error: unknown) => {
      app.log.debug({ err: error }, 'orphan reaper could not reach the Docker Engine');
    });
  let reaper: PeriodicJob | undefined;
  app.addHook('onReady', async () => {
    // Warm the status (and the one-off gVisor probe) without delaying readiness.
    void engine.status().catch(() => undefined);
    // reap() logs its own failures and never rejects; the first round runs at once.
    reaper = startPeriodicJob({ intervalMs: REAP_INTERVAL_MS, run: reap, onError: () => undefined });
  });
  // On shutdown, running sandboxes are killed so their requests answer (exit 137) and their
  // containers are removed by the runner, instead of outliving the process until the reaper.
  // Those answers close their connections: a keep-alive socket left idle would hold the server open.
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('preClose', async () => {
    closing = true;
    slots.stopAll();
  });
  app.addHook('onClose', async () => {
    // A round in progress finishes, so no container is left half removed.
    await reaper?.stop();
    // The warm-up probe may still be creating its container: let it finish and remove it, or the
    // process could exit between create and remove and leave it behind.
    await engine.idle();
  });
});
