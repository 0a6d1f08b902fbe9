import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireAdminToken } from '../../kit/admin-auth.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { engineErrorText } from '../../kit/docker-engine.js';
import { ServiceError } from '../../kit/errors.js';
import type { SandboxConfig } from '../config.js';
import { PruneSandboxesQuery, PruneSandboxesResponse } from '../contract.js';
import { type PruneResult, pruneExitedSandboxes } from '../sandbox/prune-sandboxes.js';

/**
 * The runbook's "clean up old containers" (`docker container prune -f`) narrowed to what this
 * service owns: its exited sandbox containers, never running ones, never anyone else's
 * containers. An admin action: it removes traces of what ran, so it needs the admin token and
 * leaves an audit event.
 */
export const pruneSandboxesRoutes: FastifyPluginAsync<{ config: SandboxConfig }> = async (instance, { config }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.post(
    '/admin/prune-sandboxes',
    {
      onRequest: requireAdminToken(config.adminToken),
      schema: { querystring: PruneSandboxesQuery, response: { 200: PruneSandboxesResponse } },
    },
    async (request) => {
      const agentId = request.query.agent_id;
      const inFlight = new Set(app.sandboxSlots.list().flatMap((sandbox) => (sandbox.containerId ? [sandbox.containerId] : [])));
      let result: PruneResult;
      try {
        result = await pruneExitedSandboxes(app.sandboxDocker, {
          controllerId: app.sandboxControllerId,
          inFlight,
          graceMs: config.pruneGraceSeconds * 1000,
          ...(agentId ? { agentId } : {}),
        });
      } catch (error) {
        // Only the listing throws: nothing was removed yet.
        app.sandboxEngine.invalidate();
        throw new ServiceError('RUNTIME_UNAVAILABLE', {
          detail:
            `The Docker Engine at ${app.sandboxDocker.host} does not answer (${engineErrorText(error)}), so nothing was removed. ` +
            'Start dockerd (scripts/provision.sh) or point DOCKER_HOST at a running engine.',
        });
      }
      if (result.removed.length > 0 || result.failed.length > 0) {
        const ids = (sandbox: PruneResult['removed'][number]) => ({ sandbox_id: sandbox.sandbox_id, container_id: sandbox.container_id, agent_id: sandbox.agent_id });
        app.sandboxAudit.record({
          event_type: 'sandbox_prune',
          severity: result.failed.length > 0 ? 'warning' : 'info',
          data: {
            agent_filter: agentId ?? null,
            removed: result.removed.map(ids),
            failed: result.failed.map((sandbox) => ({ ...ids(sandbox), reason: sandbox.reason })),
            kept: result.kept.length,
          },
        });
      }
      return { ...result, grace_seconds: config.pruneGraceSeconds, constitutional_hash: CONSTITUTIONAL_HASH };
    },
  );
};
