/**
 * Builds the create options of a new replica from a running one, the way compose would from the
 * service definition: same command, environment, labels, health check and host configuration.
 *
 * An inspected container's Config is the merge of its image's defaults and what compose set. To
 * let a new image bring its own defaults (recreate with another tag), values that merely repeat the
 * old image's defaults are left out, so the new image's apply; values compose set are kept.
 */
import type Docker from 'dockerode';
import { COMPOSE_LABELS } from './compose-labels.js';

type ImageConfig = Pick<Docker.ImageInspectInfo['Config'], 'Env' | 'Cmd' | 'Entrypoint' | 'WorkingDir' | 'User' | 'Labels'> & {
  Healthcheck?: Docker.HealthConfig;
  StopSignal?: string;
};

export interface CloneRequest {
  /** The replica to copy. */
  source: Docker.ContainerInspectInfo;
  /** Config of the image the source was created from; undefined when that image is gone (nothing is left out then). */
  sourceImage: ImageConfig | undefined;
  name: string;
  image: string;
  number: number;
  /**
   * Give published ports with a fixed host port an ephemeral one instead (a second replica cannot
   * bind the same host port). The caller reports the moved ports.
   */
  ephemeralHostPorts: boolean;
}

export interface ClonePlan {
  options: Docker.ContainerCreateOptions;
  /** Networks to connect after creation: the Engine (API < 1.44) takes one network at creation. */
  extraNetworks: Array<{ name: string; aliases: string[] }>;
  /** Published ports moved to an ephemeral host port: which container port, and the fixed binding it had. */
  movedPorts: MovedPort[];
}

export interface MovedPort {
  containerPort: string;
  hostIp: string;
  hostPort: string;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function unlessImageDefault<T>(value: T, imageValue: unknown, hasImage: boolean): T | undefined {
  return hasImage && sameJson(value, imageValue) ? undefined : value;
}

/** Network aliases without the ones Docker derives from the old container (its short id, its name). */
function ownAliases(aliases: unknown, source: Docker.ContainerInspectInfo): string[] {
  if (!Array.isArray(aliases)) return [];
  const derived = new Set([source.Id.slice(0, 12), source.Name.replace(/^\//, '')]);
  return aliases.filter((alias): alias is string => typeof alias === 'string' && !derived.has(alias));
}

function portBindings(
  bindings: Docker.HostConfig['PortBindings'],
  ephemeral: boolean,
): { bindings: Docker.HostConfig['PortBindings']; moved: MovedPort[] } {
  if (!bindings || !ephemeral) return { bindings, moved: [] };
  const moved: MovedPort[] = [];
  const result: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const [containerPort, hostPorts] of Object.entries(bindings as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>)) {
    result[containerPort] = (hostPorts ?? []).map((binding) => {
      if (binding.HostPort && binding.HostPort !== '0') moved.push({ containerPort, hostIp: binding.HostIp || '0.0.0.0', hostPort: binding.HostPort });
      return { HostIp: binding.HostIp ?? '', HostPort: '' };
    });
  }
  return { bindings: result, moved };
}

export function planClone(request: CloneRequest): ClonePlan {
  const { source, sourceImage } = request;
  const config = source.Config;
  const hasImage = sourceImage !== undefined;

  const imageEnv = new Set(sourceImage?.Env ?? []);
  const env = (config.Env ?? []).filter((entry) => !imageEnv.has(entry));

  const imageLabels = sourceImage?.Labels ?? {};
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.Labels ?? {})) {
    if (imageLabels[key] !== value) labels[key] = value;
  }
  labels[COMPOSE_LABELS.number] = String(request.number);

  const { bindings, moved } = portBindings(source.HostConfig.PortBindings, request.ephemeralHostPorts);
  const hostConfig: Docker.HostConfig = { ...source.HostConfig, PortBindings: bindings };

  const networkMode = source.HostConfig.NetworkMode ?? 'default';
  const networks = Object.entries(source.NetworkSettings?.Networks ?? {});
  // host/none/container:<id> have no endpoints to configure; bridge-like networks keep their aliases.
  const configurable = !['host', 'none'].includes(networkMode) && !networkMode.startsWith('container:');
  const primary = configurable ? networks.find(([name]) => name === networkMode) ?? networks[0] : undefined;
  const extraNetworks = configurable
    ? networks.filter(([name]) => name !== primary?.[0]).map(([name, settings]) => ({ name, aliases: ownAliases(settings.Aliases, source) }))
    : [];

  const sourceConfig = config as typeof config & { StopSignal?: string; StopTimeout?: number };
  const options: Docker.ContainerCreateOptions = {
    name: request.name,
    Image: request.image,
    Env: env,
    Cmd: unlessImageDefault(config.Cmd, sourceImage?.Cmd, hasImage) ?? undefined,
    Entrypoint: unlessImageDefault(config.Entrypoint, sourceImage?.Entrypoint, hasImage) ?? undefined,
    WorkingDir: unlessImageDefault(config.WorkingDir, sourceImage?.WorkingDir, hasImage) || undefined,
    User: unlessImageDefault(config.User, sourceImage?.User, hasImage) || undefined,
    Healthcheck: unlessImageDefault(config.Healthcheck, sourceImage?.Healthcheck, hasImage),
    StopSignal: unlessImageDefault(sourceConfig.StopSignal, sourceImage?.StopSignal, hasImage),
    StopTimeout: sourceConfig.StopTimeout,
    Labels: labels,
    ExposedPorts: config.ExposedPorts,
    Tty: config.Tty,
    OpenStdin: config.OpenStdin,
    HostConfig: hostConfig,
    ...(primary
      ? { NetworkingConfig: { EndpointsConfig: { [primary[0]]: { Aliases: ownAliases(primary[1].Aliases, source) } } } }
      : {}),
  };
  return { options, extraNetworks, movedPorts: moved };
}
