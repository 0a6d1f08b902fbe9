import { describe, expect, it } from 'vitest';
import { AuditEventInput } from '../../audit-engine/contract.js';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import type { Evolution, Transition } from '../contract.js';
import { transitionAuditEvent } from './audit-events.js';

const evolution: Evolution = {
  id: '5f0c4a8e-7c1b-4c1e-9d55-3f1f1b2f3a10',
  agent_id: 'agent-7',
  trust_level: 0.9,
  change_description: 'Grant the agent write access to the ticket queue',
  new_version: '3.1.0',
  requester_id: 'U-REQUESTER',
  priority: 'high',
  privilege_escalation: true,
  external_dependencies: false,
  experimental_features: false,
  rollback_plan: null,
  status: 'approved',
  policy: {
    allow: true,
    compliance_score: 1,
    reasons: ['evolution outcome: human_review (risk score 0.7)'],
    violations: [],
    outcome: 'human_review',
    risk_score: 0.7,
    risk_factors: ['no_rollback_plan', 'priority_high', 'privilege_escalation'],
  },
  review: null,
  rollback: null,
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:05:00.000Z',
  constitutional_hash: CONSTITUTIONAL_HASH,
};

const transition = (overrides: Partial<Transition>): Transition => ({
  id: '0b6f7f4e-1d2a-4f3b-8c9d-aa11bb22cc33',
  transition: 'approved',
  from_status: 'human_review',
  to_status: 'approved',
  actor_id: 'U-REVIEWER',
  justification: 'scoped to the ticket queue only',
  occurred_at: '2025-01-01T00:05:00.000Z',
  ...overrides,
});

describe('audit event of a transition', () => {
  it('is a valid Audit Engine event named after the transition', () => {
    for (const name of ['created', 'approved', 'rejected', 'rolled_back'] as const) {
      const event = transitionAuditEvent(evolution, transition({ transition: name }));
      expect(AuditEventInput.safeParse(event).success).toBe(true);
      expect(event.event_type).toBe(`evolution_${name}`);
    }
  });

  it('is keyed by the transition so a re-send is stored once', () => {
    const first = transitionAuditEvent(evolution, transition({}));
    const again = transitionAuditEvent(evolution, transition({}));
    const other = transitionAuditEvent(evolution, transition({ id: '9e3c1d2b-0000-4000-8000-000000000001' }));
    expect(first.idempotency_key).toBe(again.idempotency_key);
    expect(first.idempotency_key).not.toBe(other.idempotency_key);
  });

  it('says who did what, from which status to which, and why', () => {
    const event = transitionAuditEvent(evolution, transition({}));
    expect(event).toMatchObject({ agent_id: 'agent-7', source: 'evolution-oversight', occurred_at: '2025-01-01T00:05:00.000Z' });
    expect(event.data).toMatchObject({
      evolution_id: evolution.id,
      from_status: 'human_review',
      to_status: 'approved',
      actor_id: 'U-REVIEWER',
      justification: 'scoped to the ticket queue only',
      risk_score: 0.7,
      constitutional_hash: CONSTITUTIONAL_HASH,
    });
  });

  it('marks rollbacks and rejections as warnings', () => {
    expect(transitionAuditEvent(evolution, transition({ transition: 'rolled_back', to_status: 'rolled_back' })).severity).toBe('warning');
    expect(transitionAuditEvent(evolution, transition({ transition: 'rejected', to_status: 'rejected' })).severity).toBe('warning');
    expect(transitionAuditEvent(evolution, transition({ transition: 'created', from_status: null, to_status: 'rejected' })).severity).toBe('warning');
    expect(transitionAuditEvent(evolution, transition({})).severity).toBe('info');
  });
});
