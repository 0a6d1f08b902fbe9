import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceCallError } from '../clients/http.js';
import { createEvolutionOversightClient, type EvolutionOversightClient } from '../clients/evolution-oversight.js';
import { startAuditEngineStandIn } from '../../test/testing/audit-engine-stand-in.js';
import { startEvolutionApp } from './testing/evolution-app.js';
import { lowRiskProposal } from './testing/fixtures.js';
import { startEvolutionTestbed, type EvolutionTestbed } from './testing/testbed.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN } from '../../test/testing/tokens.js';

let client: EvolutionOversightClient;

let bed: EvolutionTestbed;

beforeAll(async () => {
  bed = await startEvolutionTestbed('acgs_eo_integration');
  const url = await bed.service.app.listen({ host: '127.0.0.1', port: 0 });
  client = createEvolutionOversightClient(url, 10_000, { serviceToken: TEST_SERVICE_TOKEN });
});

afterAll(async () => {
  await bed?.close();
});

async function callError(call: Promise<unknown>): Promise<ServiceCallError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ServiceCallError);
  return error as ServiceCallError;
}

describe('evolution oversight over HTTP with the typed client', () => {
  it('carries a proposal through review and rollback', async () => {
    const proposed = await client.propose(lowRiskProposal({ agent_id: 'agent-http', privilege_escalation: true, priority: 'high' }));
    expect(proposed.status).toBe('human_review');

    const waiting = await client.list({ status: 'human_review', agent_id: 'agent-http' });
    expect(waiting.evolutions.map((e) => e.id)).toEqual([proposed.id]);

    const approved = await client.approve(proposed.id, { reviewer_id: 'U-REVIEWER', justification: 'scope checked' });
    expect(approved.status).toBe('approved');

    const rolledBack = await client.rollback(proposed.id, { requested_by: 'U-ONCALL', reason: 'latency regression' });
    expect(rolledBack.status).toBe('rolled_back');

    const history = await client.get(proposed.id);
    expect(history.transitions.map((t) => t.transition)).toEqual(['created', 'approved', 'rolled_back']);
    const events = await bed.receiver.waitFor(3, (e) => e.data?.evolution_id === proposed.id);
    expect(events.map((e) => e.event_type)).toEqual(['evolution_created', 'evolution_approved', 'evolution_rolled_back']);
  });

  it('surfaces the service error codes through the client', async () => {
    const mine = await client.propose(lowRiskProposal({ privilege_escalation: true }));
    const forbidden = await callError(client.approve(mine.id, { reviewer_id: 'U-REQUESTER', justification: 'looks fine to me' }));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'FORBIDDEN']);

    const auto = await client.propose(lowRiskProposal());
    const conflict = await callError(client.reject(auto.id, { reviewer_id: 'U-REVIEWER', justification: 'too late' }));
    expect([conflict.status, conflict.code, conflict.details]).toEqual([409, 'CONFLICT', { status: 'auto_approved' }]);

    const missing = await callError(client.get('00000000-0000-4000-8000-00000000abcd'));
    expect([missing.status, missing.code]).toEqual([404, 'NOT_FOUND']);

    const invalid = await callError(client.list({ limit: 501 }));
    expect([invalid.status, invalid.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('lets exactly one of 20 concurrent approvals win', async () => {
    const { id } = await client.propose(lowRiskProposal({ privilege_escalation: true }));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) => client.approve(id, { reviewer_id: `U-REVIEWER-${index}`, justification: 'approve' })),
    );
    const winners = results.filter((result) => result.status === 'fulfilled');
    const losers = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as ServiceCallError] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    expect(new Set(losers.map((error) => `${error.status} ${error.code}`))).toEqual(new Set(['409 CONFLICT']));

    const { rows } = await bed.db.pool.query<{ transition: string; actor_id: string }>(
      'SELECT transition, actor_id FROM evolution_transitions WHERE evolution_id = $1 ORDER BY seq',
      [id],
    );
    expect(rows.map((row) => row.transition)).toEqual(['created', 'approved']);
    const winner = (winners[0] as PromiseFulfilledResult<{ review: { reviewer_id: string } | null }>).value;
    expect(rows[1]!.actor_id).toBe(winner.review?.reviewer_id);
    await bed.service.app.transitionAudit.outbox.flush();
    expect(bed.receiver.events.filter((e) => e.data?.evolution_id === id && e.event_type === 'evolution_approved')).toHaveLength(1);
  });

  it('lets exactly one of concurrent approvals and rejections win', async () => {
    const { id } = await client.propose(lowRiskProposal({ external_dependencies: true, priority: 'medium' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) => {
        const review = { reviewer_id: `U-R-${index}`, justification: 'race' };
        return index % 2 === 0 ? client.approve(id, review) : client.reject(id, review);
      }),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const final = await client.get(id);
    expect(final.transitions).toHaveLength(2);
    expect(final.status).toBe(final.transitions[1]!.to_status);
  });

  it('reports health with pending reviews through the client', async () => {
    const health = await client.health();
    const { rows } = await bed.db.pool.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM evolutions WHERE status IN ('human_review', 'fast_track')",
    );
    expect(health).toMatchObject({ status: 'healthy', service: 'evolution-oversight', pending_reviews: rows[0]!.count });
  });
});

describe('audit events across a restart', () => {
  it('re-sends the events of transitions a crash left between commit and outbox', async () => {
    const { id } = await client.propose(lowRiskProposal({ privilege_escalation: true }));
    await client.approve(id, { reviewer_id: 'U-REVIEWER', justification: 'fine' });
    await bed.service.app.transitionAudit.outbox.flush();
    // As if the process had died after committing and before spooling the audit events.
    await bed.db.pool.query('UPDATE evolution_transitions SET audit_recorded_at = NULL WHERE evolution_id = $1', [id]);

    const freshReceiver = await startAuditEngineStandIn();
    const restarted = await startEvolutionApp({
      databaseUrl: bed.database.url,
      policyEngineUrl: bed.policyEngine.url,
      auditEngineUrl: freshReceiver.url,
    });
    try {
      const events = await freshReceiver.waitFor(2, (e) => e.data?.evolution_id === id);
      expect(events.map((e) => e.event_type)).toEqual(['evolution_created', 'evolution_approved']);
      // Same keys as the first delivery, so the Audit Engine keeps one copy of each.
      const firstKeys = bed.receiver.events.filter((e) => e.data?.evolution_id === id).map((e) => e.idempotency_key);
      expect(events.map((e) => e.idempotency_key)).toEqual(firstKeys);
      const { rows } = await bed.db.pool.query('SELECT count(*)::int AS n FROM evolution_transitions WHERE audit_recorded_at IS NULL');
      expect(rows[0].n).toBe(0);
    } finally {
      await restarted.close();
      await freshReceiver.close();
    }
  });

  it('delivers events spooled while the Audit Engine was down after a restart', async () => {
    bed.receiver.accepting = false;
    let id: string;
    const spooling = await startEvolutionApp({ databaseUrl: bed.database.url, policyEngineUrl: bed.policyEngine.url, auditEngineUrl: bed.receiver.url });
    try {
      const proposed = await spooling.app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal({ agent_id: 'agent-spool' }), headers: SERVICE_AUTH });
      id = proposed.json().id;
      await spooling.app.close();
    } finally {
      bed.receiver.accepting = true;
    }
    const resumed = await startEvolutionApp({
      databaseUrl: bed.database.url,
      policyEngineUrl: bed.policyEngine.url,
      auditEngineUrl: bed.receiver.url,
      spoolDir: spooling.spoolDir,
    });
    try {
      const [event] = await bed.receiver.waitFor(1, (e) => e.data?.evolution_id === id);
      expect(event?.event_type).toBe('evolution_created');
    } finally {
      await resumed.close();
      await spooling.close().catch(() => undefined);
    }
  });
});
