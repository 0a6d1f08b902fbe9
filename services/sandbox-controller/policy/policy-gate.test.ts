import { describe, expect, it } from 'vitest';
import { ServiceCallError } from '../../clients/http.js';
import { createPolicyEngineClient } from '../../clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { PolicyInput } from '../../policy-engine/contract.js';
import { ExecuteRequest } from '../contract.js';
import { startPolicyStandIn } from '../testing/policy-stand-in.js';
import { policyGate, policyInputFor } from './policy-gate.js';

describe('policy input for an execution', () => {
  it('asks for sandbox.execute as an action authorization with the agent, environment and resources', () => {
    const request = ExecuteRequest.parse({ agent_id: 'agent-1', code: 'echo hi', trust_level: 0.9, memory_limit_mb: 512, explanation: 'run tests' });
    const input = policyInputFor(request);
    expect(PolicyInput.parse(input)).toEqual(input);
    expect(input).toEqual({
      type: 'action_authorization',
      constitutional_hash: CONSTITUTIONAL_HASH,
      action: 'sandbox.execute',
      context: {
        agent: { id: 'agent-1', trust_level: 0.9 },
        environment: { sandbox_enabled: true, audit_enabled: true },
        resources: { cpu: 1, memory_mb: 512, timeout_seconds: 30 },
        explanation: 'run tests',
      },
    });
  });

  it('sends an agent without a stated trust level as untrusted', () => {
    const input = policyInputFor(ExecuteRequest.parse({ agent_id: 'agent-1', code: 'true' }));
    expect(input.context.agent).toEqual({ id: 'agent-1', trust_level: 0 });
    expect(input.context.explanation).toBeUndefined();
  });
});

describe('policy gate', () => {
  const request = () => policyInputFor(ExecuteRequest.parse({ agent_id: 'agent-1', code: 'true', trust_level: 0.9, explanation: 'gate test' }));

  it('asks through the shared Policy Engine client and returns its decision', async () => {
    const standIn = await startPolicyStandIn();
    try {
      const gate = policyGate(createPolicyEngineClient({ baseUrl: standIn.url, timeoutMs: 2000 }), standIn.url);
      const decision = await gate.decide(request());
      expect(decision).toMatchObject({ allow: true, violations: [] });
      expect(standIn.inputs).toEqual([request()]);
    } finally {
      await standIn.close();
    }
  });

  it('fails closed with 503 naming the Policy Engine when it cannot be reached', async () => {
    const url = 'http://127.0.0.1:9';
    const gate = policyGate(createPolicyEngineClient({ baseUrl: url, timeoutMs: 1000 }), url);
    const error = await gate.decide(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503 });
    expect((error as Error).message).toMatch(/Policy Engine is unavailable.*nothing was run.*POLICY_ENGINE_URL=http:\/\/127\.0\.0\.1:9/);
  });

  it('fails closed with 503 when the client reports an error answer or a contract drift', async () => {
    for (const failure of [new ServiceCallError('boom', 500, 'INTERNAL'), new ServiceCallError('unexpected shape', 200, 'CONTRACT')]) {
      const gate = policyGate({ decide: () => Promise.reject(failure) }, 'http://127.0.0.1:8004');
      const error = await gate.decide(request()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503 });
      expect((error as Error).message).toContain(`answered ${failure.status} ${failure.code}`);
    }
  });
});
