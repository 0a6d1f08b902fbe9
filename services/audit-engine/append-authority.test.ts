import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditEngineClient, type AuditEngineClient } from '../clients/audit-engine.js';
import type { Service } from '../kit/service.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../test/testing/tokens.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';

let ctx: AuditTestContext;
let app: Service;
let client: AuditEngineClient;
let baseUrl: string;

beforeAll(async () => {
  ctx = await createAuditTestContext();
  app = await ctx.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = createAuditEngineClient(baseUrl, { serviceToken: TEST_SERVICE_TOKEN });
});
afterAll(() => ctx?.close());

async function eventsWithKey(key: string): Promise<number> {
  const result = await ctx.sql.query<{ count: string }>('SELECT count(*) FROM audit_events WHERE idempotency_key = $1', [key]);
  return Number(result.rows[0]!.count);
}

describe('who may append to the Audit Engine', () => {
  it('refuses an append without the service token, with a wrong one, or as the admin token, storing nothing', async () => {
    const before = await ctx.countEvents();
    const attempts = {
      none: {},
      wrong: { authorization: `Bearer ${testToken()}` },
      'wrong alternative header': { 'x-service-token': testToken() },
      'not a bearer': { authorization: TEST_SERVICE_TOKEN },
    };
    for (const [name, headers] of Object.entries(attempts)) {
      const response = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'forged.record', idempotency_key: `forged-${name}` }, headers });
      expect(response.statusCode, name).toBe(401);
      expect(response.json().error.code, name).toBe('SERVICE_UNAUTHORIZED');
      expect(response.json().error.message, name).toContain('Bearer <ACGS_SERVICE_TOKEN>');
    }
    expect(await ctx.countEvents()).toBe(before);
  });

  it('says that no token was sent, or that the one sent is not the stack’s, without repeating it', async () => {
    const wrong = testToken();
    const none = (await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'x' } })).json().error.message;
    const bad = (await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'x' }, headers: { authorization: `Bearer ${wrong}` } })).json().error.message;
    expect(none).toContain('the request carried none');
    expect(bad).toContain("not this stack's service token");
    expect(bad).not.toContain(wrong);
  });

  it('checks the token before the body: an unauthenticated request with a broken body is 401, not 400', async () => {
    const response = await app.inject({ method: 'POST', url: '/audit/events', payload: '{"event_type":', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(401);
  });

  it('accepts the service token as a bearer token or in X-Service-Token', async () => {
    const bearer = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'with.bearer' }, headers: SERVICE_AUTH });
    const header = await app.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'with.header' }, headers: { 'x-service-token': TEST_SERVICE_TOKEN } });
    expect([bearer.statusCode, header.statusCode]).toEqual([201, 201]);
  });

  it('keeps its write endpoint closed when it has no service token of its own', async () => {
    const closed = await ctx.start({ serviceToken: undefined });
    const response = await closed.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'x' }, headers: SERVICE_AUTH });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.message).toContain('has no ACGS_SERVICE_TOKEN set');
  });

  it('keeps reads open to anyone, as OPA keeps its Data API', async () => {
    for (const path of ['/audit/events?limit=1', '/audit/verify', '/health']) {
      expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(200);
    }
  });

  it('refuses the client without a token with SERVICE_UNAUTHORIZED', async () => {
    const anonymous = createAuditEngineClient(baseUrl);
    await expect(anonymous.postEvents({ event_type: 'anonymous' })).rejects.toMatchObject({ status: 401, code: 'SERVICE_UNAUTHORIZED' });
  });
});

describe('a resent idempotency_key', () => {
  it('answers the stored event when the content is the same, also without occurred_at', async () => {
    const event = { event_type: 'governance.vote', source: 'acgs-chatops', agent_id: 'U1', data: { b: 2, a: [1, { c: 'x' }] }, idempotency_key: 'same-content' };
    const first = await client.postEvents(event);
    // Keys in another order are the same content: jsonb gives them back in its own order anyway.
    const again = await client.postEvents({ ...event, data: { a: [1, { c: 'x' }], b: 2 } });
    expect(again).toMatchObject({ appended: 0, replayed: 1 });
    expect(again.events[0]!.id).toBe(first.events[0]!.id);
  });

  it('refuses with 409 a resend whose content differs, naming the key and the fields, and keeps the event stored first', async () => {
    const occurred = '2026-12-06T10:00:00.000Z';
    const original = { event_type: 'chatops.break_glass', source: 'acgs-chatops', severity: 'critical' as const, occurred_at: occurred, data: { actor: 'U-ADMIN' }, idempotency_key: 'bot-record-7' };
    const stored = await client.postEvents(original);
    const variants = [
      { ...original, data: { actor: 'U-SOMEONE-ELSE' } },
      { ...original, event_type: 'chatops.noop' },
      { ...original, severity: 'info' as const },
      { ...original, occurred_at: '2026-12-06T10:00:01.000Z' },
      { ...original, source: undefined },
    ];
    for (const variant of variants) {
      const refused = await client.postEvents(variant).catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 409, code: 'CONFLICT' });
      expect((refused as Error).message).toContain('"bot-record-7" is already stored as event');
      expect((refused as { details: { differing: string[] } }).details.differing.length).toBe(1);
    }
    expect(await eventsWithKey('bot-record-7')).toBe(1);
    expect(await client.getEvent(stored.events[0]!.id)).toEqual(stored.events[0]);
  });

  it('stores nothing of a batch whose resent key conflicts, while other requests committed with it are stored', async () => {
    await client.postEvents({ event_type: 'first.claim', idempotency_key: 'claimed-key' });
    const before = await ctx.countEvents();
    const requests = [
      client.postEvents([{ event_type: 'in.bad.batch', idempotency_key: 'fresh-in-bad-batch' }, { event_type: 'second.claim', idempotency_key: 'claimed-key' }]),
      ...Array.from({ length: 5 }, (_, i) => client.postEvents({ event_type: 'bystander', data: { i } })),
    ];
    const outcomes = await Promise.allSettled(requests);
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { status: 409, code: 'CONFLICT' } });
    expect(outcomes.slice(1).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(await ctx.countEvents()).toBe(before + 5);
    expect(await eventsWithKey('fresh-in-bad-batch')).toBe(0);
    expect((await client.verify()).valid).toBe(true);
  });

  it('refuses two different events under one key within one batch', async () => {
    const refused = await client
      .postEvents([
        { event_type: 'twin', idempotency_key: 'twins', data: { n: 1 } },
        { event_type: 'twin', idempotency_key: 'twins', data: { n: 2 } },
      ])
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(await eventsWithKey('twins')).toBe(0);
  });
});
