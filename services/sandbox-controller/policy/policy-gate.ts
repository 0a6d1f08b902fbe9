import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { ServiceError } from '../../kit/errors.js';
import { ServiceCallError } from '../../clients/http.js';
import type { PolicyEngineClient } from '../../clients/policy-engine.js';
import type { Decision, PolicyInput } from '../../policy-engine/contract.js';
import type { ExecuteOptions } from '../contract.js';

export const SANDBOX_ACTION = 'sandbox.execute';

/**
 * The Policy Engine input for one execution request. The sandbox and audit trail are always on
 * for executions, so the environment says so; an agent without a stated trust level is sent as 0,
 * which is how the constitution reads a missing one anyway.
 */
export function policyInputFor(request: ExecuteOptions): PolicyInput {
  return {
    type: 'action_authorization',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: SANDBOX_ACTION,
    context: {
      agent: { id: request.agent_id, trust_level: request.trust_level ?? 0 },
      environment: { sandbox_enabled: true, audit_enabled: true },
      resources: {
        cpu: request.cpu_limit,
        memory_mb: request.memory_limit_mb,
        timeout_seconds: request.timeout_seconds,
      },
      ...(request.explanation ? { explanation: request.explanation } : {}),
    },
  };
}

export interface PolicyGate {
  decide(input: PolicyInput): Promise<Decision>;
}

/**
 * Asks the Policy Engine through its shared typed client. Anything but a contract-valid decision
 * fails closed as 503: without a decision, nothing runs. The URL is only for the message.
 */
export function policyGate(policyEngine: Pick<PolicyEngineClient, 'decide'>, policyEngineUrl: string): PolicyGate {
  return {
    async decide(input) {
      try {
        return await policyEngine.decide(input);
      } catch (error) {
        const detail =
          error instanceof ServiceCallError
            ? error.status === undefined
              ? `${error.message}; nothing was run (is POLICY_ENGINE_URL=${policyEngineUrl} right and the Policy Engine up?)`
              : `it answered ${error.status} ${error.code ?? ''}: ${error.message}; nothing was run`
            : `${(error as Error).message}; nothing was run`;
        throw new ServiceError('DEPENDENCY_UNAVAILABLE', { dependency: 'The Policy Engine', detail });
      }
    },
  };
}
