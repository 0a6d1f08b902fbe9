import { type Server, type Socket, createServer, connect } from 'node:net';
import { TEST_POSTGRES_URL } from './postgres.js';

/**
 * A TCP proxy in front of the real PostgreSQL that a test can cut and restore: what a database
 * going away and coming back looks like to the bot, without stopping the shared server.
 * `cut` drops every connection and refuses new ones; `stall` accepts connections and never answers.
 */
export interface PostgresProxy {
  urlFor(database: string): string;
  cut(): void;
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startPostgresProxy(): Promise<PostgresProxy> {
  const upstream = new URL(TEST_POSTGRES_URL);
  const sockets = new Set<Socket>();
  let mode: 'open' | 'cut' | 'stall' = 'open';
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'cut') return void client.destroy();
    if (mode === 'stall') return; // accepted, never forwarded: a database that hangs
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    track(server);
    client.pipe(server);
    server.pipe(client);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    urlFor(database) {
      const url = new URL(TEST_POSTGRES_URL);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      url.pathname = `/${database}`;
      return url.toString();
    },
    cut() {
      mode = 'cut';
      dropAll();
    },
    stall() {
      mode = 'stall';
      dropAll();
    },
    restore() {
      mode = 'open';
      dropAll(); // stalled connections are useless: the pool must reconnect
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
