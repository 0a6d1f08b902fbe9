import { randomUUID } from 'node:crypto';
import type { Runtime } from '../contract.js';
import { sandboxContainerSpec } from '../sandbox/container-spec.js';
import { runSandbox } from '../sandbox/run-sandbox.js';
import { engineErrorText, engineStatusCode } from '../../kit/docker-engine.js';
import type { DockerClients } from './docker-connection.js';

export type RuntimePreference = 'auto' | 'runsc' | 'runc';

export interface GvisorStatus {
  /** The engine lists a runtime named `runsc`. */
  registered: boolean;
  /** A probe container ran under it and printed what it should. */
  working: boolean;
  reason?: string;
}

export interface EngineStatus {
  reachable: boolean;
  host: string;
  version?: string;
  /** Why code cannot run right now; absent when it can. */
  reason?: string;
  available: Runtime[];
  /** The runtime executions use, per SANDBOX_RUNTIME and what works; null when none does. */
  selected: Runtime | null;
  gvisor: GvisorStatus;
  images: Record<string, boolean>;
}

export interface EngineMonitorOptions {
  docker: DockerClients;
  preference: RuntimePreference;
  /** Images whose presence is checked; the first is the one the runtime probe runs. */
  images: string[];
  controllerId: string;
  /** The probe runs with the sandboxes' own process limit: gVisor's threads count against it. */
  pidsLimit: number;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const STATUS_TTL_MS = 5000;
const GVISOR_RETRY_MS = 5 * 60_000;
const PROBE_TIMEOUT_MS = 30_000;

export function imageMissingMessage(image: string): string {
  return (
    `The sandbox image ${image} is not in the Docker Engine, and images are never pulled. ` +
    'Build the local images with scripts/build-test-images.sh (or scripts/provision.sh), or set SANDBOX_IMAGE to an image the engine has.'
  );
}

export function engineUnreachableMessage(host: string, cause: string): string {
  return (
    `The Docker Engine at ${host} does not answer (${cause}). The sandbox runs code only in containers and has no ` +
    'fallback, so nothing was run. Start dockerd (scripts/provision.sh) or point DOCKER_HOST at a running engine.'
  );
}

/**
 * What the Docker Engine can do for the sandbox right now: reachable or not, which runtimes work,
 * which images are there. Cached briefly so health checks and executions do not hammer the engine,
 * and refreshed at once after an execution hits an engine error.
 */
export class EngineMonitor {
  private cached: { status: EngineStatus; at: number } | undefined;
  private refreshing: Promise<EngineStatus> | undefined;
  private gvisorVerdict: { key: string; working: boolean; reason?: string; at: number } | undefined;

  constructor(private readonly options: EngineMonitorOptions) {}

  async status(): Promise<EngineStatus> {
    if (this.cached && Date.now() - this.cached.at < STATUS_TTL_MS) return this.cached.status;
    this.refreshing ??= this.probe()
      .then((status) => {
        this.cached = { status, at: Date.now() };
        return status;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  /** Resolves once no status refresh (and so no runtime probe container) is in flight. */
  async idle(): Promise<void> {
    await this.refreshing?.catch(() => undefined);
  }

  private async probe(): Promise<EngineStatus> {
    const { docker, preference } = this.options;
    const unreachable = (cause: string): EngineStatus => ({
      reachable: false,
      host: docker.host,
      reason: engineUnreachableMessage(docker.host, cause),
      available: [],
      selected: null,
      gvisor: { registered: false, working: false, reason: 'the Docker Engine does not answer' },
      images: Object.fromEntries(this.options.images.map((image) => [image, false])),
    });
    let info: { ServerVersion?: string; ID?: string; Runtimes?: Record<string, unknown> };
    try {
      info = (await docker.control.info()) as typeof info;
    } catch (error) {
      return unreachable(engineErrorText(error));
    }
    const registered = Object.keys(info.Runtimes ?? {});
    const images: Record<string, boolean> = {};
    try {
      for (const image of this.options.images) images[image] = await this.imagePresent(image);
    } catch (error) {
      return unreachable(engineErrorText(error));
    }
    const probeImage = this.options.images[0]!;
    const gvisor = registered.includes('runsc')
      ? await this.verifyGvisor(`${info.ID ?? ''}:${probeImage}`, images[probeImage] === true, probeImage)
      : { registered: false, working: false, reason: 'the Docker Engine has no runtime named runsc' };

    const available: Runtime[] = [];
    if (gvisor.working) available.push('runsc');
    if (registered.includes('runc')) available.push('runc');

    let selected: Runtime | null;
    let reason: string | undefined;
    if (preference === 'runsc') {
      selected = gvisor.working ? 'runsc' : null;
      if (!selected) reason = `SANDBOX_RUNTIME=runsc, but gVisor cannot be used: ${gvisor.reason ?? 'unknown reason'}.`;
    } else if (preference === 'runc') {
      selected = available.includes('runc') ? 'runc' : null;
      if (!selected) reason = 'SANDBOX_RUNTIME=runc, but the Docker Engine lists no runc runtime.';
    } else {
      selected = available[0] ?? null;
      if (!selected) reason = 'The Docker Engine lists neither a working runsc nor runc; no container runtime is available.';
    }
    if (!reason && images[probeImage] !== true) reason = imageMissingMessage(probeImage);
    return {
      reachable: true,
      host: docker.host,
      ...(info.ServerVersion ? { version: info.ServerVersion } : {}),
      ...(reason ? { reason } : {}),
      available,
      selected,
      gvisor,
      images,
    };
  }

  private async imagePresent(image: string): Promise<boolean> {
    try {
      await this.options.docker.control.getImage(image).inspect();
      return true;
    } catch (error) {
      if (engineStatusCode(error) === 404) return false;
      throw error;
    }
  }

  /**
   * Registered is not the same as working: runsc needs kernel features a host may lack. One tiny
   * container under runsc settles it; a failure is re-checked after a while, a success is kept.
   */
  private async verifyGvisor(key: string, imagePresent: boolean, image: string): Promise<GvisorStatus> {
    const previous = this.gvisorVerdict;
    if (previous && previous.key === key && (previous.working || Date.now() - previous.at < GVISOR_RETRY_MS)) {
      return { registered: true, working: previous.working, ...(previous.reason ? { reason: previous.reason } : {}) };
    }
    if (!imagePresent) {
      return { registered: true, working: false, reason: `cannot be verified until the image ${image} exists` };
    }
    let working = false;
    let reason: string | undefined;
    try {
      const spec = sandboxContainerSpec({
        sandboxId: `probe-${randomUUID()}`,
        agentId: 'sandbox-controller',
        language: 'sh',
        code: 'echo ok',
        image,
        runtime: 'runsc',
        timeoutSeconds: PROBE_TIMEOUT_MS / 1000,
        memoryMb: 128,
        cpu: 1,
        pidsLimit: this.options.pidsLimit,
        tmpfsMb: 8,
        controllerId: this.options.controllerId,
        probe: true,
      });
      const run = await runSandbox(this.options.docker, spec, {
        timeoutMs: PROBE_TIMEOUT_MS,
        outputLimitBytes: 4096,
        ...(this.options.log ? { log: this.options.log } : {}),
      });
      working = run.exitCode === 0 && run.stdout.text.trim() === 'ok';
      if (!working) {
        reason = `a probe container under runsc ${run.timedOut ? 'timed out' : `exited ${run.exitCode}`}: ${run.stderr.text.trim().slice(0, 300) || 'no output'}`;
      }
    } catch (error) {
      reason = `a probe container under runsc failed: ${engineErrorText(error).slice(0, 300)}`;
    }
    this.gvisorVerdict = { key, working, ...(reason ? { reason } : {}), at: Date.now() };
    this.options.log?.info({ working, reason }, 'gVisor (runsc) probe');
    return { registered: true, working, ...(reason ? { reason } : {}) };
  }
}
