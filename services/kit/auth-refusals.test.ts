import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken } from '../../test/testing/tokens.js';
import type { AuditEventInput } from '../audit-engine/contract.js';
import { type AuditTestContext, createAuditTestContext } from '../audit-engine/testing/audit-test-context.js';
import { requireDockerEngine } from '../../test/testing/docker.js';
import { createTestDatabase } from '../../test/testing/postgres.js';
import { startController } from '../sandbox-controller/testing/controller-fixture.js';
import { startEvolutionApp } from '../evolution-oversight/testing/evolution-app.js';
import { buildApp as buildPolicyEngine } from '../policy-engine/app.js';
import { eventually, tempDir, testConfig } from '../policy-engine/testing/policy-fixtures.js';
import { AUTH_REFUSED_EVENT, createAuthRefusals } from './auth-refusals.js';
import type { Service } from './service.js';

function tallyWithSink(windowMs = 60_000) {
  const registry = new Registry();
  const events: AuditEventInput[] = [];
  const warnings: object[] = [];
  const errors: object[] = [];
  const log = { warn: (obj: object) => warnings.push(obj), error: (obj: object) => errors.push(obj) };
  const tally = createAuthRefusals({ service: 'test-service', registry, windowMs, log });
  tally.deliverTo((event) => void events.push(event));
  return { registry, tally, events, warnings, errors };
}

async function refusalsOnMetrics(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('service_auth_refusals_total')!.get();
  return Object.fromEntries(metric.values.map((one) => [`${one.labels.token} ${one.labels.route}`, one.value]));
}

describe('the services’ refused tokens, counted', () => {
  it('turns a flood into one event and one log line per token and route, the counter still exact', async () => {
    const { registry, tally, events, warnings } = tallyWithSink();
    for (let i = 0; i < 10_000; i++) tally.refused('service', '/audit/events');
    tally.refused('admin', '/admin/reanchor');
    expect(events).toHaveLength(0);
    await tally.flush();
    expect(events.map((event) => [event.event_type, event.source, event.data])).toEqual([
      [AUTH_REFUSED_EVENT, 'test-service', { service: 'test-service', token: 'service', route: '/audit/events', count: 10_000, window_seconds: 60 }],
      [AUTH_REFUSED_EVENT, 'test-service', { service: 'test-service', token: 'admin', route: '/admin/reanchor', count: 1, window_seconds: 60 }],
    ]);
    expect(warnings).toHaveLength(2);
    expect(await refusalsOnMetrics(registry)).toEqual({ 'service /audit/events': 10_000, 'admin /admin/reanchor': 1 });
    // Two windows are two events, with keys of their own, so the Audit Engine keeps both.
    tally.refused('service', '/audit/events');
    await tally.flush();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((event) => event.idempotency_key)).size).toBe(3);
    await tally.close();
  });

  it('hands a window over by itself when it ends', async () => {
    const { tally, events } = tallyWithSink(20);
    tally.refused('admin', '/admin/clear-cache');
    tally.refused('admin', '/admin/clear-cache');
    await eventually(() => expect(events.map((event) => event.data?.count)).toEqual([2]));
    await tally.close();
  });

  it('closes only once a hand-over its window timer started has been written, and hands nothing over after close', async () => {
    const { registry, tally, events } = tallyWithSink(20);
    let release!: () => void;
    const writing = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    tally.deliverTo(async (event) => {
      started = true;
      await writing;
      events.push(event);
    });
    tally.refused('admin', '/admin/clear-cache');
    await eventually(() => expect(started).toBe(true));
    let closed = false;
    const closing = tally.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(events.map((event) => event.data?.count)).toEqual([1]);
    tally.refused('admin', '/admin/clear-cache');
    await new Promise((resolve) => setTimeout(resolve, 60));
    await tally.flush();
    expect(events).toHaveLength(1);
    expect(await refusalsOnMetrics(registry)).toEqual({ 'admin /admin/clear-cache': 2 });
  });

  it('keeps counting when the sink refuses, and says what the trail lacks', async () => {
    const { registry, tally, errors, warnings } = tallyWithSink();
    tally.deliverTo(() => {
      throw new Error('spool disk full');
    });
    tally.refused('service', '/v1/execute');
    await tally.flush();
    expect(errors).toEqual([expect.objectContaining({ token: 'service', route: '/v1/execute', count: 1 })]);
    expect(warnings).toHaveLength(1);
    expect(await refusalsOnMetrics(registry)).toEqual({ 'service /v1/execute': 1 });
  });
});

describe('refused tokens of the real services reach the Audit Engine', () => {
  let audit: AuditTestContext;
  let engine: Service;
  let state: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    audit = await createAuditTestContext();
  });
  afterAll(async () => {
    await audit?.close();
    state?.remove();
  });

  it('counts the Policy Engine’s refused admin token into the trail, and the Audit Engine’s refused service token on /metrics, never in its own chain', async () => {
    const auditEngine = await audit.start();
    const auditUrl = await auditEngine.listen({ host: '127.0.0.1', port: 0 });
    state = tempDir('acgs-auth-refusals');
    engine = await buildPolicyEngine(testConfig({ ACGS_STATE_DIR: state.path, ACGS_ADMIN_TOKEN: testToken(), AUDIT_ENGINE_URL: auditUrl }));
    try {
      for (let i = 0; i < 30; i++) {
        const refused = await engine.inject({ method: 'POST', url: '/admin/clear-cache', headers: { authorization: `Bearer ${testToken()}` } });
        expect(refused.statusCode).toBe(401);
      }
      for (let i = 0; i < 12; i++) {
        const refused = await fetch(`${auditUrl}/audit/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event_type":"forged"}' });
        expect(refused.status).toBe(401);
      }
      expect(await (await engine.inject('/metrics')).body).toContain('service_auth_refusals_total{token="admin",route="/admin/clear-cache",service="policy-engine"} 30');
      expect(await (await fetch(`${auditUrl}/metrics`)).text()).toContain('service_auth_refusals_total{token="service",route="/audit/events",service="audit-engine"} 12');
      // Closing hands the last window over: the Policy Engine's through its outbox. The Audit Engine's
      // stays on /metrics and in its log: a stranger's request must not move its chain.
      await engine.close();
      await auditEngine.authRefusals.flush();
      const stored = await audit.sql.query<{ source: string; data: Record<string, unknown> }>(
        "SELECT source, data FROM audit_events WHERE event_type = 'auth_refused' ORDER BY source",
      );
      expect(stored.rows.map((row) => [row.source, row.data.token, row.data.route, row.data.count])).toEqual([
        ['policy-engine', 'admin', '/admin/clear-cache', 30],
      ]);
    } finally {
      await engine.close();
    }
  });

  it('counts Evolution Oversight’s refused service token on a route with a parameter, by its pattern', async () => {
    const auditEngine = await audit.start();
    const auditUrl = await auditEngine.listen({ host: '127.0.0.1', port: 0 });
    const database = await createTestDatabase('acgs_eo_refusals');
    const oversight = await startEvolutionApp({ databaseUrl: database.url, policyEngineUrl: 'http://127.0.0.1:1', auditEngineUrl: auditUrl });
    try {
      for (const id of ['a', 'b', 'c']) {
        const refused = await oversight.app.inject({ method: 'POST', url: `/evolutions/${id}/approve`, payload: {}, headers: { 'x-service-token': testToken() } });
        expect(refused.statusCode).toBe(401);
      }
      expect((await oversight.app.inject('/metrics')).body).toContain('service_auth_refusals_total{token="service",route="/evolutions/:id/approve",service="evolution-oversight"} 3');
      await oversight.close();
      const stored = await audit.sql.query<{ data: Record<string, unknown> }>("SELECT data FROM audit_events WHERE event_type = 'auth_refused' AND source = 'evolution-oversight'");
      expect(stored.rows.map((row) => [row.data.route, row.data.count])).toEqual([['/evolutions/:id/approve', 3]]);
    } finally {
      await oversight.close();
      await database.drop();
    }
  });

  it('counts the Sandbox Controller’s refused admin and service tokens, before Docker is asked anything', async () => {
    const auditEngine = await audit.start();
    const auditUrl = await auditEngine.listen({ host: '127.0.0.1', port: 0 });
    const controller = await startController(await requireDockerEngine(), { auditEngineUrl: auditUrl });
    try {
      expect((await controller.app.inject({ method: 'GET', url: '/admin/resource-usage' })).statusCode).toBe(401);
      expect((await controller.app.inject({ method: 'POST', url: '/sandbox/execute', payload: {}, headers: { authorization: `Bearer ${testToken()}` } })).statusCode).toBe(401);
      expect((await controller.app.inject({ method: 'POST', url: '/sandbox/execute', payload: {} })).statusCode).toBe(401);
      await controller.close();
      const stored = await audit.sql.query<{ data: Record<string, unknown> }>(
        "SELECT data FROM audit_events WHERE event_type = 'auth_refused' AND source = 'sandbox-controller' ORDER BY data->>'token'",
      );
      expect(stored.rows.map((row) => [row.data.token, row.data.route, row.data.count])).toEqual([
        ['admin', '/admin/resource-usage', 1],
        ['service', '/sandbox/execute', 2],
      ]);
    } finally {
      await controller.close();
    }
  });
});
