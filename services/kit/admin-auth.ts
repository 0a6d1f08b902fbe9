import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ServiceError } from './errors.js';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Guard for admin endpoints: `Authorization: Bearer <ACGS_ADMIN_TOKEN>` (or `X-Admin-Token`).
 * With no token configured the admin endpoints stay closed rather than open.
 */
export function requireAdminToken(expected: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const alt = request.headers['x-admin-token'];
    const given = bearer ?? (typeof alt === 'string' ? alt : undefined);
    if (!expected || !given || !sameSecret(given, expected)) throw new ServiceError('UNAUTHORIZED');
  };
}
