import { describe, expect, it } from 'vitest';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { type ScriptedAnswer, startScriptedPolicyEngine } from '../../../test/testing/policy-engine.js';
import { createPolicyEngineClient } from '../../clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { type Decision, PolicyInput } from '../../policy-engine/contract.js';
import { ExecuteRequest } from '../contract.js';
import { policyGate, policyInputFor } from './policy-gate.js';

/** The gate over the real client against a Policy Engine that answers as scripted. */
async function withScriptedEngine(answer: ScriptedAnswer, use: (gate: ReturnType<typeof policyGate>, inputs: PolicyInput[]) => Promise<void>) {
  const engine = await startScriptedPolicyEngine(answer);
  try {
    await use(policyGate(createPolicyEngineClient({ baseUrl: engine.url, timeoutMs: 2000 }), engine.url), engine.inputs);
  } finally {
    await engine.close();
  }
}

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
    // The score tells this decision apart from any the gate could make up itself.
    const decision: Decision = {
      allow: true,
      compliance_score: 0.97,
      threshold: 0.95,
      reasons: ['scripted for the gate test'],
      violations: [],
      safety_violation: false,
      mode: { strict: false, lockdown: false },
      constitutional_hash: CONSTITUTIONAL_HASH,
    };
    await withScriptedEngine(
      () => ({ status: 200, body: { result: decision } }),
      async (gate, inputs) => {
        expect(await gate.decide(request())).toEqual(decision);
        expect(inputs).toEqual([request()]);
      },
    );
  });

  it('fails closed with 503 naming the Policy Engine when it cannot be reached', async () => {
    const url = await unusedLoopbackUrl();
    const gate = policyGate(createPolicyEngineClient({ baseUrl: url, timeoutMs: 1000 }), url);
    const error = await gate.decide(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503 });
    expect((error as Error).message).toMatch(/Policy Engine is unavailable.*nothing was run.*POLICY_ENGINE_URL=/);
    expect((error as Error).message).toContain(`POLICY_ENGINE_URL=${url}`);
  });

  it.each([
    ['an error answer', { status: 500, body: { error: { code: 'INTERNAL', message: 'scripted failure' } } }, /answered 500 INTERNAL/],
    ['a decision that breaks the contract', { status: 200, body: { result: { allow: 'yes' } } }, /answered 200 CONTRACT/],
  ])('fails closed with 503 on %s from the Policy Engine', async (_case, answer, detail) => {
    await withScriptedEngine(
      () => answer,
      async (gate, inputs) => {
        const error = await gate.decide(request()).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', statusCode: 503 });
        expect((error as Error).message).toMatch(detail);
        expect(inputs).toHaveLength(1);
      },
    );
  });
});
