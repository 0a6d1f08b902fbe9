/**
 * `deploy(service, artifact)` and `running(service)` on Docker: a release is an image, and
 * deploying it is a recreate onto that image (recreate.ts: side by side, or handover where a
 * host port is held). A release directory is for the local stack and is refused here.
 */
import type { ReleaseArtifact } from '../releases/release.js';
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { isStackError, StackError, type DeployOptions, type DeployReport } from '../stack.js';
import { serviceReplicas } from './containers.js';
import { DEFAULT_WAIT_MS, type DockerContext } from './context.js';
import { serviceHealth } from './health.js';
import { recreateService } from './recreate.js';

function requireImageArtifact(service: string, artifact: ReleaseArtifact): string {
  if (artifact?.kind === 'image') return artifact.image;
  const what = artifact?.kind === 'directory' ? `the release directory ${artifact.directory}` : 'that artifact';
  throw new StackError('NOT_SUPPORTED', `The Docker stack runs images, not ${what}: deploy the release's image of ${service} (acgs/${service}:<version>) here, or deploy the directory on the local stack (npm start)`);
}

/** The image of the lowest-numbered replica: what the service runs (replicas differ only half way through a recreate). */
export async function runningArtifact(context: DockerContext, service: string): Promise<ReleaseArtifact> {
  const [lowest] = await serviceReplicas(context, service);
  if (!lowest) throw new StackError('CONTAINER_MISSING', `${service} has no container in ${context.where}; start it (docker-compose -p ${context.project} up -d ${service})`);
  return { kind: 'image', image: lowest.Config.Image };
}

export async function deployService(context: DockerContext, service: string, artifact: ReleaseArtifact, options: DeployOptions = {}): Promise<DeployReport> {
  requireServiceName(service);
  const image = requireImageArtifact(service, artifact);
  const timeoutMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  const started = Date.now();
  const previous = await runningArtifact(context, service);
  try {
    const report = await recreateService(context, service, image, { timeoutMs });
    const handover = report.replicas.some((replica) => replica.strategy === 'handover');
    return {
      service,
      artifact: { kind: 'image', image },
      previous,
      strategy: handover ? 'handover' : 'side-by-side',
      durationMs: Date.now() - started,
      // Replicas are replaced one at a time: while one is handed over the others serve, so only a
      // single replica's handover leaves the service without any.
      unavailableMs: report.replicas.length === 1 ? report.replicas[0]!.unavailableMs : 0,
      health: (await serviceHealth(context, service)).status,
    };
  } catch (error) {
    // A new replica that did not get healthy in time was removed and the old one put back: to the deploy that is UNHEALTHY.
    if (isStackError(error, 'TIMEOUT')) throw new StackError('UNHEALTHY', error.reason, { done: error.done, notDone: error.notDone, cause: error });
    throw error;
  }
}
