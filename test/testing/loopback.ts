import { unusedLoopbackPort } from '../../services/kit/loopback-port.js';

export { unusedLoopbackPort };

/** A loopback URL on which nothing listens. */
export async function unusedLoopbackUrl(): Promise<string> {
  return `http://127.0.0.1:${await unusedLoopbackPort()}`;
}
