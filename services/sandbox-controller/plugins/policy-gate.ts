import { createPolicyEngineClient } from '../../clients/policy-engine.js';
import type { SandboxConfig } from '../config.js';
import { type PolicyGate, policyGate } from '../policy/policy-gate.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    sandboxPolicy: PolicyGate;
  }
}

export const policyGatePlugin = fp<{ config: SandboxConfig }>(async (app, { config }) => {
  const client = createPolicyEngineClient({ baseUrl: config.policyEngineUrl, timeoutMs: config.policyTimeoutMs });
  app.decorate('sandboxPolicy', policyGate(client, config.policyEngineUrl));
});
