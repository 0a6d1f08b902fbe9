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
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
}
