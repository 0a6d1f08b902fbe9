import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireAdminToken } from '../../kit/admin-auth.js';
import { ServiceError } from '../../kit/errors.js';
import type { Service } from '../../kit/service.js';
import { ModeChangeRequest, ModeChangeResponse, NoQuery, ReloadPolicyResponse } from '../contract.js';
import type { ModeName } from '../mode-store.js';
import { PolicyLoadError } from '../policy-runtime.js';

const ActorHeaders = z.looseObject({
  'x-actor': z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\w.@:+-]+$/, 'must be a user or service id such as "U024BE7LH" or "oncall@example.com"')
    .optional(),
});

const MODE_ENDPOINTS: ReadonlyArray<{ url: string; mode: ModeName; enabled: boolean }> = [
  { url: '/admin/enable-strict-mode', mode: 'strict', enabled: true },
  { url: '/admin/disable-strict-mode', mode: 'strict', enabled: false },
  { url: '/admin/emergency-lockdown', mode: 'lockdown', enabled: true },
  { url: '/admin/lift-lockdown', mode: 'lockdown', enabled: false },
];

function actorOf(request: FastifyRequest): string {
  const header = request.headers['x-actor'];
  return typeof header === 'string' ? header : 'admin-token';
}

export async function adminRoutes(app: Service, { adminToken }: { adminToken: string | undefined }): Promise<void> {
  // Authentication before validation: without the token, nothing about the body is revealed.
  app.addHook('onRequest', requireAdminToken(adminToken));

  for (const endpoint of MODE_ENDPOINTS) {
    app.post(
      endpoint.url,
      {
        schema: {
          querystring: NoQuery,
          headers: ActorHeaders,
          body: ModeChangeRequest.nullish(),
          response: { 200: ModeChangeResponse },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const reason = request.body?.reason;
        let result;
        try {
          result = await app.modes.set(endpoint.mode, endpoint.enabled, { actor, ...(reason ? { reason } : {}) });
        } catch (error) {
          request.log.error({ err: error }, 'could not persist the mode change');
          throw new ServiceError('DEPENDENCY_UNAVAILABLE', {
            dependency: 'The mode state file',
            detail: `${(error as Error).message}; the mode was not changed`,
          });
        }
        app.auditOutbox.record({
          event_type: 'policy_mode_changed',
          severity: 'warning',
          data: {
            mode: endpoint.mode,
            enabled: endpoint.enabled,
            changed: result.changed,
            actor,
            ...(reason ? { reason } : {}),
            modes: result.modes,
            policy_version: app.policy.version,
          },
        });
        request.log.warn({ mode: endpoint.mode, enabled: endpoint.enabled, actor, changed: result.changed }, 'mode change');
        return { modes: result.modes, changed: result.changed, policy_version: app.policy.version };
      },
    );
  }

  app.post(
    '/admin/reload-policy',
    { schema: { querystring: NoQuery, body: z.object({}).strict().nullish(), response: { 200: ReloadPolicyResponse } } },
    async () => {
      try {
        const outcome = await app.policy.reload();
        return { status: outcome.status, policy_version: outcome.version, previous_version: outcome.previousVersion };
      } catch (error) {
        if (!(error instanceof PolicyLoadError)) throw error;
        throw new ServiceError('POLICY_RELOAD_FAILED', { detail: error.message, version: app.policy.version });
      }
    },
  );
}
