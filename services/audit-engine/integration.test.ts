import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEngineClient, createAuditEngineClient } from '../clients/audit-engine.js';
import { ServiceCallError } from '../clients/http.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { TEST_SERVICE_TOKEN } from '../../test/testing/tokens.js';

let ctx: AuditTestContext;
let client: AuditEngineClient;
let baseUrl: string;

beforeAll(async () => {
  ctx = await createAuditTestContext();
  const app = await ctx.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = createAuditEngineClient(baseUrl, { serviceToken: TEST_SERVICE_TOKEN });
});
afterAll(() => ctx?.close());

describe('the Audit Engine on loopback through its typed client', () => {
  it('appends one event and a batch, and reads them back by id and by filter', async () => {
    const one = await client.postEvents({ event_type: 'safety_violation', source: 'policy-engine', agent_id: 'agent-9', severity: 'critical' });
    expect(one).toMatchObject({ appended: 1, replayed: 0 });
    const batch = await client.postEvents([
      { event_type: 'evolution.approved', agent_id: 'agent-9', data: { version: '1.2.0' } },
      { event_type: 'sandbox.executed', agent_id: 'agent-3' },
    ]);
    expect(batch.events.map((event) => event.sequence)).toEqual([2, 3]);

    const fetched = await client.getEvent(one.events[0]!.id);
    expect(fetched).toEqual(one.events[0]);

    const violations = await client.listEvents({ event_type: 'safety_violation', limit: 10 });
    expect(violations.events.map((event) => event.id)).toEqual([one.events[0]!.id]);
    const forAgent = await client.listEvents({ agent_id: 'agent-9' });
    expect(forAgent.events.map((event) => event.event_type)).toEqual(['evolution.approved', 'safety_violation']);
  });

  it('pages with the cursor the server hands out', async () => {
    await client.postEvents(Array.from({ length: 5 }, (_, i) => ({ event_type: 'paged', data: { i } })));
    const first = await client.listEvents({ event_type: 'paged', limit: 3 });
    const second = await client.listEvents({ event_type: 'paged', limit: 3, cursor: first.next_cursor! });
    expect([...first.events, ...second.events].map((event) => event.data?.i)).toEqual([4, 3, 2, 1, 0]);
    expect(second.next_cursor).toBeNull();
  });

  it('replays an idempotent retry instead of storing it twice', async () => {
    const first = await client.postEvents({ event_type: 'delivery', idempotency_key: 'outbox-42' });
    const retry = await client.postEvents({ event_type: 'delivery', idempotency_key: 'outbox-42' });
    expect(retry).toMatchObject({ appended: 0, replayed: 1 });
    expect(retry.events[0]!.id).toBe(first.events[0]!.id);
  });

  it('verifies the chain and reports it in health', async () => {
    const result = await client.verify();
    expect(result).toMatchObject({ valid: true, events_checked: await ctx.countEvents() });
    const health = await client.health();
    expect(health).toMatchObject({
      status: 'healthy',
      constitutional_hash: CONSTITUTIONAL_HASH,
      chain_head: result.head,
      integrity: { valid: true, events_checked: result.events_checked, checked_at: result.checked_at },
    });
  });

  it('carries the constitutional hash header on every answer', async () => {
    for (const path of ['/health', '/audit/events', '/audit/verify', '/audit/events/nope']) {
      const response = await fetch(`${baseUrl}${path}`);
      expect(response.headers.get('x-constitutional-hash'), path).toBe(CONSTITUTIONAL_HASH);
    }
  });

  it('surfaces refusals as ServiceCallErrors with the service’s code and message', async () => {
    const before = await ctx.countEvents();
    const invalid = await client.postEvents({ event_type: 'BAD SLUG' }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ServiceCallError);
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect((invalid as Error).message).toContain('event_type');

    const tooMany = await client.listEvents({ limit: 1001 }).catch((error: unknown) => error);
    expect(tooMany).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });

    const missing = await client.getEvent('3f2504e0-4f89-41d3-9a0c-0305e82c3301').catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await ctx.countEvents()).toBe(before);
  });

  it('answers Prometheus metrics with the audit counters', async () => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(text).toMatch(/audit_events_appended_total\{service="audit-engine"\} \d+/);
    expect(text).toContain('audit_append_batch_size_bucket');
    expect(text).toContain('audit_append_duration_seconds_bucket');
    expect(text).toMatch(/audit_verify_runs_total\{result="valid",service="audit-engine"\} [1-9]/);
  });

  it('reports an unreachable engine as UNREACHABLE rather than hanging', async () => {
    const offline = createAuditEngineClient('http://127.0.0.1:1', { timeoutMs: 2000 });
    await expect(offline.health()).rejects.toMatchObject({ code: 'UNREACHABLE' });
    await expect(offline.postEvents({ event_type: 'x' })).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});
