/**
 * A loopback TCP proxy that holds every chunk the upstream sends back for a while, as a far or
 * busy Redis answers: the request arrives at once, the answer late, in order. The delay can be
 * changed while it runs. Used to give the real Policy Engine a real, slow L2 cache, so that its
 * own p99 goes over the runbook's 5 ms with nothing faked in the engine.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SlowTcpProxy {
  host: string;
  port: number;
  /** How long each chunk from the upstream is held from now on (0: not at all). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowTcpProxy(options: { host: string; port: number; delayMs: number }): Promise<SlowTcpProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const proxy: SlowTcpProxy = { host: '127.0.0.1', port: 0, delayMs: options.delayMs, close: async () => undefined };
  const server = createServer((client) => {
    track(client);
    const upstream = connect(options.port, options.host);
    track(upstream);
    client.pipe(upstream);
    // Timers of one delay fire in the order they were set, so the answers keep their order.
    upstream.on('data', (chunk: Buffer) => {
      if (proxy.delayMs <= 0) return void client.write(chunk);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!client.destroyed) client.write(chunk);
      }, proxy.delayMs);
      timers.add(timer);
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.close = async () => {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
