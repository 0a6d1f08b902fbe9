import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import type { Service } from '../kit/service.js';
import type { AuditEvent, AuditEventInput } from './contract.js';
import { chainHash, contentHash, genesisChainHash } from './hash-chain.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { SERVICE_AUTH } from '../../test/testing/tokens.js';

let ctx: AuditTestContext;
let app: Service;

beforeAll(async () => {
  ctx = await createAuditTestContext();
  app = await ctx.start();
});
afterAll(() => ctx?.close());

async function post(body: unknown) {
  return app.inject({ method: 'POST', url: '/audit/events', payload: body as object, headers: SERVICE_AUTH });
}

async function append(events: AuditEventInput[]): Promise<AuditEvent[]> {
  const response = await post({ events });
  expect(response.statusCode).toBe(201);
  return response.json().events;
}

function nullable(event: AuditEvent) {
  return {
    ...event,
    source: event.source ?? null,
    agent_id: event.agent_id ?? null,
    severity: event.severity ?? null,
    idempotency_key: event.idempotency_key ?? null,
    data: event.data ?? null,
  };
}

describe('appending and reading audit events', () => {
  it('stores one event and returns it with its id, sequence and hashes, linked to the previous event', async () => {
    const before = (await app.inject('/health')).json().chain_head;
    const response = await post({
      event_type: 'safety_violation',
      source: 'policy-engine',
      agent_id: 'agent-7',
      severity: 'critical',
      occurred_at: '2025-03-01T10:00:00.123456+02:00',
      data: { action: 'system.execute_shell', score: 0.42 },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ appended: 1, replayed: 0 });
    const [event] = body.events as AuditEvent[];
    expect(event).toMatchObject({
      event_type: 'safety_violation',
      agent_id: 'agent-7',
      // Normalized to UTC milliseconds: the form that is hashed and stored.
      occurred_at: '2025-03-01T08:00:00.123Z',
      constitutional_hash: CONSTITUTIONAL_HASH,
      sequence: before.sequence + 1,
      prev_chain_hash: before.chain_hash,
    });
    expect(event!.content_hash).toBe(contentHash(nullable(event!)));
    expect(event!.chain_hash).toBe(chainHash(event!.prev_chain_hash, event!.content_hash));

    const read = await app.inject(`/audit/events/${event!.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(event);
  });

  it('starts the chain at the genesis derived from the constitutional hash', async () => {
    const first = await app.inject('/audit/events?limit=1000');
    const events = first.json().events as AuditEvent[];
    const oldest = events[events.length - 1]!;
    expect(oldest.sequence).toBe(1);
    expect(oldest.prev_chain_hash).toBe(genesisChainHash());
  });

  it('stores a batch in order with consecutive sequences and one chain through it', async () => {
    const events = await append([{ event_type: 'batch.one' }, { event_type: 'batch.two' }, { event_type: 'batch.three' }]);
    expect(events.map((event) => event.event_type)).toEqual(['batch.one', 'batch.two', 'batch.three']);
    expect(events[1]!.sequence).toBe(events[0]!.sequence + 1);
    expect(events[2]!.sequence).toBe(events[1]!.sequence + 1);
    expect(events[1]!.prev_chain_hash).toBe(events[0]!.chain_hash);
    expect(events[2]!.prev_chain_hash).toBe(events[1]!.chain_hash);
  });

  it('accepts a batch of exactly 1000 events in one request', async () => {
    const before = await ctx.countEvents();
    const events = Array.from({ length: 1000 }, (_, index) => ({ event_type: 'bulk', data: { index } }));
    const stored = await append(events);
    expect(stored).toHaveLength(1000);
    expect(await ctx.countEvents()).toBe(before + 1000);
  });

  it('accepts the constitutional hash when a producer sends the right one', async () => {
    const [event] = await append([{ event_type: 'with_hash', constitutional_hash: CONSTITUTIONAL_HASH }]);
    expect(event!.constitutional_hash).toBe(CONSTITUTIONAL_HASH);
  });

  it('stores awkward text, nested data and absent fields column by column exactly as sent', async () => {
    const awkward = 'quote " backslash \\ braces {} comma , tab \t newline \n é 😀 \u2028 null';
    const data = { text: awkward, nested: { list: [1, 0.1, 1e21, -0.5, true, null, 'x'], empty: {}, '10': 'integer-like key' } };
    const [full, bare] = await append([
      {
        event_type: 'round.trip',
        source: awkward,
        agent_id: '{"a":1}',
        severity: 'warning',
        idempotency_key: `key ${awkward}`,
        occurred_at: '2025-03-01T10:00:00.5-03:00',
        data,
      },
      { event_type: 'round.trip' },
    ]);
    const rows = await ctx.sql.query(
      `SELECT source, agent_id, severity, idempotency_key, occurred_at, data, data IS NULL AS data_is_sql_null
       FROM audit_events WHERE id = ANY($1::uuid[]) ORDER BY sequence`,
      [[full!.id, bare!.id]],
    );
    expect(rows.rows).toEqual([
      {
        source: awkward,
        agent_id: '{"a":1}',
        severity: 'warning',
        idempotency_key: `key ${awkward}`,
        occurred_at: new Date('2025-03-01T13:00:00.500Z'),
        data,
        data_is_sql_null: false,
      },
      // Absent fields are SQL NULL, not the JSON value null or empty text.
      { source: null, agent_id: null, severity: null, idempotency_key: null, occurred_at: expect.any(Date), data: null, data_is_sql_null: true },
    ]);
    expect((await app.inject(`/audit/events/${full!.id}`)).json()).toEqual(full);
    expect(full!.content_hash).toBe(contentHash(nullable(full!)));
    expect(bare!.content_hash).toBe(contentHash(nullable(bare!)));
  });

  it('answers 404 for an id that does not exist', async () => {
    const response = await app.inject('/audit/events/3f2504e0-4f89-41d3-9a0c-0305e82c3301');
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toMatchObject({ code: 'NOT_FOUND' });
    expect(response.json().error.message).toContain('3f2504e0-4f89-41d3-9a0c-0305e82c3301');
  });
});

describe('idempotent delivery', () => {
  it('returns the stored event instead of appending again when the same event is re-posted under its key', async () => {
    const first = await post({ event_type: 'retry.me', idempotency_key: 'delivery-1', data: { try: 1 } });
    const before = await ctx.countEvents();
    const again = await post({ event_type: 'retry.me', idempotency_key: 'delivery-1', data: { try: 1 } });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ appended: 0, replayed: 1 });
    expect(again.json().events[0]).toEqual(first.json().events[0]);
    expect(await ctx.countEvents()).toBe(before);
  });

  it('stores a key once when the same batch carries it twice', async () => {
    const before = await ctx.countEvents();
    const response = await post({
      events: [
        { event_type: 'dup', idempotency_key: 'in-batch' },
        { event_type: 'other' },
        { event_type: 'dup', idempotency_key: 'in-batch' },
      ],
    });
    expect(response.json()).toMatchObject({ appended: 2, replayed: 1 });
    const [a, , c] = response.json().events as AuditEvent[];
    expect(c!.id).toBe(a!.id);
    expect(await ctx.countEvents()).toBe(before + 2);
  });

  it('stores a key once when concurrent retries race', async () => {
    const before = await ctx.countEvents();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => post({ event_type: 'race', idempotency_key: 'racing-key' })),
    );
    const ids = new Set(responses.map((response) => response.json().events[0].id));
    expect(responses.every((response) => response.statusCode === 201)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await ctx.countEvents()).toBe(before + 1);
  });
});

describe('listing events', () => {
  beforeAll(async () => {
    const base = Date.parse('2030-06-01T00:00:00Z');
    const events: AuditEventInput[] = [];
    for (let i = 0; i < 25; i += 1) {
      events.push({
        event_type: i % 5 === 0 ? 'list.violation' : 'list.decision',
        agent_id: `list-agent-${i % 3}`,
        source: i % 2 === 0 ? 'list-src-even' : 'list-src-odd',
        occurred_at: new Date(base + i * 60_000).toISOString(),
        data: { i },
      });
    }
    await append(events);
  });

  it('returns the newest first with a default limit of 100', async () => {
    const response = await app.inject('/audit/events');
    const events = response.json().events as AuditEvent[];
    expect(events).toHaveLength(100);
    const sequences = events.map((event) => event.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
    expect(response.json().next_cursor).toEqual(expect.any(String));
  });

  it('filters by event type, agent and source together', async () => {
    const response = await app.inject('/audit/events?event_type=list.violation&agent_id=list-agent-0&source=list-src-even');
    const events = response.json().events as AuditEvent[];
    const expected = Array.from({ length: 25 }, (_, i) => i).filter((i) => i % 5 === 0 && i % 3 === 0 && i % 2 === 0);
    expect(events.map((event) => event.data?.i).sort()).toEqual(expected);
    expect(response.json().next_cursor).toBeNull();
  });

  it('filters by occurrence time with since and until, both inclusive', async () => {
    const response = await app.inject(
      '/audit/events?since=2030-06-01T00:10:00Z&until=2030-06-01T02:14:00%2B02:00&event_type=list.decision',
    );
    const indexes = (response.json().events as AuditEvent[]).map((event) => event.data?.i as number);
    expect(indexes.sort((a, b) => a - b)).toEqual([11, 12, 13, 14]);
  });

  it('pages through every matching event with the cursor, without gaps or repeats', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/audit/events?event_type=list.decision&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const body = (await app.inject(url)).json();
      seen.push(...(body.events as AuditEvent[]).map((event) => event.data?.i as number));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i).filter((i) => i % 5 !== 0));
  });

  it('keeps pages stable while new events arrive', async () => {
    const first = (await app.inject('/audit/events?event_type=list.violation&limit=2')).json();
    await append([{ event_type: 'list.violation', data: { i: 99 } }]);
    const second = (await app.inject(`/audit/events?event_type=list.violation&limit=2&cursor=${first.next_cursor}`)).json();
    const firstIds = (first.events as AuditEvent[]).map((event) => event.data?.i);
    const secondIds = (second.events as AuditEvent[]).map((event) => event.data?.i);
    expect(firstIds).toEqual([20, 15]);
    expect(secondIds).toEqual([10, 5]);
  });

  it('answers the runbook query for recent safety violations', async () => {
    await append([{ event_type: 'safety_violation', source: 'policy-engine', data: { action: 'network.raw_socket' } }]);
    const response = await app.inject('/audit/events?event_type=safety_violation&limit=10');
    expect(response.statusCode).toBe(200);
    const events = response.json().events as AuditEvent[];
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(10);
    expect(events.every((event) => event.event_type === 'safety_violation')).toBe(true);
    expect(events[0]!.data).toEqual({ action: 'network.raw_socket' });
  });
});

describe('verification, health and metrics', () => {
  it('verifies the chain built by this file as valid and reports the head', async () => {
    const response = await app.inject('/audit/verify');
    expect(response.statusCode).toBe(200);
    const result = response.json();
    const count = await ctx.countEvents();
    expect(result).toMatchObject({ valid: true, events_checked: count, head: { sequence: count } });
    expect(result.first_broken).toBeUndefined();
  });

  it('reports the chain head, the database and the integrity found by the last verification in health', async () => {
    await app.inject('/audit/verify');
    const response = await app.inject('/health');
    expect(response.statusCode).toBe(200);
    const health = response.json();
    expect(health).toMatchObject({
      status: 'healthy',
      service: 'audit-engine',
      database: { reachable: true },
      chain_head: { sequence: await ctx.countEvents() },
      integrity: { valid: true, events_checked: await ctx.countEvents() },
    });
  });

  it('coalesces concurrent appends into shared transactions and counts them in the metrics', async () => {
    const metric = async (name: string) => {
      const text = (await app.inject('/metrics')).body;
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`));
      return Number(line?.split(' ').pop() ?? 'NaN');
    };
    const appendedBefore = await metric('audit_events_appended_total');
    const transactionsBefore = await metric('audit_append_batch_size_count');
    await Promise.all(Array.from({ length: 40 }, (_, i) => post({ event_type: 'group.commit', data: { i } })));
    expect((await metric('audit_events_appended_total')) - appendedBefore).toBe(40);
    const transactions = (await metric('audit_append_batch_size_count')) - transactionsBefore;
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThan(40);
    expect(await metric('audit_verify_runs_total')).toBeGreaterThanOrEqual(1);
  });
});
