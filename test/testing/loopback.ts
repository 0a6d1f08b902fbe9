import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { unusedLoopbackPort as kernelChosenPort } from '../../services/kit/loopback-port.js';

/** The lowest port the tests pick from; below it sit the firm ports, PostgreSQL, Redis, Prometheus. */
const LOWEST = 15_000;

/** The kernel's ephemeral range, from which it takes the source port of every outgoing connection. */
function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return { low, high };
  } catch {
    // Not Linux: assume the IANA range.
  }
  return { low: 49_152, high: 65_535 };
}

const handedOut = new Set<number>();

async function freeNow(port: number): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/**
 * A loopback port on which nothing listens, outside the kernel's ephemeral range. A port the kernel
 * hands out for `listen(0)` comes from that range, so while a test's service is stopped (a restart,
 * a failover) any outgoing connection of the loaded machine may take it as its source port and the
 * service cannot bind it again (EADDRINUSE, seen in a DR test run beside other suites). A port
 * below the range is only ever taken by a listener that asks for it.
 */
export async function unusedLoopbackPort(): Promise<number> {
  const { low } = ephemeralRange();
  if (low - LOWEST < 1_000) return kernelChosenPort();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (low - LOWEST));
    if (handedOut.has(port)) continue;
    if (await freeNow(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LOWEST} and ${low - 1} after 200 tries`);
}

/** A loopback URL on which nothing listens. */
export async function unusedLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await unusedLoopbackPort()}`;
}
