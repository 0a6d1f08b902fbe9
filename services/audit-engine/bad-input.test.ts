import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import type { Service } from '../kit/service.js';
import { encodeCursor } from './list-query.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { SERVICE_AUTH } from '../../test/testing/tokens.js';

let ctx: AuditTestContext;
let app: Service;
let stored: number;

beforeAll(async () => {
  ctx = await createAuditTestContext();
  app = await ctx.start({ bodyLimitBytes: 256 * 1024 });
  const seed = await app.inject({
    method: 'POST',
    url: '/audit/events',
    payload: { events: [{ event_type: 'seed', agent_id: 'agent-1' }, { event_type: 'seed', agent_id: 'agent-2' }] },
    headers: SERVICE_AUTH,
  });
  expect(seed.statusCode).toBe(201);
});
afterAll(() => ctx?.close());

beforeEach(async () => {
  stored = await ctx.countEvents();
});

async function expectNothingStored() {
  expect(await ctx.countEvents()).toBe(stored);
}

function postRaw(payload: string, contentType = 'application/json') {
  return app.inject({ method: 'POST', url: '/audit/events', payload, headers: { ...SERVICE_AUTH, 'content-type': contentType } });
}

function postJson(body: unknown) {
  return postRaw(JSON.stringify(body));
}

describe('bad bodies on POST /audit/events are refused and store nothing', () => {
  it('refuses malformed JSON with INVALID_JSON', async () => {
    const response = await postRaw('{"event_type": "x",');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_JSON');
    await expectNothingStored();
  });

  it('refuses an empty JSON body and a body that is not JSON at all', async () => {
    expect((await postRaw('')).statusCode).toBe(400);
    const text = await postRaw('event_type=x', 'text/plain');
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored();
  });

  it('refuses bodies that are not an event object', async () => {
    for (const body of ['[]', '"event"', '42', 'null', '[{"event_type":"x"}]']) {
      const response = await postRaw(body);
      expect(response.statusCode, body).toBe(400);
      expect(response.json().error.message, body).toMatch(/one event object, or \{"events"/);
    }
    await expectNothingStored();
  });

  it('refuses unknown fields and names them, in a single event and inside a batch', async () => {
    const single = await postJson({ event_type: 'x', actor: 'mallory' });
    expect(single.statusCode).toBe(400);
    expect(single.json().error.message).toContain('actor');
    const batch = await postJson({ events: [{ event_type: 'x' }, { event_type: 'y', extra: 1 }] });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().error.message).toContain('events.1');
    expect(batch.json().error.message).toContain('extra');
    const beside = await postJson({ events: [{ event_type: 'x' }], event_type: 'y' });
    expect(beside.statusCode).toBe(400);
    expect(beside.json().error.message).toContain('event_type');
    await expectNothingStored();
  });

  it('refuses wrong types and values, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'event_type'],
      [{ event_type: 42 }, 'event_type'],
      [{ event_type: 'Not A Slug' }, 'event_type'],
      [{ event_type: "x' OR 1=1 --" }, 'event_type'],
      [{ event_type: 'x', data: [1, 2] }, 'data'],
      [{ event_type: 'x', data: 'text' }, 'data'],
      [{ event_type: 'x', severity: 'fatal' }, 'severity'],
      [{ event_type: 'x', occurred_at: 'yesterday' }, 'occurred_at'],
      [{ event_type: 'x', occurred_at: '2025-01-01T00:00:00' }, 'occurred_at'],
      [{ event_type: 'x', occurred_at: '1969-12-31T23:59:59Z' }, 'occurred_at'],
      [{ event_type: 'x', agent_id: '' }, 'agent_id'],
      [{ event_type: 'x', agent_id: 'a'.repeat(129) }, 'agent_id'],
      [{ event_type: 'x', source: { name: 'policy-engine' } }, 'source'],
      [{ event_type: 'x', idempotency_key: 7 }, 'idempotency_key'],
      [{ events: 'all of them' }, 'events'],
      [{ events: [] }, 'events'],
    ];
    for (const [body, field] of cases) {
      const response = await postJson(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
      expect(response.json().error.message, JSON.stringify(body)).toContain(field);
    }
    await expectNothingStored();
  });

  it('refuses a batch of more than 1000 events', async () => {
    const response = await postJson({ events: Array.from({ length: 1001 }, () => ({ event_type: 'x' })) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/events.*1000/);
    await expectNothingStored();
  });

  it('stores nothing from a batch in which one event is invalid', async () => {
    const response = await postJson({ events: [{ event_type: 'good' }, { event_type: 'good' }, { event_type: 'BAD' }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('events.2.event_type');
    await expectNothingStored();
  });

  it('refuses text PostgreSQL cannot store faithfully (NUL, unpaired surrogates) and absurd nesting', async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i += 1) deep = { deeper: deep };
    const cases: Array<[string, string]> = [
      [JSON.stringify({ event_type: 'x', data: { note: 'a\u0000b' } }), 'data.note'],
      [JSON.stringify({ event_type: 'x', data: { 'k\u0000': 1 } }), 'key'],
      [JSON.stringify({ event_type: 'x', agent_id: 'agent\u0000' }), 'agent_id'],
      ['{"event_type":"x","data":{"note":"\\ud800"}}', 'data.note'],
      [JSON.stringify({ event_type: 'x', data: deep }), 'nested deeper'],
    ];
    for (const [body, hint] of cases) {
      const response = await postRaw(body);
      expect(response.statusCode, body.slice(0, 80)).toBe(400);
      expect(response.json().error.message).toContain(hint);
    }
    await expectNothingStored();
  });

  it('refuses prototype-polluting keys', async () => {
    const response = await postRaw('{"event_type":"x","data":{"__proto__":{"admin":true}}}');
    expect(response.statusCode).toBe(400);
    await expectNothingStored();
  });

  it('refuses a constitutional hash other than the engine’s, naming the expected one', async () => {
    const response = await postJson({ event_type: 'x', constitutional_hash: 'deadbeefdeadbeef' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('HASH_MISMATCH');
    expect(response.json().error.message).toContain(CONSTITUTIONAL_HASH);
    const inBatch = await postJson({ events: [{ event_type: 'x' }, { event_type: 'y', constitutional_hash: 'nope' }] });
    expect(inBatch.statusCode).toBe(400);
    await expectNothingStored();
  });

  it('refuses an oversized body with 413', async () => {
    const response = await postJson({ event_type: 'x', data: { blob: 'x'.repeat(300 * 1024) } });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    await expectNothingStored();
  });

  it('stores SQL-looking text verbatim as data, without executing it', async () => {
    const payload = "'); DROP TABLE audit_events; --";
    const response = await postJson({ event_type: 'x', agent_id: payload, data: { note: payload } });
    expect(response.statusCode).toBe(201);
    const read = await app.inject(`/audit/events/${response.json().events[0].id}`);
    expect(read.json()).toMatchObject({ agent_id: payload, data: { note: payload } });
    expect(await ctx.countEvents()).toBe(stored + 1);
  });
});

describe('bad queries on GET /audit/events are refused or match nothing', () => {
  it.each(['0', '1001', '-1', 'abc', '1.5', '', '1e2', '10; DROP TABLE audit_events'])('refuses limit=%s', async (limit) => {
    const response = await app.inject(`/audit/events?limit=${encodeURIComponent(limit)}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('limit');
  });

  it('refuses a repeated limit', async () => {
    const response = await app.inject('/audit/events?limit=1&limit=2');
    expect(response.statusCode).toBe(400);
  });

  it('refuses cursors it did not issue', async () => {
    const forged = [
      'garbage!',
      'bm90IGpzb24',
      Buffer.from('{"v":1,"before":0}').toString('base64url'),
      Buffer.from('{"v":2,"before":5}').toString('base64url'),
      Buffer.from('{"v":1,"before":"5 OR 1=1"}').toString('base64url'),
      Buffer.from('{"v":1,"before":5,"x":1}').toString('base64url'),
      "' OR 1=1 --",
    ];
    for (const cursor of forged) {
      const response = await app.inject(`/audit/events?cursor=${encodeURIComponent(cursor)}`);
      expect(response.statusCode, cursor).toBe(400);
      expect(response.json().error.message).toContain('cursor');
    }
  });

  it('refuses an injection attempt in event_type, which must be a slug', async () => {
    const response = await app.inject(`/audit/events?event_type=${encodeURIComponent("' OR 1=1 --")}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('event_type');
  });

  it('matches nothing for injection attempts in free-text filters', async () => {
    for (const value of ["' OR 1=1 --", "agent-1' OR '1'='1", '<script>alert(1)</script>', 'agent-1; DELETE FROM audit_events']) {
      for (const field of ['agent_id', 'source']) {
        const response = await app.inject(`/audit/events?${field}=${encodeURIComponent(value)}`);
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ events: [], next_cursor: null });
      }
    }
    expect(await ctx.countEvents()).toBe(stored);
  });

  it('refuses bad times, a reversed range, unknown severities and unknown parameters', async () => {
    const cases = [
      'since=yesterday',
      'until=2025-13-01T00:00:00Z',
      'since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z',
      'severity=fatal',
      'agent=agent-1',
      `event_type=${'a'.repeat(65)}`,
    ];
    for (const query of cases) {
      const response = await app.inject(`/audit/events?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
    }
  });

  it('still pages correctly with a cursor it issued', async () => {
    const response = await app.inject(`/audit/events?cursor=${encodeCursor(2)}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().events.map((event: { sequence: number }) => event.sequence)).toEqual([1]);
  });
});

describe('bad ids and parameters elsewhere', () => {
  it.each(['abc', '1', "' OR '1'='1", '3f2504e0-4f89-41d3-9a0c-0305e82c330', '3f2504e0-4f89-41d3-9a0c-0305e82c3301; --'])(
    'refuses the malformed event id %s with 400',
    async (id) => {
      const response = await app.inject(`/audit/events/${encodeURIComponent(id)}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.message).toContain('id');
    },
  );

  it('refuses unknown parameters on verify', async () => {
    const response = await app.inject('/audit/verify?full=true');
    expect(response.statusCode).toBe(400);
  });

  it('refuses query parameters on reading one event, which takes none', async () => {
    const seeded = (await app.inject('/audit/events?limit=1')).json().events[0];
    expect((await app.inject(`/audit/events/${seeded.id}`)).statusCode).toBe(200);
    for (const query of ['x=1', "id=' OR 1=1 --", 'fields=<script>alert(1)</script>']) {
      const response = await app.inject(`/audit/events/${seeded.id}?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
      expect(response.json().error.message).toMatch(/querystring/);
    }
  });

  it('refuses query parameters on appending, which takes none, and stores nothing', async () => {
    for (const query of ['x=1', 'dry_run=true', "event_type=' OR 1=1 --"]) {
      const response = await app.inject({ method: 'POST', url: `/audit/events?${query}`, payload: { event_type: 'with.query' }, headers: SERVICE_AUTH });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('INVALID_REQUEST');
    }
    await expectNothingStored();
  });

  it('leaves the table intact and the chain valid after all of the above', async () => {
    const verify = await app.inject('/audit/verify');
    expect(verify.json()).toMatchObject({ valid: true, events_checked: await ctx.countEvents() });
  });
});
