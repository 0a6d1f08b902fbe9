import { ServiceCallError } from '../../clients/http.js';
import { createPolicyEngineClient } from '../../clients/policy-engine.js';
import { ServiceError } from '../../kit/errors.js';
import type { Decision, PolicyInput } from '../../policy-engine/contract.js';
import fp from 'fastify-plugin';

/** What this service needs from the Policy Engine. */
export interface EvolutionPolicy {
  url: string;
  /** The constitutional decision; any failure to get one is 503 DEPENDENCY_UNAVAILABLE. */
  decide(input: PolicyInput): Promise<Decision>;
  /** Resolves when the Policy Engine answers its health check as healthy or degraded. */
  ping(timeoutMs?: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    policyEngine: EvolutionPolicy;
  }
}

export function createEvolutionPolicy(url: string, timeoutMs: number): EvolutionPolicy {
  const client = createPolicyEngineClient({ baseUrl: url, timeoutMs });
  return {
    url,
    async decide(input) {
      try {
        return await client.decide(input);
      } catch (error) {
        const detail = error instanceof ServiceCallError ? error.message : String(error);
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'Policy Engine', detail: `${detail}; nothing was stored` });
      }
    },
    async ping(pingTimeoutMs = 1000) {
      await createPolicyEngineClient({ baseUrl: url, timeoutMs: pingTimeoutMs }).health();
    },
  };
}

export interface PolicyEnginePluginOptions extends Record<string, unknown> {
  url: string;
  timeoutMs: number;
}

export const policyEnginePlugin = fp<PolicyEnginePluginOptions>(async (app, options) => {
  app.decorate('policyEngine', createEvolutionPolicy(options.url, options.timeoutMs));
});
