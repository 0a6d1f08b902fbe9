import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireServiceToken } from '../../kit/admin-auth.js';
import { isServiceError } from '../../kit/errors.js';
import type { SandboxConfig } from '../config.js';
import { ExecuteRequest, ExecuteResponse } from '../contract.js';
import { executeCode } from '../sandbox/execute-code.js';

export const executeRoutes: FastifyPluginAsync<{ config: SandboxConfig }> = async (instance, { config }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  const metrics = app.sandboxMetrics;
  if (!config.serviceToken) app.log.warn('ACGS_SERVICE_TOKEN is not set: POST /sandbox/execute answers 401 SERVICE_UNAUTHORIZED');
  app.post(
    '/sandbox/execute',
    // Running code is a write: only the stack's own callers (holding the service token) may ask,
    // checked on request before the body is parsed or the Policy Engine asked.
    { onRequest: requireServiceToken(config.serviceToken), schema: { body: ExecuteRequest, response: { 200: ExecuteResponse } } },
    async (request) => {
      try {
        return await executeCode(
          {
            config,
            docker: app.sandboxDocker,
            engine: app.sandboxEngine,
            policy: app.sandboxPolicy,
            slots: app.sandboxSlots,
            audit: app.sandboxAudit,
            controllerId: app.sandboxControllerId,
            log: request.log,
            onFinished: ({ runtime, termination_reason, duration_ms }) => {
              metrics.executions.inc({ runtime, termination_reason });
              if (termination_reason === 'timeout' || termination_reason === 'oom') metrics.failures.inc({ reason: termination_reason });
              metrics.duration.observe({ runtime }, duration_ms / 1000);
            },
          },
          request.body,
        );
      } catch (error) {
        if (isServiceError(error) && error.code === 'POLICY_DENIED') {
          metrics.executions.inc({ runtime: 'none', termination_reason: 'policy_denied' });
        } else if (!isServiceError(error) || error.statusCode >= 500) {
          metrics.failures.inc({ reason: 'error' });
        }
        throw error;
      }
    },
  );
};
