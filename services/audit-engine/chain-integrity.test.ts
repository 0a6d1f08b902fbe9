import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../kit/service.js';
import type { AuditEvent, VerifyResponse } from './contract.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { SERVICE_AUTH } from '../../test/testing/tokens.js';

let ctx: AuditTestContext;
let first: Service;
let second: Service;

beforeAll(async () => {
  ctx = await createAuditTestContext();
  // Two instances on one database, as with two replicas; a small verify batch makes the walk span many queries.
  [first, second] = await Promise.all([ctx.start({ verifyBatchSize: 7 }), ctx.start({ verifyBatchSize: 7 })]);
});
afterAll(() => ctx?.close());

async function verify(app: Service = first): Promise<VerifyResponse> {
  const response = await app.inject('/audit/verify');
  expect(response.statusCode).toBe(200);
  return response.json();
}

async function eventAt(sequence: number): Promise<{ id: string; data: unknown }> {
  const result = await ctx.sql.query('SELECT id, data FROM audit_events WHERE sequence = $1', [sequence]);
  return result.rows[0];
}

/** What an attacker with superuser rights can do: switch triggers off for their session. */
async function asAttacker<T>(work: () => Promise<T>): Promise<T> {
  await ctx.sql.query('SET session_replication_role = replica');
  try {
    return await work();
  } finally {
    await ctx.sql.query('SET session_replication_role = origin');
  }
}

/** Re-inserts a row exactly as it was (INSERT is allowed), undoing the attacker's delete. */
async function putBack(row: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(row);
  await ctx.sql.query(
    `INSERT INTO audit_events (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    columns.map((column) => row[column]),
  );
}

describe('concurrent writers', () => {
  it('leave one unbroken chain with no duplicate or missing sequence (16 writers on each of two instances)', async () => {
    const writers = 32;
    const perWriter = 15;
    const responses = await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const app = writer % 2 === 0 ? first : second;
        const events: AuditEvent[] = [];
        for (let i = 0; i < perWriter; i += 1) {
          // Mix single events and small batches, as producers do.
          const body = i % 5 === 4
            ? { events: [{ event_type: 'concurrent', data: { writer, i } }, { event_type: 'concurrent', data: { writer, i, second: true } }] }
            : { event_type: 'concurrent', agent_id: `writer-${writer}`, data: { writer, i } };
          const response = await app.inject({ method: 'POST', url: '/audit/events', payload: body, headers: SERVICE_AUTH });
          expect(response.statusCode).toBe(201);
          events.push(...response.json().events);
        }
        return events;
      }),
    );
    const all = responses.flat();
    const expected = writers * (perWriter + perWriter / 5);
    expect(all).toHaveLength(expected);
    const sequences = all.map((event) => event.sequence).sort((a, b) => a - b);
    expect(sequences).toEqual(Array.from({ length: expected }, (_, i) => i + 1));

    const dbSequences = await ctx.sql.query('SELECT count(*)::int AS n, count(DISTINCT sequence)::int AS d, max(sequence)::int AS m FROM audit_events');
    expect(dbSequences.rows[0]).toEqual({ n: expected, d: expected, m: expected });
    const forks = await ctx.sql.query('SELECT count(*)::int AS n FROM (SELECT prev_chain_hash FROM audit_events GROUP BY 1 HAVING count(*) > 1) f');
    expect(forks.rows[0].n).toBe(0);

    const result = await verify(second);
    expect(result).toMatchObject({ valid: true, events_checked: expected, head: { sequence: expected } });
  });
});

describe('instances taking turns', () => {
  it('append onto each other’s events even though each remembers a head that has moved since', async () => {
    const post = (app: Service, event_type: string) =>
      app.inject({ method: 'POST', url: '/audit/events', payload: { event_type }, headers: SERVICE_AUTH }).then((response) => response.json().events[0] as AuditEvent);
    const a1 = await post(first, 'turn.a');
    const b1 = await post(second, 'turn.b');
    const a2 = await post(first, 'turn.a');
    const b2 = await post(second, 'turn.b');
    expect([a1, b1, a2, b2].map((event) => event.sequence)).toEqual([a1.sequence, a1.sequence + 1, a1.sequence + 2, a1.sequence + 3]);
    expect(b1.prev_chain_hash).toBe(a1.chain_hash);
    expect(a2.prev_chain_hash).toBe(b1.chain_hash);
    expect(b2.prev_chain_hash).toBe(a2.chain_hash);
    expect((await verify()).valid).toBe(true);
  });
});

describe('the database refuses to change history', () => {
  it('rejects UPDATE, DELETE and TRUNCATE of events through the trigger', async () => {
    const before = await eventAt(3);
    await expect(ctx.sql.query(`UPDATE audit_events SET data = '{"forged": true}' WHERE sequence = 3`)).rejects.toThrow(/append-only: UPDATE/);
    await expect(ctx.sql.query('DELETE FROM audit_events WHERE sequence = 3')).rejects.toThrow(/append-only: DELETE/);
    await expect(ctx.sql.query('TRUNCATE audit_events')).rejects.toThrow(/append-only: TRUNCATE/);
    expect(await eventAt(3)).toEqual(before);
  });

  it('rejects moving the chain head backwards or removing it', async () => {
    await expect(ctx.sql.query('UPDATE audit_chain_head SET sequence = 1')).rejects.toThrow(/only moves forward/);
    await expect(ctx.sql.query('DELETE FROM audit_chain_head')).rejects.toThrow(/only moves forward/);
  });
});

describe('verify names tampering done around the triggers', () => {
  it('names exactly the event whose content was altered, and is valid again once it is restored', async () => {
    const victim = await eventAt(17);
    await asAttacker(() => ctx.sql.query(`UPDATE audit_events SET data = '{"writer": 0, "i": 999}' WHERE sequence = 17`));
    const result = await verify();
    expect(result.valid).toBe(false);
    expect(result.events_checked).toBe(16);
    expect(result.first_broken).toMatchObject({ id: victim.id, sequence: 17, check: 'content_hash' });
    expect(result.first_broken!.expected).not.toBe(result.first_broken!.stored);

    const health = (await first.inject('/health')).json();
    expect(health.status).toBe('degraded');
    expect(health.integrity).toMatchObject({ valid: false, events_checked: 16, first_broken: { id: victim.id, check: 'content_hash' } });

    await asAttacker(() => ctx.sql.query('UPDATE audit_events SET data = $1 WHERE sequence = 17', [victim.data]));
    expect((await verify()).valid).toBe(true);
    expect((await first.inject('/health')).json().status).toBe('healthy');
  });

  it('names the event whose stored hashes were rewritten to hide an edit', async () => {
    const victim = await ctx.sql.query('SELECT id, chain_hash FROM audit_events WHERE sequence = 40');
    const forgedChain = 'f'.repeat(64);
    await asAttacker(() => ctx.sql.query('UPDATE audit_events SET chain_hash = $1 WHERE sequence = 40', [forgedChain]));
    const result = await verify();
    expect(result.first_broken).toMatchObject({
      id: victim.rows[0].id,
      sequence: 40,
      check: 'chain_hash',
      stored: forgedChain,
      expected: victim.rows[0].chain_hash,
    });
    await asAttacker(() => ctx.sql.query('UPDATE audit_events SET chain_hash = $1 WHERE sequence = 40', [victim.rows[0].chain_hash]));
    expect((await verify()).valid).toBe(true);
  });

  it('detects a deleted event and names the one after the gap', async () => {
    const deleted = await ctx.sql.query('SELECT * FROM audit_events WHERE sequence = 25');
    const successor = await eventAt(26);
    await asAttacker(() => ctx.sql.query('DELETE FROM audit_events WHERE sequence = 25'));
    const result = await verify();
    expect(result.valid).toBe(false);
    expect(result.first_broken).toMatchObject({ id: successor.id, sequence: 26, check: 'sequence', expected: '25', stored: '26' });
    expect(result.first_broken!.message).toMatch(/missing/);

    await putBack(deleted.rows[0]);
    expect((await verify()).valid).toBe(true);
  });

  it('detects events deleted from the end of the chain through the recorded head', async () => {
    const head = (await verify()).head.sequence;
    const tail = await ctx.sql.query('SELECT * FROM audit_events WHERE sequence = $1', [head]);
    await asAttacker(() => ctx.sql.query('DELETE FROM audit_events WHERE sequence = $1', [head]));
    const result = await verify();
    expect(result.valid).toBe(false);
    expect(result.first_broken).toMatchObject({ id: null, sequence: head, check: 'head' });

    await putBack(tail.rows[0]);
    expect((await verify()).valid).toBe(true);
  });

  it('keeps appending onto the recorded head after an attacker deleted the tail, so the gap stays visible', async () => {
    const head = (await verify()).head.sequence;
    const tail = await ctx.sql.query('SELECT * FROM audit_events WHERE sequence = $1', [head]);
    await asAttacker(() => ctx.sql.query('DELETE FROM audit_events WHERE sequence = $1', [head]));
    const response = await first.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'after.tamper' }, headers: SERVICE_AUTH });
    expect(response.json().events[0].sequence).toBe(head + 1);
    const result = await verify();
    expect(result.first_broken).toMatchObject({ sequence: head + 1, check: 'sequence', expected: String(head) });

    await putBack(tail.rows[0]);
    expect((await verify()).valid).toBe(true);
  });
});
