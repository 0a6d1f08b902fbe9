/**
 * The firm ports (the four services' and the console's defaults) are one machine-wide resource:
 * the suites that run a real `npm start` on them take turns (turns.ts).
 */
import { createServer } from 'node:net';
import { SERVICE_PORTS } from '../../services/kit/service-ports.js';
import { takeTurn } from './turns.js';

/** Waited for by a suite's beforeAll: long enough for the other npm start suite to finish. */
export const FIRM_PORTS_WAIT_MS = 15 * 60_000;

const FIRM_PORTS_LOCK = 'acgs firm ports';

/** How long the previous holder's services may take to end after its npm start has exited. */
const PORTS_FREED_WAIT_MS = 30_000;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Waits for the firm ports' turn, then for the services of the suite before (which end by
 * themselves once its npm start is gone) to let go of the ports; the returned function gives the
 * turn up. Ports still taken after that are left for the suite's own check to name.
 */
export async function takeFirmPorts(): Promise<() => Promise<void>> {
  const release = await takeTurn(FIRM_PORTS_LOCK);
  const deadline = Date.now() + PORTS_FREED_WAIT_MS;
  for (;;) {
    const free = await Promise.all(Object.values(SERVICE_PORTS).map(portFree));
    if (free.every(Boolean) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return release;
}
