import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import type { Evolution } from './contract.js';
import { startAuditEngineStandIn, type AuditEngineStandIn } from '../../test/testing/audit-engine-stand-in.js';
import { startEvolutionApp, type RunningEvolutionApp } from './testing/evolution-app.js';
import { lowRiskProposal, openDatabase } from './testing/fixtures.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { startScriptedPolicyEngine, type ScriptedPolicyEngine } from '../../test/testing/policy-engine.js';
import { SERVICE_AUTH } from '../../test/testing/tokens.js';

type Script = 'human_review' | 'down' | 'allow_without_outcome' | 'not_a_decision';

const humanReviewDecision = {
  allow: true,
  compliance_score: 1,
  threshold: 0.95,
  reasons: ['evolution outcome: human_review (risk score 0.4)'],
  violations: [],
  safety_violation: false,
  mode: { strict: false, lockdown: false },
  constitutional_hash: CONSTITUTIONAL_HASH,
  evolution: { risk_score: 0.4, outcome: 'human_review', factors: ['privilege_escalation'] },
};

let database: TestDatabase | undefined;
let receiver: AuditEngineStandIn | undefined;
let scripted: ScriptedPolicyEngine | undefined;
let service: RunningEvolutionApp | undefined;
let db: ReturnType<typeof openDatabase> | undefined;
let script: Script = 'human_review';

beforeAll(async () => {
  database = await createTestDatabase('acgs_eo_dependencies');
  receiver = await startAuditEngineStandIn();
  scripted = await startScriptedPolicyEngine(() => {
    switch (script) {
      case 'human_review':
        return { status: 200, body: { result: humanReviewDecision } };
      case 'down':
        return { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error, reference x' } } };
      case 'allow_without_outcome': {
        const { evolution: _none, ...withoutEvolution } = humanReviewDecision;
        return { status: 200, body: { result: withoutEvolution } };
      }
      case 'not_a_decision':
        return { status: 200, body: { result: { allow: 'maybe' } } };
    }
  });
  service = await startEvolutionApp({ databaseUrl: database.url, policyEngineUrl: scripted.url, auditEngineUrl: receiver.url });
  db = openDatabase(database.url);
});

afterAll(async () => {
  await service?.close();
  await db?.close();
  await scripted?.close();
  await receiver?.close();
  await database?.drop();
});

async function expectNothingStoredAfter(send: () => Promise<{ statusCode: number; json(): any }>, message: RegExp, sender: RunningEvolutionApp = service!): Promise<void> {
  // What earlier requests audited is delivered first: the outbox sends on its own time, and an
  // event still on its way (a proposal made just before, under load) is not this request's.
  const flush = () => Promise.all([service!.app.transitionAudit.outbox.flush(), sender.app.transitionAudit.outbox.flush()]);
  await flush();
  const before = await db!.counts();
  const audited = receiver!.events.length;
  const response = await send();
  expect(response.statusCode).toBe(503);
  expect(response.json().error.code).toBe('DEPENDENCY_UNAVAILABLE');
  expect(response.json().error.message).toMatch(message);
  expect(await db!.counts()).toEqual(before);
  await flush();
  expect(receiver!.events.length).toBe(audited);
}

const proposeThrough = (app: RunningEvolutionApp) => () =>
  app.app.inject({ method: 'POST', url: '/evolutions', payload: lowRiskProposal({ privilege_escalation: true }), headers: SERVICE_AUTH });

describe('when the Policy Engine gives no usable decision', () => {
  it('answers 503 and stores nothing when the Policy Engine fails', async () => {
    script = 'down';
    await expectNothingStoredAfter(proposeThrough(service!), /Policy Engine is unavailable: .*nothing was stored/);
  });

  it('answers 503 and stores nothing when an allowed decision carries no evolution outcome', async () => {
    script = 'allow_without_outcome';
    await expectNothingStoredAfter(proposeThrough(service!), /no evolution outcome/);
  });

  it('answers 503 and stores nothing when the answer breaks the Policy Engine contract', async () => {
    script = 'not_a_decision';
    await expectNothingStoredAfter(proposeThrough(service!), /unexpected shape/);
  });

  it('counts these failures in the metrics', async () => {
    const body = (await service!.app.inject('/metrics')).body;
    expect(Number(body.match(/^evolution_policy_engine_failures_total\{[^}]*\} (\d+)/m)?.[1])).toBeGreaterThanOrEqual(3);
  });
});

describe('when the Policy Engine is unreachable', () => {
  let offline: RunningEvolutionApp | undefined;
  let waiting: Evolution;

  beforeAll(async () => {
    script = 'human_review';
    waiting = (await proposeThrough(service!)()).json();
    // A second instance on the same database, pointed at a port where nothing listens.
    offline = await startEvolutionApp({ databaseUrl: database!.url, policyEngineUrl: await unusedLoopbackUrl(), auditEngineUrl: receiver!.url });
  });
  afterAll(async () => {
    await offline?.close();
  });

  it('refuses new proposals with 503 naming the Policy Engine, and stores nothing', async () => {
    await expectNothingStoredAfter(proposeThrough(offline!), /Policy Engine is unavailable/, offline!);
  });

  it('reports itself degraded, with the pending reviews still counted', async () => {
    const response = await offline!.app.inject('/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'degraded',
      policy_engine: { reachable: false },
      database: { reachable: true },
      pending_reviews: expect.any(Number),
    });
    expect(response.json().pending_reviews).toBeGreaterThanOrEqual(1);
  });

  it('keeps reads and reviews working, since they do not need the policy', async () => {
    expect((await offline!.app.inject(`/evolutions/${waiting.id}`)).statusCode).toBe(200);
    expect((await offline!.app.inject('/evolutions?status=human_review')).json().count).toBeGreaterThanOrEqual(1);
    const approved = await offline!.app.inject({
      method: 'POST',
      url: `/evolutions/${waiting.id}/approve`,
      payload: { reviewer_id: 'U-REVIEWER', justification: 'reviewed during the policy outage' },
      headers: SERVICE_AUTH,
    });
    expect(approved.statusCode).toBe(200);
    expect(await db!.statusOf(waiting.id)).toBe('approved');
  });
});

describe('when PostgreSQL goes away while the service runs', () => {
  let doomed: TestDatabase | undefined;
  let stranded: RunningEvolutionApp | undefined;
  beforeAll(async () => {
    script = 'human_review';
    doomed = await createTestDatabase('acgs_eo_doomed');
    stranded = await startEvolutionApp({ databaseUrl: doomed.url, policyEngineUrl: scripted!.url, auditEngineUrl: receiver!.url });
    await doomed.drop();
  });
  afterAll(async () => {
    await stranded?.close();
    await doomed?.drop();
  });

  it('answers 503 naming PostgreSQL for proposals, reviews and reads', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    const responses = [
      await proposeThrough(stranded!)(),
      await stranded!.app.inject({ method: 'POST', url: `/evolutions/${id}/approve`, payload: { reviewer_id: 'U-R', justification: 'ok' }, headers: SERVICE_AUTH }),
      await stranded!.app.inject('/evolutions'),
    ];
    for (const response of responses) {
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', message: expect.stringMatching(/^PostgreSQL is unavailable/) });
    }
  });

  it('reports itself unhealthy with 503', async () => {
    const response = await stranded!.app.inject('/health');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'unhealthy', database: { reachable: false }, pending_reviews: null });
  });
});

describe('when PostgreSQL is unreachable', () => {
  it('refuses to start, naming the database without its password', async () => {
    const unused = new URL(await unusedLoopbackUrl());
    const databaseUrl = `postgres://postgres:hunter2@127.0.0.1:${unused.port}/acgs_evolution`;
    const attempt = startEvolutionApp({ databaseUrl, policyEngineUrl: scripted!.url, auditEngineUrl: receiver!.url });
    await expect(attempt).rejects.toThrow(/PostgreSQL is not reachable at 127\.0\.0\.1:\d+ \(DATABASE_URL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/acgs_evolution\)/);
    await expect(attempt).rejects.toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });
});
