import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import type { Decision, PolicyInput } from '../../policy-engine/contract.js';
import type { EvolutionStatus, PolicyAssessment, ProposeEvolutionRequest } from '../contract.js';

/**
 * The action a proposal is judged as. `evolution.request` is the constitution's catalogue name
 * for proposing a change; a name outside the catalogue would be denied whenever strict mode is on.
 */
export const PROPOSAL_ACTION = 'evolution.request';

/** The Policy Engine input for a proposal, in the upstream ACGS `evolution_approval` shape. */
export function buildPolicyInput(proposal: ProposeEvolutionRequest): PolicyInput {
  return {
    type: 'evolution_approval',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: PROPOSAL_ACTION,
    context: {
      agent: { id: proposal.agent_id, trust_level: proposal.trust_level },
      explanation: proposal.change_description,
    },
    evolution_request: {
      agent_id: proposal.agent_id,
      change_description: proposal.change_description,
      new_version: proposal.new_version,
      requester_id: proposal.requester_id,
      priority: proposal.priority,
      privilege_escalation: proposal.privilege_escalation,
      external_dependencies: proposal.external_dependencies,
      experimental_features: proposal.experimental_features,
      ...(proposal.rollback_plan === undefined ? {} : { rollback_plan: proposal.rollback_plan }),
    },
  };
}

/** The part of a decision a proposal shows: verdict, reasons and the risk assessment. */
export function summarizeDecision(decision: Decision): PolicyAssessment {
  return {
    allow: decision.allow,
    compliance_score: decision.compliance_score,
    reasons: decision.reasons,
    violations: decision.violations,
    outcome: decision.evolution?.outcome ?? null,
    risk_score: decision.evolution?.risk_score ?? null,
    risk_factors: decision.evolution?.factors ?? [],
  };
}

export type Assessment = { status: EvolutionStatus; policy: PolicyAssessment };

export class IncompleteDecisionError extends Error {}

/**
 * Turns the Policy Engine's decision into the proposal's first status. A denial is stored as
 * `rejected` with the policy's reasons (rather than refused with 403) so that the attempt, and
 * why it failed, stays on record and in the audit trail.
 */
export function assessDecision(decision: Decision): Assessment {
  const policy = summarizeDecision(decision);
  if (!decision.allow) return { status: 'rejected', policy };
  if (!decision.evolution) {
    // An allow without a risk outcome cannot be classified; guessing would bypass review.
    throw new IncompleteDecisionError('the decision allowed the evolution but carried no evolution outcome');
  }
  return { status: decision.evolution.outcome, policy };
}
