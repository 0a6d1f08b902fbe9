import { createServer, type Server } from 'node:http';
import type Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedLoopbackPort } from '../../kit/loopback-port.js';
import { healthUrlOf, probeUntilServed } from './served-probe.js';

type Inspected = Pick<Docker.ContainerInspectInfo, 'Config' | 'HostConfig'>;

const replica = (env: string[], hostConfig: Record<string, unknown>): Inspected => ({ Config: { Env: env }, HostConfig: hostConfig }) as unknown as Inspected;

describe('healthUrlOf: where the driver asks a replica for /health', () => {
  it('on the host network: loopback at its PORT', () => {
    expect(healthUrlOf(replica(['HOST=127.0.0.1', 'PORT=18004'], { NetworkMode: 'host' }))).toBe('http://127.0.0.1:18004/health');
  });

  it("on a bridge network: the host port PORT is published on, on loopback when published on every address", () => {
    const published = (HostIp: string) => replica(['PORT=8004'], { NetworkMode: 'acgs_default', PortBindings: { '8004/tcp': [{ HostIp, HostPort: '18104' }] } });
    expect(healthUrlOf(published('127.0.0.1'))).toBe('http://127.0.0.1:18104/health');
    expect(healthUrlOf(published(''))).toBe('http://127.0.0.1:18104/health');
    expect(healthUrlOf(published('0.0.0.0'))).toBe('http://127.0.0.1:18104/health');
    expect(healthUrlOf(published('::'))).toBe('http://[::1]:18104/health');
    expect(healthUrlOf(published('::1'))).toBe('http://[::1]:18104/health');
  });

  it('nowhere when there is no PORT, it is not a port, or it is not published', () => {
    expect(healthUrlOf(replica(['HOST=0.0.0.0'], { NetworkMode: 'host' }))).toBeUndefined();
    expect(healthUrlOf(replica(['PORT=http'], { NetworkMode: 'host' }))).toBeUndefined();
    expect(healthUrlOf(replica(['PORT=8004'], { NetworkMode: 'acgs_default', PortBindings: {} }))).toBeUndefined();
    expect(healthUrlOf(replica(['PORT=8004'], { NetworkMode: 'acgs_default', PortBindings: { '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: '19000' }] } }))).toBeUndefined();
  });
});

describe('probeUntilServed', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('notes the first 200, not the failures before it, nor a port nobody listens on yet', async () => {
    const port = await unusedLoopbackPort();
    const probe = probeUntilServed(`http://127.0.0.1:${port}/health`, 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(probe.firstServedAt()).toBeUndefined();
      let answers = 0;
      let healthyFrom = 0;
      server = createServer((request, response) => {
        answers += 1;
        if (answers === 3) healthyFrom = Date.now();
        response.writeHead(answers >= 3 ? 200 : 503).end();
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      await expect.poll(() => probe.firstServedAt(), { timeout: 5000, interval: 20 }).toBeDefined();
      expect(answers).toBe(3);
      expect(probe.firstServedAt()).toBeGreaterThanOrEqual(healthyFrom);
    } finally {
      probe.stop();
    }
  });

  it('asks nothing more once stopped, and has no answer without an address', async () => {
    let asked = 0;
    server = createServer((request, response) => {
      asked += 1;
      response.writeHead(503).end();
    });
    const port = await unusedLoopbackPort();
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    const probe = probeUntilServed(`http://127.0.0.1:${port}/health`, 10);
    await expect.poll(() => asked, { timeout: 5000, interval: 10 }).toBeGreaterThan(1);
    probe.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = asked;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(asked).toBe(after);
    expect(probe.firstServedAt()).toBeUndefined();
    const nowhere = probeUntilServed(undefined, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(nowhere.firstServedAt()).toBeUndefined();
    nowhere.stop();
  });
});
