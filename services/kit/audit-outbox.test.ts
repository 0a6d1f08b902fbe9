import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuditEngineClient } from '../clients/audit-engine.js';
import { type AuditTestContext, createAuditTestContext } from '../audit-engine/testing/audit-test-context.js';
import { TEST_SERVICE_TOKEN, testToken } from '../../test/testing/tokens.js';
import { createAuditOutbox, type AuditOutbox } from './audit-outbox.js';

interface Receiver {
  url: string;
  received: Array<Record<string, unknown>>;
  status: number;
  /** Events this returns true for are refused with 400, like the real engine's schema would. */
  refuse?: (event: Record<string, unknown>) => boolean;
  maxBatch?: number;
  close(): Promise<void>;
}

/** A stand-in Audit Engine on loopback that records what it accepts. */
async function startReceiver(port = 0): Promise<Receiver> {
  const app: FastifyInstance = Fastify();
  const receiver: Receiver = { url: '', received: [], status: 201, close: () => app.close() };
  app.post('/audit/events', async (request, reply) => {
    if (receiver.status !== 201) return reply.status(receiver.status).send({ error: { code: 'X', message: 'refused' } });
    const { events } = request.body as { events: Array<Record<string, unknown>> };
    if (receiver.maxBatch && events.length > receiver.maxBatch) return reply.status(413).send({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'too large' } });
    if (events.some((event) => receiver.refuse?.(event))) return reply.status(400).send({ error: { code: 'INVALID_REQUEST', message: 'invalid' } });
    receiver.received.push(...events);
    return reply.status(201).send({ events });
  });
  const address = await app.listen({ port, host: '127.0.0.1' });
  receiver.url = address;
  return receiver;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function spoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-outbox-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function outbox(url: string, dir: string): AuditOutbox {
  const box = createAuditOutbox({ auditEngineUrl: url, spoolDir: dir, source: 'test', flushIntervalMs: 10, maxBackoffMs: 50 });
  cleanups.push(() => box.close());
  return box;
}

describe('audit outbox', () => {
  it('delivers recorded events in batches with source and idempotency keys', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const box = outbox(receiver.url, spoolDir());
    for (let i = 0; i < 5; i++) box.record({ event_type: 'safety_violation', data: { i } });
    await box.flush();
    expect(box.pending()).toBe(0);
    expect(receiver.received.map((event) => (event.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    expect(receiver.received[0]).toMatchObject({ source: 'test', event_type: 'safety_violation' });
    expect(new Set(receiver.received.map((event) => event.idempotency_key)).size).toBe(5);
  });

  it('keeps events while the Audit Engine is down and delivers them when it is back', async () => {
    const probe = await startReceiver();
    const url = probe.url;
    await probe.close(); // the port is now closed: the engine is "down"
    const box = outbox(url, spoolDir());
    box.record({ event_type: 'safety_violation', data: { n: 1 } });
    box.record({ event_type: 'safety_violation', data: { n: 2 } });
    await expect(box.flush()).rejects.toThrow();
    expect(box.pending()).toBe(2);
    const receiver = await startReceiver(Number(new URL(url).port));
    cleanups.push(() => receiver.close());
    await expect.poll(() => receiver.received.length, { timeout: 5000 }).toBe(2);
    // The receiver holds the events before the outbox has read its answer and acknowledged them.
    await expect.poll(() => box.pending(), { timeout: 5000 }).toBe(0);
  });

  it('survives a restart: undelivered events are read back from the spool and sent once', async () => {
    const dir = spoolDir();
    const first = createAuditOutbox({ auditEngineUrl: 'http://127.0.0.1:9', spoolDir: dir, source: 'test', flushIntervalMs: 60_000 });
    first.record({ event_type: 'a' });
    first.record({ event_type: 'b' });
    await first.close();
    // A crash mid-write leaves a torn last line; it was never acknowledged to anyone.
    appendFileSync(join(dir, 'outbox.jsonl'), '{"event_type":"tor');
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const second = outbox(receiver.url, dir);
    expect(second.pending()).toBe(2);
    await second.flush();
    expect(receiver.received.map((event) => event.event_type)).toEqual(['a', 'b']);
    expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8')).toBe('');
  });

  it('parks only the event the engine calls invalid and delivers the rest of its batch', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    receiver.refuse = (event) => event.event_type === 'poison';
    const dir = spoolDir();
    const box = outbox(receiver.url, dir);
    box.record({ event_type: 'before', agent_id: 'agent-1' });
    box.record({ event_type: 'poison' });
    box.record({ event_type: 'after' });
    await box.flush();
    expect(box.rejected()).toBe(1);
    expect(box.pending()).toBe(0);
    expect(receiver.received.map((event) => event.event_type)).toEqual(['before', 'after']);
    expect(readFileSync(join(dir, 'rejected.jsonl'), 'utf8')).toContain('poison');
  });

  it('keeps retrying, never parks, when the engine answers 401, 404 or 5xx', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const box = outbox(receiver.url, spoolDir());
    for (const status of [401, 404, 503]) {
      receiver.status = status;
      box.record({ event_type: `during_${status}` });
      await expect(box.flush()).rejects.toThrow();
      expect(box.rejected()).toBe(0);
    }
    receiver.status = 201;
    await box.flush();
    expect(receiver.received.map((event) => event.event_type)).toEqual(['during_401', 'during_404', 'during_503']);
  });

  it('splits a batch the engine finds too large', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    receiver.maxBatch = 2;
    const box = outbox(receiver.url, spoolDir());
    for (let i = 0; i < 5; i++) box.record({ event_type: `e${i}` });
    await box.flush();
    expect(receiver.received.map((event) => event.event_type)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('keeps an event that could never be stored out of the queue, visibly', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const dir = spoolDir();
    const box = outbox(receiver.url, dir);
    box.record({ event_type: 'safety_violation', agent_id: 'evil\u0000' });
    box.record({ event_type: 'safety_violation', agent_id: 'agent-2' });
    await box.flush();
    expect(box.rejected()).toBe(1);
    expect(receiver.received.map((event) => event.agent_id)).toEqual(['agent-2']);
    expect(statSync(join(dir, 'outbox.jsonl')).mode & 0o777).toBe(0o600);
  });

  it('refuses to record after close', async () => {
    const box = outbox('http://127.0.0.1:9', spoolDir());
    await box.close();
    expect(() => box.record({ event_type: 'late' })).toThrow(/closed/);
  });
});

describe('audit outbox and the real Audit Engine’s service token', () => {
  let audit: AuditTestContext;
  let engineUrl: string;

  beforeAll(async () => {
    audit = await createAuditTestContext();
    const app = await audit.start();
    engineUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => audit?.close());

  async function storedTypes(prefix: string): Promise<string[]> {
    const result = await audit.sql.query<{ event_type: string }>('SELECT event_type FROM audit_events WHERE event_type LIKE $1 ORDER BY sequence', [`${prefix}%`]);
    return result.rows.map((row) => row.event_type);
  }

  function tokenOutbox(dir: string, serviceToken: string | undefined): AuditOutbox {
    const box = createAuditOutbox({ auditEngineUrl: engineUrl, spoolDir: dir, source: 'test', serviceToken, flushIntervalMs: 10, maxBackoffMs: 50 });
    cleanups.push(() => box.close());
    return box;
  }

  it('sends the service token with every batch, so the Audit Engine stores them', async () => {
    const box = tokenOutbox(spoolDir(), TEST_SERVICE_TOKEN);
    for (let i = 0; i < 3; i++) box.record({ event_type: `token.sent.${i}` });
    await box.flush();
    expect(await storedTypes('token.sent.')).toEqual(['token.sent.0', 'token.sent.1', 'token.sent.2']);
  });

  it('keeps events spooled, never dropped, while its token is missing or wrong, and delivers them with the right one', async () => {
    const dir = spoolDir();
    for (const token of [undefined, testToken()]) {
      const refused = tokenOutbox(dir, token);
      refused.record({ event_type: `token.late.${token ? 'wrong' : 'none'}` });
      await expect(refused.flush()).rejects.toMatchObject({ status: 401, code: 'SERVICE_UNAUTHORIZED' });
      expect(refused.rejected()).toBe(0);
      await refused.close();
    }
    expect(await storedTypes('token.late.')).toEqual([]);
    const fixed = tokenOutbox(dir, TEST_SERVICE_TOKEN);
    await fixed.flush();
    expect(await storedTypes('token.late.')).toEqual(['token.late.none', 'token.late.wrong']);
  });

  it('sets aside an event whose key the engine holds with other content (409) and delivers the rest of its batch', async () => {
    await createAuditEngineClient(engineUrl, { serviceToken: TEST_SERVICE_TOKEN }).postEvents({ event_type: 'conflict.first', idempotency_key: 'taken-key' });
    const dir = spoolDir();
    const box = tokenOutbox(dir, TEST_SERVICE_TOKEN);
    box.record({ event_type: 'conflict.before' });
    box.record({ event_type: 'conflict.second', idempotency_key: 'taken-key' });
    box.record({ event_type: 'conflict.after' });
    await box.flush();
    expect(box.pending()).toBe(0);
    expect(box.rejected()).toBe(1);
    expect(await storedTypes('conflict.')).toEqual(['conflict.first', 'conflict.before', 'conflict.after']);
    expect(readFileSync(join(dir, 'rejected.jsonl'), 'utf8')).toContain('conflict.second');
  });
});
