import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process's name as a lease holder: the instance (ACGS_BOT_INSTANCE), host and pid, and a
 * random part, so that a restarted replica with a reused pid is not taken for its predecessor.
 */
export function replicaId(instance: string | undefined): string {
  return `${instance || 'bot'}@${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}
