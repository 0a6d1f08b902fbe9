import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireAdminToken } from '../../kit/admin-auth.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { ServiceError } from '../../kit/errors.js';
import type { SandboxConfig } from '../config.js';
import { ResourceUsageQuery, ResourceUsageResponse, SANDBOX_LIMITS } from '../contract.js';
import { engineErrorText } from '../../kit/docker-engine.js';
import { engineUnreachableMessage } from '../engine/engine-monitor.js';
import { countExitedSandboxes } from '../sandbox/prune-sandboxes.js';
import { type SandboxUsage, sandboxResourceUsage } from '../sandbox/resource-usage.js';

/**
 * Needs the admin token like every /admin endpoint: read-only, but it reveals agent ids, container
 * ids and what is running right now. Checked on request, before the query is even parsed.
 */
export const resourceUsageRoutes: FastifyPluginAsync<{ config: SandboxConfig }> = async (instance, { config }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/admin/resource-usage',
    {
      onRequest: requireAdminToken(config.adminToken),
      schema: { querystring: ResourceUsageQuery, response: { 200: ResourceUsageResponse } },
    },
    async (request) => {
      const status = await app.sandboxEngine.status();
      if (!status.reachable) throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: status.reason ?? 'The Docker Engine does not answer.' });
      let sandboxes: SandboxUsage[];
      let exited: number;
      try {
        [sandboxes, exited] = await Promise.all([
          sandboxResourceUsage(app.sandboxDocker, app.sandboxControllerId, request.query.agent_id),
          countExitedSandboxes(app.sandboxDocker, request.query.agent_id),
        ]);
      } catch (error) {
        app.sandboxEngine.invalidate();
        throw new ServiceError('RUNTIME_UNAVAILABLE', { detail: engineUnreachableMessage(app.sandboxDocker.host, engineErrorText(error)) });
      }
      const sum = (pick: (usage: NonNullable<SandboxUsage['usage']>) => number) =>
        sandboxes.reduce((total, sandbox) => total + (sandbox.usage ? pick(sandbox.usage) : 0), 0);
      return {
        sandboxes,
        totals: {
          active: sandboxes.length,
          active_own: sandboxes.filter((sandbox) => sandbox.own).length,
          cpu_percent: Math.round(sum((usage) => usage.cpu_percent) * 100) / 100,
          memory_bytes: sum((usage) => usage.memory_bytes),
          memory_limit_bytes: sandboxes.reduce((total, sandbox) => total + sandbox.limits.memory_limit_mb * 1024 * 1024, 0),
          exited,
        },
        limits: {
          max_concurrent: config.maxConcurrent,
          timeout_seconds: SANDBOX_LIMITS.timeout_seconds.max,
          memory_limit_mb: SANDBOX_LIMITS.memory_limit_mb.max,
          cpu_limit: SANDBOX_LIMITS.cpu_limit.max,
          output_bytes: config.outputLimitBytes,
        },
        runtime: { default: status.selected, available: status.available },
        constitutional_hash: CONSTITUTIONAL_HASH,
      };
    },
  );
};
