/**
 * A real service behind a loopback HTTP proxy that answers some paths late, as a busy service
 * does under load: the request reaches the service at once, only its answer is held back. Other
 * paths pass through untouched. The delay can be changed while it runs.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowHttpProxy {
  /** The proxy's base URL: http://127.0.0.1:<port>. */
  url: string;
  /** How long answers to the slow paths are held from now on (0: not at all). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowHttpProxy(options: { target: string; slow: (path: string) => boolean; delayMs: number }): Promise<SlowHttpProxy> {
  const target = new URL(options.target);
  const timers = new Set<NodeJS.Timeout>();
  const proxy: SlowHttpProxy = { url: '', delayMs: options.delayMs, close: async () => undefined };
  const server = createServer((incoming, outgoing) => {
    const delay = options.slow((incoming.url ?? '/').split('?')[0]!) ? proxy.delayMs : 0;
    const upstream = request({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer: IncomingMessage) => {
      const pass = () => {
        if (outgoing.destroyed) return answer.destroy();
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      };
      if (delay <= 0) return pass();
      const timer = setTimeout(() => {
        timers.delete(timer);
        pass();
      }, delay);
      timers.add(timer);
    });
    upstream.on('error', (error) => outgoing.destroy(error));
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
