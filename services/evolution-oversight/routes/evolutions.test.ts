import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../../kit/constitution.js';
import type { Service } from '../../kit/service.js';
import type { Evolution, EvolutionWithHistory, ProposeEvolutionInput } from '../contract.js';
import { lowRiskProposal } from '../testing/fixtures.js';
import { setStrictMode } from '../../../test/testing/policy-engine.js';
import { startEvolutionTestbed, type EvolutionTestbed } from '../testing/testbed.js';
import { SERVICE_AUTH } from '../../../test/testing/tokens.js';

let app: Service;

let bed: EvolutionTestbed;

beforeAll(async () => {
  bed = await startEvolutionTestbed('acgs_eo_routes');
  app = bed.service.app;
});

afterAll(async () => {
  await bed?.close();
});

async function propose(overrides: Partial<ProposeEvolutionInput> = {}): Promise<Evolution> {
  const response = await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal(overrides), headers: SERVICE_AUTH });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Evolution>();
}

function act(id: string, action: 'approve' | 'reject' | 'rollback', actor = 'U-REVIEWER') {
  const payload = action === 'rollback' ? { requested_by: actor, reason: 'error rate doubled' } : { reviewer_id: actor, justification: 'checked the diff' };
  return app.inject({ method: 'POST', url: `/evolutions/${id}/${action}`, payload, headers: SERVICE_AUTH });
}

describe('proposing an evolution', () => {
  it('approves a low-risk change with a rollback plan automatically', async () => {
    const evolution = await propose();
    expect(evolution.status).toBe('auto_approved');
    expect(evolution.policy).toMatchObject({ allow: true, outcome: 'auto_approved', risk_score: 0 });
    expect(evolution.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
    expect(await bed.db.statusOf(evolution.id)).toBe('auto_approved');
  });

  it('sends a change with external dependencies through the fast track with its risk factors', async () => {
    const evolution = await propose({ external_dependencies: true, priority: 'medium' });
    expect(evolution.status).toBe('fast_track');
    expect(evolution.policy.risk_score).toBeCloseTo(0.25);
    expect(evolution.policy.risk_factors).toEqual(expect.arrayContaining(['external_dependencies', 'priority_medium']));
  });

  it('always asks for human review of a privilege escalation, however low the rest of the risk', async () => {
    const evolution = await propose({ privilege_escalation: true });
    expect(evolution.status).toBe('human_review');
    expect(evolution.policy.risk_factors).toContain('privilege_escalation');
  });

  it('counts a missing rollback plan as risk', async () => {
    const evolution = await propose({ rollback_plan: undefined, priority: 'medium' });
    expect(evolution.policy.risk_factors).toContain('no_rollback_plan');
    expect(evolution.status).toBe('fast_track');
    expect(evolution.rollback_plan).toBeNull();
  });

  it('stores a proposal the constitution denies as rejected, with the reasons and violations', async () => {
    const evolution = await propose({ trust_level: 0.5 });
    expect(evolution.status).toBe('rejected');
    expect(evolution.policy.allow).toBe(false);
    expect(evolution.policy.violations.map((violation) => violation.code)).toContain('trust_level_too_low');
    expect(evolution.policy.reasons.join(' ')).toMatch(/trust level 0\.5/);
    const { rows } = await bed.db.pool.query('SELECT policy_decision FROM evolutions WHERE id = $1', [evolution.id]);
    expect(rows[0].policy_decision).toMatchObject({ allow: false, safety_violation: true });
  });

  it('accepts the right constitutional hash in the body', async () => {
    const evolution = await propose({ constitutional_hash: CONSTITUTIONAL_HASH });
    expect(evolution.status).toBe('auto_approved');
  });

  it('fast-tracks a low-risk change in strict mode instead of denying it as an unknown action', async () => {
    await setStrictMode(bed.policyEngine, true);
    try {
      const evolution = await propose();
      expect(evolution.status).toBe('fast_track');
      expect(evolution.policy.risk_factors).toContain('strict_mode');
    } finally {
      await setStrictMode(bed.policyEngine, false);
    }
  });

  it('records the creation as the first transition, by the requester', async () => {
    const evolution = await propose({ privilege_escalation: true });
    const history = (await app.inject(`/evolutions/${evolution.id}`)).json<EvolutionWithHistory>().transitions;
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ transition: 'created', from_status: null, to_status: 'human_review', actor_id: 'U-REQUESTER' });
  });
});

describe('reviewing an evolution', () => {
  it('approves a proposal waiting for human review, recording reviewer and justification', async () => {
    const { id } = await propose({ privilege_escalation: true });
    const response = await act(id, 'approve');
    expect(response.statusCode).toBe(200);
    const approved = response.json<Evolution>();
    expect(approved.status).toBe('approved');
    expect(approved.review).toMatchObject({ decision: 'approved', reviewer_id: 'U-REVIEWER', justification: 'checked the diff' });
    expect(await bed.db.statusOf(id)).toBe('approved');
  });

  it('rejects a fast-tracked proposal', async () => {
    const { id } = await propose({ experimental_features: true });
    const response = await act(id, 'reject');
    expect(response.statusCode).toBe(200);
    expect(response.json<Evolution>()).toMatchObject({ status: 'rejected', review: { decision: 'rejected' } });
  });

  it('forbids the requester to review their own proposal and changes nothing', async () => {
    const { id } = await propose({ privilege_escalation: true });
    for (const action of ['approve', 'reject'] as const) {
      const response = await act(id, action, 'U-REQUESTER');
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe('FORBIDDEN');
      expect(response.json().error.message).toContain('U-REQUESTER');
    }
    expect(await bed.db.statusOf(id)).toBe('human_review');
    expect((await app.inject(`/evolutions/${id}`)).json<EvolutionWithHistory>().transitions).toHaveLength(1);
  });

  it('answers 409 with the current status when there is nothing to review', async () => {
    const auto = await propose();
    const response = await act(auto.id, 'approve');
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'CONFLICT', details: { status: 'auto_approved' } });
    expect(response.json().error.message).toContain('human_review or fast_track');

    const denied = await propose({ trust_level: 0.1 });
    expect((await act(denied.id, 'reject')).json().error.details).toEqual({ status: 'rejected' });
  });

  it('lets only the first of two reviews win', async () => {
    const { id } = await propose({ privilege_escalation: true });
    expect((await act(id, 'approve', 'U-FIRST')).statusCode).toBe(200);
    const second = await act(id, 'reject', 'U-SECOND');
    expect(second.statusCode).toBe(409);
    expect(second.json().error.details).toEqual({ status: 'approved' });
    const evolution = (await app.inject(`/evolutions/${id}`)).json<EvolutionWithHistory>();
    expect(evolution.review?.reviewer_id).toBe('U-FIRST');
    expect(evolution.transitions.map((t) => t.transition)).toEqual(['created', 'approved']);
  });

  it('answers 404 for an evolution that does not exist', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const action of ['approve', 'reject', 'rollback'] as const) {
      const response = await act(missing, action);
      expect(response.statusCode).toBe(404);
      expect(response.json().error.message).toContain(missing);
    }
    expect((await app.inject(`/evolutions/${missing}`)).statusCode).toBe(404);
  });
});

describe('rolling back an evolution', () => {
  it('rolls back an approved change and keeps its review', async () => {
    const { id } = await propose({ privilege_escalation: true });
    await act(id, 'approve');
    const response = await act(id, 'rollback', 'U-ONCALL');
    expect(response.statusCode).toBe(200);
    const rolledBack = response.json<Evolution>();
    expect(rolledBack).toMatchObject({
      status: 'rolled_back',
      rollback: { requested_by: 'U-ONCALL', reason: 'error rate doubled' },
      review: { decision: 'approved', reviewer_id: 'U-REVIEWER' },
    });
    const history = (await app.inject(`/evolutions/${id}`)).json<EvolutionWithHistory>().transitions;
    expect(history.map((t) => [t.transition, t.from_status, t.to_status])).toEqual([
      ['created', null, 'human_review'],
      ['approved', 'human_review', 'approved'],
      ['rolled_back', 'approved', 'rolled_back'],
    ]);
  });

  it('lets the requester roll back their own auto-approved change', async () => {
    const { id } = await propose();
    const response = await act(id, 'rollback', 'U-REQUESTER');
    expect(response.statusCode).toBe(200);
    expect(response.json<Evolution>().status).toBe('rolled_back');
  });

  it('answers 409 for a change that is not in effect, or already rolled back', async () => {
    const pending = await propose({ privilege_escalation: true });
    const notInEffect = await act(pending.id, 'rollback');
    expect(notInEffect.statusCode).toBe(409);
    expect(notInEffect.json().error.details).toEqual({ status: 'human_review' });

    const { id } = await propose();
    expect((await act(id, 'rollback')).statusCode).toBe(200);
    const twice = await act(id, 'rollback');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.details).toEqual({ status: 'rolled_back' });
  });
});

describe('reading evolutions', () => {
  it('returns one evolution with its transition history', async () => {
    const created = await propose({ external_dependencies: true });
    const response = await app.inject(`/evolutions/${created.id}`);
    expect(response.statusCode).toBe(200);
    const { transitions, ...evolution } = response.json<EvolutionWithHistory>();
    expect(evolution).toEqual(created);
    expect(transitions).toHaveLength(1);
  });

  it('lists newest first, filtered by status and agent, up to the limit', async () => {
    const agent = 'agent-list-1';
    const first = await propose({ agent_id: agent, privilege_escalation: true });
    const second = await propose({ agent_id: agent });
    const third = await propose({ agent_id: agent, privilege_escalation: true });

    const all = (await app.inject(`/evolutions?agent_id=${agent}`)).json();
    expect(all.evolutions.map((e: Evolution) => e.id)).toEqual([third.id, second.id, first.id]);
    expect(all).toMatchObject({ count: 3, limit: 50, constitutional_hash: CONSTITUTIONAL_HASH });

    const review = (await app.inject(`/evolutions?agent_id=${agent}&status=human_review`)).json();
    expect(review.evolutions.map((e: Evolution) => e.id)).toEqual([third.id, first.id]);

    const limited = (await app.inject(`/evolutions?agent_id=${agent}&limit=1`)).json();
    expect(limited.evolutions.map((e: Evolution) => e.id)).toEqual([third.id]);
  });

  it('lists every status across agents when unfiltered, never more than the limit', async () => {
    await propose({ agent_id: 'agent-list-2' });
    const { rows } = await bed.db.pool.query<{ count: string }>('SELECT count(*) FROM evolutions');
    const total = Number(rows[0]!.count);
    const response = (await app.inject('/evolutions?limit=500')).json();
    expect(response.count).toBe(total);
    const two = (await app.inject('/evolutions?limit=2')).json();
    expect(two.evolutions).toHaveLength(2);
  });
});

describe('audit trail', () => {
  it('sends an audit event for every transition to the Audit Engine', async () => {
    const { id } = await propose({ privilege_escalation: true });
    await act(id, 'approve');
    await act(id, 'rollback', 'U-ONCALL');
    const events = await bed.receiver.waitFor(3, (event) => event.data?.evolution_id === id);
    expect(events.map((event) => event.event_type)).toEqual(['evolution_created', 'evolution_approved', 'evolution_rolled_back']);
    expect(events[1]).toMatchObject({
      source: 'evolution-oversight',
      agent_id: 'agent-7',
      data: { from_status: 'human_review', to_status: 'approved', actor_id: 'U-REVIEWER', justification: 'checked the diff' },
    });
    const { rows } = await bed.db.pool.query('SELECT count(*)::int AS unrecorded FROM evolution_transitions WHERE evolution_id = $1 AND audit_recorded_at IS NULL', [id]);
    expect(rows[0].unrecorded).toBe(0);
  });

  it('audits a policy rejection as a created event with the reasons', async () => {
    const { id } = await propose({ trust_level: 0.3 });
    const [event] = await bed.receiver.waitFor(1, (e) => e.data?.evolution_id === id);
    expect(event).toMatchObject({ event_type: 'evolution_created', severity: 'warning', data: { to_status: 'rejected', policy_allow: false } });
    expect(JSON.stringify(event!.data)).toContain('trust level 0.3');
  });

  it('keeps audit events while the Audit Engine is down and delivers them when it is back', async () => {
    bed.receiver.accepting = false;
    let id: string;
    try {
      ({ id } = await propose({ privilege_escalation: true }));
      await act(id, 'reject');
      await expect(bed.service.app.transitionAudit.outbox.flush()).rejects.toThrow();
      expect(bed.service.app.transitionAudit.outbox.pending()).toBeGreaterThanOrEqual(2);
    } finally {
      bed.receiver.accepting = true;
    }
    await bed.service.app.transitionAudit.outbox.flush();
    const events = await bed.receiver.waitFor(2, (e) => e.data?.evolution_id === id);
    expect(events.map((e) => e.event_type)).toEqual(['evolution_created', 'evolution_rejected']);
  });
});

describe('health and metrics', () => {
  it('reports the pending reviews counted in the database, and healthy dependencies', async () => {
    await propose({ privilege_escalation: true });
    const { rows } = await bed.db.pool.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM evolutions WHERE status IN ('human_review', 'fast_track')",
    );
    const response = await app.inject('/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'healthy',
      service: 'evolution-oversight',
      pending_reviews: rows[0]!.count,
      database: { reachable: true },
      policy_engine: { reachable: true, url: bed.policyEngine.url },
    });
    expect(rows[0]!.count).toBeGreaterThan(0);
  });

  it('counts proposals by outcome and transitions in Prometheus metrics', async () => {
    const before = await app.inject('/metrics');
    const read = (body: string, series: string) => Number(body.match(new RegExp(`^${series} (\\d+)`, 'm'))?.[1] ?? 0);
    const humanReview = 'evolution_proposals_total{outcome="human_review",service="evolution-oversight"}';
    const approvedTransitions = 'evolution_transitions_total{transition="approved",service="evolution-oversight"}';
    const { id } = await propose({ privilege_escalation: true });
    await act(id, 'approve');
    const after = (await app.inject('/metrics')).body;
    expect(read(after, humanReview)).toBe(read(before.body, humanReview) + 1);
    expect(read(after, approvedTransitions)).toBe(read(before.body, approvedTransitions) + 1);
    expect(after).toMatch(/^evolution_pending_reviews\{service="evolution-oversight"\} \d+/m);
  });
});
