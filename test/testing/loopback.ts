import { createServer } from 'node:net';

/** A loopback port on which nothing listens: one the kernel handed out, bound and released again. */
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

/** A loopback URL on which nothing listens. */
export async function unusedLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await unusedLoopbackPort()}`;
}
