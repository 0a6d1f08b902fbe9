import { z } from 'zod';
import { ServiceCallError, callService } from '../../clients/http.js';
import { ServiceError } from '../../kit/errors.js';
import { DecisionResponse, type Decision, type PolicyInput } from '../../policy-engine/contract.js';
import { sharedPlugin } from './shared-plugin.js';

export interface PolicyEngineClient {
  url: string;
  /** The constitutional decision; any failure to get one is 503 DEPENDENCY_UNAVAILABLE. */
  decide(input: PolicyInput): Promise<Decision>;
  /** Resolves when the Policy Engine answers its health check. */
  ping(timeoutMs?: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    policyEngine: PolicyEngineClient;
  }
}

const DECISION_PATH = '/v1/data/acgs/main/decision';

export function createPolicyEngineClient(url: string, timeoutMs: number): PolicyEngineClient {
  return {
    url,
    async decide(input) {
      try {
        const response = await callService(url, DECISION_PATH, { method: 'POST', body: { input }, schema: DecisionResponse, timeoutMs });
        return response.result;
      } catch (error) {
        const detail = error instanceof ServiceCallError ? error.message : String(error);
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'Policy Engine', detail: `${detail}; nothing was stored` });
      }
    },
    async ping(pingTimeoutMs = 1000) {
      await callService(url, '/health', { schema: z.unknown(), timeoutMs: pingTimeoutMs });
    },
  };
}

export interface PolicyEnginePluginOptions extends Record<string, unknown> {
  url: string;
  timeoutMs: number;
}

export const policyEnginePlugin = sharedPlugin<PolicyEnginePluginOptions>(async (app, options) => {
  app.decorate('policyEngine', createPolicyEngineClient(options.url, options.timeoutMs));
});
