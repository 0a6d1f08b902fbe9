import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ServiceError } from './errors.js';

/** The header a caller may use for the service token instead of `Authorization: Bearer`. */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

/** Constant-time comparison of a given secret with the expected one (unequal lengths differ at once). */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token a request carries: `Authorization: Bearer <token>`, else the named header. */
function givenToken(request: FastifyRequest, header: string): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) return authorization.slice(7);
  const alternative = request.headers[header];
  return typeof alternative === 'string' ? alternative : undefined;
}

/**
 * Guard for admin endpoints: `Authorization: Bearer <ACGS_ADMIN_TOKEN>` (or `X-Admin-Token`).
 * With no token configured the admin endpoints stay closed rather than open.
 */
export function requireAdminToken(expected: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    const given = givenToken(request, 'x-admin-token');
    if (!expected || !given || !sameSecret(given, expected)) throw new ServiceError('UNAUTHORIZED');
  };
}

/**
 * Guard for the services' write endpoints (audit events, evolution proposals and reviews, sandbox
 * executions): `Authorization: Bearer <ACGS_SERVICE_TOKEN>` (or `X-Service-Token`). The token is
 * the stack's own callers' (the bot, the services' audit outboxes), separate from the admin
 * token, so holding one grants nothing of the other. With no token configured the endpoints stay
 * closed; the message says which of the three went wrong so an operator can fix the right thing.
 */
export function requireServiceToken(expected: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!expected) {
      throw new ServiceError('SERVICE_UNAUTHORIZED', { detail: 'this service has no ACGS_SERVICE_TOKEN set, so its write endpoints stay closed' });
    }
    const given = givenToken(request, SERVICE_TOKEN_HEADER);
    if (!given) throw new ServiceError('SERVICE_UNAUTHORIZED', { detail: 'the request carried none' });
    if (!sameSecret(given, expected)) throw new ServiceError('SERVICE_UNAUTHORIZED', { detail: "the token sent is not this stack's service token" });
  };
}
