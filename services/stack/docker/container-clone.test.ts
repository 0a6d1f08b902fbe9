import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { planClone } from './container-clone.js';

/** A container docker-compose 1.29 created (policy-engine on two networks, a published port) and its image. */
const source = JSON.parse(readFileSync('test/fixtures/stack/compose-container-inspect.json', 'utf8')) as Docker.ContainerInspectInfo;
const image = (JSON.parse(readFileSync('test/fixtures/stack/compose-image-inspect.json', 'utf8')) as Docker.ImageInspectInfo).Config;

const plan = (overrides: Partial<Parameters<typeof planClone>[0]> = {}) =>
  planClone({ source, sourceImage: image, name: 'acgs-policy-engine-2', image: 'acgs-test/responder:1', number: 2, ephemeralHostPorts: true, ...overrides });

describe('planClone', () => {
  it('keeps what compose set: environment, health check, labels, host configuration', () => {
    const { options } = plan();
    expect(options.name).toBe('acgs-policy-engine-2');
    expect(options.Image).toBe('acgs-test/responder:1');
    expect(options.Env).toEqual(['PORT=8004', 'REDIS_URL=redis://redis:6379']);
    expect(options.Healthcheck).toEqual(source.Config.Healthcheck);
    expect(options.Labels).toMatchObject({
      'com.docker.compose.project': 'acgsfx',
      'com.docker.compose.service': 'policy-engine',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.config-hash': source.Config.Labels['com.docker.compose.config-hash'],
    });
    expect(options.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], Tmpfs: { '/tmp': '' }, RestartPolicy: { Name: 'unless-stopped' } });
  });

  it('numbers the new replica in its compose label', () => {
    expect(plan({ number: 7 }).options.Labels!['com.docker.compose.container-number']).toBe('7');
  });

  it("leaves out what only repeats the old image's defaults, so a new image brings its own", () => {
    const { options } = plan();
    expect(options.Env).not.toContain('RESPONDER_VERSION=1');
    expect(options.Env!.some((entry) => entry.startsWith('PATH='))).toBe(false);
    expect(options.Cmd).toBeUndefined();
    expect(options.Labels).not.toHaveProperty('acgs.recipe');
  });

  it('copies everything when the old image is gone and its defaults cannot be told apart', () => {
    const { options } = plan({ sourceImage: undefined });
    expect(options.Env).toContain('RESPONDER_VERSION=1');
    expect(options.Cmd).toEqual(['/usr/local/bin/responder']);
    expect(options.Labels).toHaveProperty('acgs.recipe');
  });

  it('moves a fixed published port to an ephemeral one for a replica beside the first, and says which', () => {
    const { options, movedPorts } = plan();
    expect(options.HostConfig!.PortBindings).toEqual({ '8004/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    expect(movedPorts).toEqual([{ containerPort: '8004/tcp', hostIp: '127.0.0.1', hostPort: '28004' }]);
  });

  it('keeps the published port when asked to (a replacement takes over the port)', () => {
    const { options, movedPorts } = plan({ ephemeralHostPorts: false });
    expect(options.HostConfig!.PortBindings).toEqual({ '8004/tcp': [{ HostIp: '127.0.0.1', HostPort: '28004' }] });
    expect(movedPorts).toEqual([]);
  });

  it("joins the primary network at creation and the others afterwards, with the service alias but not the old container's id", () => {
    const { options, extraNetworks } = plan();
    expect(options.NetworkingConfig).toEqual({ EndpointsConfig: { acgsfx_back: { Aliases: ['policy-engine'] } } });
    expect(extraNetworks).toEqual([{ name: 'acgsfx_front', aliases: ['policy-engine'] }]);
  });

  it('configures no endpoints on the host network', () => {
    const hostNetworked = {
      ...source,
      HostConfig: { ...source.HostConfig, NetworkMode: 'host' },
      NetworkSettings: { ...source.NetworkSettings, Networks: { host: source.NetworkSettings.Networks.acgsfx_back! } },
    } as Docker.ContainerInspectInfo;
    const { options, extraNetworks } = plan({ source: hostNetworked });
    expect(options.NetworkingConfig).toBeUndefined();
    expect(extraNetworks).toEqual([]);
    expect(options.HostConfig!.NetworkMode).toBe('host');
  });
});
