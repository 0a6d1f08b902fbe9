import { z } from 'zod';
import { requireAdminToken } from '../../kit/admin-auth.js';
import { ServiceError } from '../../kit/errors.js';
import type { Service } from '../../kit/service.js';
import { CacheClearResponse, CacheWarmResponse, NoQuery } from '../contract.js';
import { WARM_SET } from '../warm-set.js';

// A bodiless POST (plain `curl -X POST`) arrives as null.
const NoBody = z.object({}).strict().nullish();

export async function cacheRoutes(app: Service, { adminToken }: { adminToken: string | undefined }): Promise<void> {
  const warm = async () => {
    const result = await app.decisions.warm(WARM_SET);
    return {
      warmed: result.warmed,
      already_cached: result.alreadyCached,
      total: WARM_SET.length,
      policy_version: app.policy.version,
      modes: app.modes.current,
    };
  };
  // GET as well as POST: the runbook warms with a plain `curl .../v1/cache/warm`.
  app.get('/v1/cache/warm', { schema: { querystring: NoQuery, response: { 200: CacheWarmResponse } } }, warm);
  app.post('/v1/cache/warm', { schema: { querystring: NoQuery, body: NoBody, response: { 200: CacheWarmResponse } } }, warm);

  app.post(
    '/admin/clear-cache',
    { onRequest: requireAdminToken(adminToken), schema: { querystring: NoQuery, body: NoBody, response: { 200: CacheClearResponse } } },
    async () => {
      const l1Size = app.decisionCache.stats().l1.size;
      try {
        const cleared = await app.decisionCache.clear();
        return { l1_cleared: cleared.l1, l2_cleared: cleared.l2 };
      } catch (error) {
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', {
          dependency: 'Redis',
          detail: `L1 was cleared (${l1Size} entries) but the L2 keys were not (${(error as Error).message}); retry when Redis is back`,
        });
      }
    },
  );
}
