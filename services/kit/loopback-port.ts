import { createServer } from 'node:net';

/**
 * A loopback port on which nothing listens: one the kernel handed out, bound and released again.
 * Releases are validated on one (services/stack/releases/), and tests start servers on them.
 */
export async function unusedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('the probe socket reported no port');
  return address.port;
}
