import { describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { PolicyInput } from '../../policy-engine/contract.js';
import { ExecuteRequest } from '../contract.js';
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
  it('fails closed with 503 naming the Policy Engine when it cannot be reached', async () => {
    const gate = policyGate('http://127.0.0.1:9', 1000);
    const error = await gate.decide(policyInputFor(ExecuteRequest.parse({ agent_id: 'a', code: 'true' }))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503 });
    expect((error as Error).message).toMatch(/Policy Engine is unavailable.*nothing was run/);
  });
});
