/**
 * `scale(service, n)`: new replicas cloned from the newest running one, each waited for until it is
 * healthy, or the newest removed first, as compose does.
 */
import type Docker from 'dockerode';
import { engineErrorText } from '../../kit/docker-engine.js';
import { requireReplicaCount, requireServiceName, requireTimeout } from '../stack-checks.js';
import { StackError, type ScaleOptions, type ScaleReport } from '../stack.js';
import { replicaName, replicaNumber } from './compose-labels.js';
import { nameOf, serviceReplicas, stopAndRemove } from './containers.js';
import { callEngine, DEFAULT_WAIT_MS, type DockerContext } from './context.js';
import { waitUntilHealthy } from './health-wait.js';
import { createReplica, stoppedHalfWay } from './replicas.js';

export async function scaleService(context: DockerContext, service: string, replicas: number, scaleOptions: ScaleOptions = {}): Promise<ScaleReport> {
  requireServiceName(service);
  requireReplicaCount(replicas);
  const timeoutMs = requireTimeout(scaleOptions.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'scale', async () => {
    const started = Date.now();
    const current = await serviceReplicas(context, service);
    const report: ScaleReport = { service, from: current.length, to: replicas, created: [], removed: [], notes: [], durationMs: 0 };

    if (replicas > current.length) {
      const template = current[current.length - 1]!;
      const allNames = (await callEngine(context, () => context.docker.listContainers({ all: true }))).flatMap((container) => container.Names.map((name) => name.replace(/^\//, '')));
      const serviceNamesInUse = current.map(nameOf);
      let number = Math.max(...current.map((info) => replicaNumber(info.Config.Labels)));
      for (let made = current.length; made < replicas; made += 1) {
        let name: string;
        do {
          number += 1;
          name = replicaName(context.project, service, number, serviceNamesInUse);
        } while (allNames.includes(name));
        const remaining = replicas - made - 1;
        const notDone = [`${name} was not created`, ...(remaining > 0 ? [`${remaining} more replica(s) were not created`] : [])];
        let container: Docker.Container | undefined;
        try {
          const created = await createReplica(context, template, { name, image: template.Config.Image, number, ephemeralHostPorts: true });
          container = created.container;
          await callEngine(context, () => container!.start());
          const running = await waitUntilHealthy(context, container.id, name, timeoutMs);
          for (const moved of created.movedPorts) {
            const bindings = running.NetworkSettings.Ports?.[moved.containerPort] ?? [];
            const assigned = bindings.find((binding) => binding.HostIp === moved.hostIp) ?? bindings[0];
            report.notes.push(
              `${name} publishes ${moved.containerPort} on ${assigned ? `${assigned.HostIp}:${assigned.HostPort}` : 'an ephemeral port'}, ` +
                `because ${moved.hostIp}:${moved.hostPort} is held by the first replica`,
            );
          }
          report.created.push(name);
          allNames.push(name);
        } catch (error) {
          // A replica that never became healthy is removed, so the count the person sees is the count that serves.
          if (container) await container.remove({ force: true }).catch(() => undefined);
          const failed = error instanceof StackError ? error : new StackError('UNHEALTHY', `${name} could not be started: ${engineErrorText(error)}`, { cause: error });
          throw stoppedHalfWay(
            new StackError(failed.code, `Scaling ${service} to ${replicas} stopped at ${current.length + report.created.length}: ${failed.reason}`, {
              done: container ? [`removed the failed ${name}`] : [],
              notDone,
              cause: failed,
            }),
            report.created.map((created) => `created ${created}`),
            [],
          );
        }
      }
    } else if (replicas < current.length) {
      // The newest go first, as compose does.
      const victims = current.slice(replicas).reverse();
      for (const [index, victim] of victims.entries()) {
        const name = nameOf(victim);
        try {
          await stopAndRemove(context, victim.Id);
          report.removed.push(name);
        } catch (error) {
          if (!(error instanceof StackError) && report.removed.length === 0) throw error;
          const rest = victims.slice(index).map((info) => `${nameOf(info)} was not removed`);
          throw stoppedHalfWay(
            error instanceof StackError ? error : new StackError('PARTIAL', `Removing ${name} failed: ${engineErrorText(error)}`, { cause: error }),
            report.removed.map((removed) => `removed ${removed}`),
            rest,
          );
        }
      }
    }
    report.durationMs = Date.now() - started;
    return report;
  });
}
