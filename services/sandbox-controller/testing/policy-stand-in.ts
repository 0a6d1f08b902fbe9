import Fastify from 'fastify';
import { type Decision, DataApiRequest, type PolicyInput } from '../../policy-engine/contract.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';

export interface PolicyStandIn {
  url: string;
  /** Every input received, parsed with the Policy Engine's own contract (so a drift fails there). */
  inputs: PolicyInput[];
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the Policy Engine that applies the two rules of the constitution the
 * sandbox depends on (trust at least 0.8; sandbox and audit enabled) and answers contract-valid
 * decisions. Used where the real engine is not part of the test's subject.
 */
export async function startPolicyStandIn(): Promise<PolicyStandIn> {
  const app = Fastify();
  const inputs: PolicyInput[] = [];
  app.post('/v1/data/acgs/main/decision', async (request, reply) => {
    const parsed = DataApiRequest.safeParse(request.body);
    if (!parsed.success) return reply.status(400).send({ error: { code: 'INVALID_REQUEST', message: parsed.error.message } });
    const input = parsed.data.input;
    inputs.push(input);
    const violations: Decision['violations'] = [];
    const trust = input.context.agent?.trust_level ?? 0;
    if (trust < 0.8) {
      violations.push({
        principle: 'safety',
        code: 'trust_level_too_low',
        message: `The agent's trust level ${trust} is below the required minimum of 0.8.`,
      });
    }
    if (!input.context.environment?.sandbox_enabled || !input.context.environment.audit_enabled) {
      violations.push({ principle: 'safety', code: 'sandbox_required', message: 'needs the sandbox and auditing enabled.' });
    }
    const decision: Decision = {
      allow: violations.length === 0,
      compliance_score: violations.length === 0 ? 1 : 0,
      threshold: 0.95,
      reasons: violations.map((violation) => violation.message),
      violations,
      safety_violation: violations.length > 0,
      mode: { strict: false, lockdown: false },
      constitutional_hash: CONSTITUTIONAL_HASH,
    };
    return { result: decision };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, inputs, close: () => app.close() };
}
