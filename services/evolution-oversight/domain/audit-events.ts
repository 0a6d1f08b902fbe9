import type { AuditEventInput } from '../../audit-engine/contract.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import type { Evolution, Transition } from '../contract.js';

export const AUDIT_SOURCE = 'evolution-oversight';

function severityOf(evolution: Evolution, transition: Transition): NonNullable<AuditEventInput['severity']> {
  if (transition.transition === 'rolled_back') return 'warning';
  if (transition.to_status === 'rejected') return 'warning';
  return 'info';
}

/**
 * The audit event of one lifecycle transition. Its idempotency key is the transition's id, so a
 * transition re-sent after a crash is stored once by the Audit Engine.
 */
export function transitionAuditEvent(evolution: Evolution, transition: Transition): AuditEventInput {
  return {
    event_type: `evolution_${transition.transition}`,
    source: AUDIT_SOURCE,
    agent_id: evolution.agent_id,
    severity: severityOf(evolution, transition),
    occurred_at: transition.occurred_at,
    idempotency_key: `evolution-transition:${transition.id}`,
    data: {
      evolution_id: evolution.id,
      transition_id: transition.id,
      from_status: transition.from_status,
      to_status: transition.to_status,
      actor_id: transition.actor_id,
      justification: transition.justification,
      requester_id: evolution.requester_id,
      new_version: evolution.new_version,
      priority: evolution.priority,
      policy_allow: evolution.policy.allow,
      policy_outcome: evolution.policy.outcome,
      risk_score: evolution.policy.risk_score,
      risk_factors: evolution.policy.risk_factors,
      ...(transition.transition === 'created' ? { reasons: evolution.policy.reasons } : {}),
      constitutional_hash: CONSTITUTIONAL_HASH,
    },
  };
}
