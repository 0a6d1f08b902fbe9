/**
 * `stop(service)` and `start(service)`: every replica stopped (`docker stop`; a stopped container
 * stays stopped whatever its restart policy, until started) and started again, each waited for
 * until healthy. A restore holds the services that write a database stopped this way.
 */
import { engineStatusCode, isNotFound } from '../../kit/docker-engine.js';
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { serviceHealthOf, type StartOptions, type StartReport, type StopReport } from '../stack.js';
import { healthOf, nameOf, serviceReplicas, stateOf } from './containers.js';
import { callEngine, DEFAULT_WAIT_MS, type DockerContext } from './context.js';
import { waitUntilHealthy } from './health-wait.js';
import { stoppedHalfWay } from './replicas.js';

/** 304: the engine's answer for a container already in the state asked for. */
const ALREADY = 304;

export async function stopService(context: DockerContext, service: string): Promise<StopReport> {
  requireServiceName(service);
  return context.guard.run(service, 'stop', async () => {
    const started = Date.now();
    const replicas = await serviceReplicas(context, service);
    const stopped: string[] = [];
    for (const [index, replica] of replicas.entries()) {
      try {
        await callEngine(context, () => context.docker.getContainer(replica.Id).stop({ t: context.stopTimeout }));
      } catch (error) {
        if (engineStatusCode(error) !== ALREADY && !isNotFound(error)) {
          throw stoppedHalfWay(error, stopped.map((name) => `stopped ${name}`), replicas.slice(index).map((info) => `${nameOf(info)} was not stopped`));
        }
      }
      stopped.push(nameOf(replica));
    }
    return { service, stopped, durationMs: Date.now() - started };
  });
}

export async function startService(context: DockerContext, service: string, options: StartOptions = {}): Promise<StartReport> {
  requireServiceName(service);
  const timeoutMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'start', async () => {
    const began = Date.now();
    const replicas = await serviceReplicas(context, service);
    const started: string[] = [];
    for (const [index, replica] of replicas.entries()) {
      const name = nameOf(replica);
      try {
        try {
          await callEngine(context, () => context.docker.getContainer(replica.Id).start());
        } catch (error) {
          if (engineStatusCode(error) !== ALREADY) throw error;
        }
        await waitUntilHealthy(context, replica.Id, name, timeoutMs);
      } catch (error) {
        throw stoppedHalfWay(error, started.map((done) => `started ${done}`), replicas.slice(index).map((info) => `${nameOf(info)} was not started`));
      }
      started.push(name);
    }
    const health = serviceHealthOf((await serviceReplicas(context, service)).map((info) => ({ state: stateOf(info), health: healthOf(info) })));
    return { service, started, durationMs: Date.now() - began, health };
  });
}
