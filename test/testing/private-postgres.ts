/**
 * A PostgreSQL server of the test's own (Debian's binaries, a fresh cluster in a temporary
 * directory, on a free loopback port) for what the shared server cannot be: started with server
 * settings, such as shared_preload_libraries, that need a restart. Run as the `postgres` user when
 * the tests run as root, since initdb refuses root. close() stops it (SIGTERM, which runuser passes on) and removes its directory.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { unusedLoopbackPort } from './loopback.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface PrivatePostgres {
  url: string;
  close(): Promise<void>;
}

async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (Debian package postgresql)');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

export async function startPrivatePostgres(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const bin = await postgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'acgs-private-pg-'));
  const asRoot = process.getuid?.() === 0;
  // initdb and postgres refuse to run as root: the Debian package's postgres user runs them.
  const command = (file: string, args: string[]) => (asRoot ? { file: 'runuser', args: ['-u', 'postgres', '--', file, ...args] } : { file, args });
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const init = command(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  // A failed initdb leaves its directory behind unless removed here: close() does not exist yet.
  await run(init.file, init.args).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const port = await unusedLoopbackPort();
  const options = Object.entries({ listen_addresses: '127.0.0.1', port: String(port), unix_socket_directories: dir, fsync: 'off', ...settings }).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  const start = command(join(bin, 'postgres'), ['-D', data, ...options]);
  const server = spawn(start.file, start.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const close = async () => {
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the private PostgreSQL accepting connections',
      async () => {
        if (server.exitCode !== null) throw new Error(`the private PostgreSQL exited: ${log}`);
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          return true;
        } catch {
          return undefined;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
      () => log,
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { url, close };
}
