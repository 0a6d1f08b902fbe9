/**
 * The services' audit outbox on a full disk (a real tmpfs of a few KiB): an event the spool
 * cannot take whole is refused at once (`record` throws, nothing half-written), and every event
 * `record` took is delivered, whole and in order, once the Audit Engine answers, also after a restart.
 */
import { statfsSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { mountTinyTmpfs } from '../../test/testing/tiny-tmpfs.js';
import { createAuditOutbox } from './audit-outbox.js';
import { SpoolWriteError } from './json-line-spool.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An Audit Engine stand-in on loopback that answers 503 until told to accept. */
async function startEngine() {
  const app = Fastify();
  const engine = { accepting: false, received: [] as Array<Record<string, unknown>> };
  app.post('/audit/events', async (request, reply) => {
    if (!engine.accepting) return reply.status(503).send({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'down' } });
    const { events } = request.body as { events: Array<Record<string, unknown>> };
    engine.received.push(...events);
    return reply.status(201).send({ appended: events.length, replayed: 0 });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  return { ...engine, url, engine };
}

describe('audit outbox on a full disk', () => {
  it('refuses an event the spool cannot take whole and delivers every event it took, in order', async () => {
    const disk = mountTinyTmpfs(64 * 1024);
    cleanups.push(() => disk.unmount());
    const { url, engine } = await startEngine();
    const spoolDir = join(disk.dir, 'outbox');
    const box = createAuditOutbox({ auditEngineUrl: url, spoolDir, source: 'test', flushIntervalMs: 20, maxBackoffMs: 50 });
    cleanups.push(() => box.close());
    const { bavail, bsize } = statfsSync(disk.dir);
    const filler = join(disk.dir, 'filler');
    writeFileSync(filler, Buffer.alloc((bavail - 1) * bsize, 0x78));

    let refusal: unknown;
    let recorded = 0;
    for (; recorded < 50; recorded += 1) {
      try {
        box.record({ event_type: 'safety_violation', data: { n: recorded, pad: 'p'.repeat(400) } });
      } catch (error) {
        refusal = error;
        break;
      }
    }
    expect(recorded).toBeGreaterThan(0);
    expect(refusal).toBeInstanceOf(SpoolWriteError);
    expect((refusal as Error).message).toMatch(/\(ENOSPC: no space left on device\); the file is as it was before$/);
    expect(box.pending()).toBe(recorded);

    // A restart reads the spool back from disk: every event taken is there whole, nothing glued on.
    await box.close();
    rmSync(filler);
    const reopened = createAuditOutbox({ auditEngineUrl: url, spoolDir, source: 'test', flushIntervalMs: 20, maxBackoffMs: 50 });
    cleanups.push(() => reopened.close());
    expect(reopened.pending()).toBe(recorded);
    reopened.record({ event_type: 'safety_violation', data: { n: 'after', pad: '' } });
    engine.accepting = true;
    await expect.poll(() => engine.received.length, { timeout: 10_000 }).toBe(recorded + 1);
    expect(engine.received.map((event) => (event.data as { n: unknown }).n)).toEqual([...Array.from({ length: recorded }, (_, n) => n), 'after']);
    expect(reopened.rejected()).toBe(0);
    expect(reopened.pending()).toBe(0);
  });
});
