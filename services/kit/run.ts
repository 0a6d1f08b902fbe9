import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface ListenOptions {
  port: number;
  host?: string;
}

/**
 * Listen and close gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight requests,
 * run every plugin's onClose (pools, flushers), then exit.
 */
export async function runService(app: FastifyInstance, options: ListenOptions): Promise<void> {
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
  });
  exitWithSupervisor(app);
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
}

/**
 * A service started by the local supervisor gets an IPC channel from it. When the supervisor dies
 * without stopping it (SIGKILL, or a shutdown cut short by its own grace period), the channel
 * closes: the service then shuts down as on SIGTERM instead of living on as an orphan that holds
 * its firm port, which would refuse the next `npm start`. The channel itself must not keep the
 * process alive.
 */
function exitWithSupervisor(app: FastifyInstance): void {
  // process.send exists only when the process was started with an IPC channel.
  if (typeof process.send !== 'function') return;
  const shutDown = () => {
    app.log.warn('the supervisor is gone: shutting down');
    process.kill(process.pid, 'SIGTERM');
  };
  // A supervisor that died while this process was still loading closed the channel before
  // anyone listened: its 'disconnect' is gone, so ask the channel's state instead.
  if (!process.connected) {
    shutDown();
    return;
  }
  process.channel?.unref();
  process.once('disconnect', shutDown);
}
