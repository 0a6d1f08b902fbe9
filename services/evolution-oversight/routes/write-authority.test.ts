import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../kit/service.js';
import type { Evolution } from '../contract.js';
import { lowRiskProposal } from '../testing/fixtures.js';
import { startEvolutionApp } from '../testing/evolution-app.js';
import { startEvolutionTestbed, type EvolutionTestbed } from '../testing/testbed.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';

let app: Service;
let bed: EvolutionTestbed;

beforeAll(async () => {
  bed = await startEvolutionTestbed('acgs_eo_write_authority');
  app = bed.service.app;
});

afterAll(async () => {
  await bed?.close();
});

async function propose(overrides: Parameters<typeof lowRiskProposal>[0] = {}): Promise<Evolution> {
  const response = await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal(overrides), headers: SERVICE_AUTH });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Evolution>();
}

/** Every way of calling without the stack's service token: none, a wrong one, the wrong scheme. */
const FORGED: Record<string, Record<string, string>> = {
  'no token': {},
  'a wrong token': { authorization: `Bearer ${testToken()}` },
  'a wrong X-Service-Token': { 'x-service-token': testToken() },
  'the token without Bearer': { authorization: TEST_SERVICE_TOKEN },
};

describe('who may propose, review and roll back evolutions', () => {
  it('refuses an approval, a rejection and a rollback in anyone’s name without the service token, and changes nothing', async () => {
    const waiting = await propose({ privilege_escalation: true });
    const inEffect = await propose();
    const before = await bed.db.counts();
    for (const [name, headers] of Object.entries(FORGED)) {
      const attempts = [
        app.inject({ method: 'POST', url: `/evolutions/${waiting.id}/approve`, payload: { reviewer_id: 'U-APPROVER', justification: 'forged' }, headers }),
        app.inject({ method: 'POST', url: `/evolutions/${waiting.id}/reject`, payload: { reviewer_id: 'U-APPROVER', justification: 'forged' }, headers }),
        app.inject({ method: 'POST', url: `/evolutions/${inEffect.id}/rollback`, payload: { requested_by: 'U-ONCALL', reason: 'forged' }, headers }),
      ];
      for (const response of await Promise.all(attempts)) {
        expect(response.statusCode, name).toBe(401);
        expect(response.json().error, name).toMatchObject({ code: 'SERVICE_UNAUTHORIZED' });
        expect(response.json().error.message, name).toContain('Bearer <ACGS_SERVICE_TOKEN>');
      }
    }
    expect(await bed.db.statusOf(waiting.id)).toBe('human_review');
    expect(await bed.db.statusOf(inEffect.id)).toBe('auto_approved');
    expect(await bed.db.counts()).toEqual(before);
  });

  it('refuses a proposal without the service token, storing nothing and asking no policy', async () => {
    const before = await bed.db.counts();
    for (const [name, headers] of Object.entries(FORGED)) {
      const response = await app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal({ agent_id: 'agent-forged' }), headers });
      expect(response.statusCode, name).toBe(401);
    }
    expect(await bed.db.counts()).toEqual(before);
  });

  it('checks the token before the body, so an unauthenticated caller learns nothing from validation', async () => {
    const response = await app.inject({ method: 'POST', url: '/evolutions', payload: '{"agent_id":', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(401);
  });

  it('records the reviewer the token holder vouches for', async () => {
    const waiting = await propose({ privilege_escalation: true });
    const approved = await app.inject({
      method: 'POST',
      url: `/evolutions/${waiting.id}/approve`,
      payload: { reviewer_id: 'U-CHECKED-BY-THE-BOT', justification: 'approved in Slack' },
      headers: { 'x-service-token': TEST_SERVICE_TOKEN },
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().review).toMatchObject({ reviewer_id: 'U-CHECKED-BY-THE-BOT' });
  });

  it('keeps reads open without a token', async () => {
    const evolution = await propose();
    expect((await app.inject(`/evolutions/${evolution.id}`)).statusCode).toBe(200);
    expect((await app.inject('/evolutions?limit=1')).statusCode).toBe(200);
    expect((await app.inject('/health')).statusCode).toBe(200);
  });

  it('keeps its write endpoints closed when it has no service token of its own', async () => {
    const closed = await startEvolutionApp({
      databaseUrl: bed.database.url,
      policyEngineUrl: bed.policyEngine.url,
      auditEngineUrl: bed.receiver.url,
      serviceToken: '',
    });
    try {
      const response = await closed.app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal(), headers: SERVICE_AUTH });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.message).toContain('has no ACGS_SERVICE_TOKEN set');
    } finally {
      await closed.close();
    }
  });

  it('sends its own audit events with the service token, which the Audit Engine requires', async () => {
    const evolution = await propose({ agent_id: 'agent-audited' });
    const events = await bed.receiver.waitFor(1, (event) => event.agent_id === 'agent-audited');
    expect(events[0]).toMatchObject({ agent_id: 'agent-audited', data: expect.objectContaining({ evolution_id: evolution.id }) });
  });
});
