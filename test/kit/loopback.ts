import { createServer } from 'node:net';

/** A loopback URL on which nothing listens: a port that was bound and released again. */
export async function unusedLoopbackUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('the probe socket reported no port');
  return `http://127.0.0.1:${address.port}`;
}
