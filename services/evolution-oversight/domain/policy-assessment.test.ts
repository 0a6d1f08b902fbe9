import { describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import { PolicyInput, type Decision } from '../../policy-engine/contract.js';
import { ProposeEvolutionRequest } from '../contract.js';
import { IncompleteDecisionError, PROPOSAL_ACTION, assessDecision, buildPolicyInput } from './policy-assessment.js';

const proposal = ProposeEvolutionRequest.parse({
  agent_id: 'agent-7',
  trust_level: 0.92,
  change_description: 'Use the larger summarisation model',
  new_version: '2.0.0',
  requester_id: 'U-REQUESTER',
  external_dependencies: true,
});

function decision(overrides: Partial<Decision>): Decision {
  return {
    allow: true,
    compliance_score: 1,
    threshold: 0.95,
    reasons: ['all constitutional principles satisfied'],
    violations: [],
    safety_violation: false,
    mode: { strict: false, lockdown: false },
    constitutional_hash: CONSTITUTIONAL_HASH,
    ...overrides,
  };
}

describe('policy input of a proposal', () => {
  it('is a valid evolution_approval input of the Policy Engine contract', () => {
    const input = buildPolicyInput(proposal);
    expect(PolicyInput.safeParse(input).success).toBe(true);
    expect(input).toMatchObject({
      type: 'evolution_approval',
      constitutional_hash: CONSTITUTIONAL_HASH,
      action: PROPOSAL_ACTION,
      context: { agent: { id: 'agent-7', trust_level: 0.92 } },
    });
  });

  it('carries every flag of the proposal, defaults included', () => {
    expect(buildPolicyInput(proposal).evolution_request).toEqual({
      agent_id: 'agent-7',
      change_description: 'Use the larger summarisation model',
      new_version: '2.0.0',
      requester_id: 'U-REQUESTER',
      priority: 'medium',
      privilege_escalation: false,
      external_dependencies: true,
      experimental_features: false,
    });
  });

  it('passes the rollback plan only when there is one, so the policy can count its absence', () => {
    expect(buildPolicyInput(proposal).evolution_request).not.toHaveProperty('rollback_plan');
    const withPlan = buildPolicyInput({ ...proposal, rollback_plan: 'redeploy 1.9.3' });
    expect(withPlan.evolution_request?.rollback_plan).toBe('redeploy 1.9.3');
  });
});

describe('assessment of a decision', () => {
  it('takes the status from the evolution outcome of an allowed decision', () => {
    for (const outcome of ['auto_approved', 'fast_track', 'human_review'] as const) {
      const assessed = assessDecision(decision({ evolution: { outcome, risk_score: 0.3, factors: ['external_dependencies'] } }));
      expect(assessed.status).toBe(outcome);
      expect(assessed.policy).toMatchObject({ allow: true, outcome, risk_score: 0.3, risk_factors: ['external_dependencies'] });
    }
  });

  it('turns a denial into a rejection that keeps the reasons and violations', () => {
    const violation = { principle: 'safety', code: 'trust_level_too_low', message: 'too low' };
    const assessed = assessDecision(
      decision({ allow: false, compliance_score: 0.65, reasons: ['too low'], violations: [violation], evolution: { outcome: 'auto_approved', risk_score: 0, factors: [] } }),
    );
    expect(assessed.status).toBe('rejected');
    expect(assessed.policy).toMatchObject({ allow: false, compliance_score: 0.65, reasons: ['too low'], violations: [violation] });
  });

  it('rejects a denial even when the decision has no risk assessment', () => {
    expect(assessDecision(decision({ allow: false })).status).toBe('rejected');
  });

  it('refuses to classify an allowed decision without an outcome instead of guessing', () => {
    expect(() => assessDecision(decision({}))).toThrow(IncompleteDecisionError);
  });
});
