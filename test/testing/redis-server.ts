import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { unusedLoopbackPort } from './loopback.js';

export interface PasswordRedis {
  /** `redis://:<password>@127.0.0.1:<port>`, as REDIS_URL carries credentials. */
  url: string;
  /** The same Redis without the password: what someone without it gets. */
  urlWithoutPassword: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * A Redis of its own that requires a password (`--requirepass`), as the compose file's does:
 * the machine's redis-server on a loopback port, without persistence. stop() ends it.
 */
export async function startPasswordRedis(): Promise<PasswordRedis> {
  const port = await unusedLoopbackPort();
  const password = randomBytes(24).toString('hex');
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
  } catch (error) {
    throw new Error(`redis-server could not be started (${(error as Error).message}); run scripts/provision.sh`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      probe.disconnect();
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`redis-server with a password did not answer on 127.0.0.1:${port} within 10 s (${(error as Error).message})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, urlWithoutPassword: `redis://127.0.0.1:${port}`, password, stop };
}
