import Fastify from 'fastify';
import type { AuditEventInput } from '../../audit-engine/contract.js';

export interface AuditReceiver {
  url: string;
  events: AuditEventInput[];
  /** While false the receiver answers 503, like an Audit Engine that is down. */
  accepting: boolean;
  /** Resolves once at least `count` events matching `filter` arrived. */
  waitFor(count: number, filter?: (event: AuditEventInput) => boolean, timeoutMs?: number): Promise<AuditEventInput[]>;
  close(): Promise<void>;
}

/** A stand-in Audit Engine on loopback that keeps what it is sent, de-duplicated by idempotency key. */
export async function startAuditReceiver(): Promise<AuditReceiver> {
  const app = Fastify({ logger: false });
  const seenKeys = new Set<string>();
  const receiver: AuditReceiver = {
    url: '',
    events: [],
    accepting: true,
    async waitFor(count, filter = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = receiver.events.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} audit events, got ${matching.length}: ${JSON.stringify(receiver.events.map((e) => e.event_type))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => app.close(),
  };
  app.post('/audit/events', async (request, reply) => {
    if (!receiver.accepting) return reply.status(503).send({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'down for the test' } });
    const body = request.body as { events?: AuditEventInput[] } & AuditEventInput;
    const events = body.events ?? [body];
    for (const event of events) {
      if (event.idempotency_key && seenKeys.has(event.idempotency_key)) continue;
      if (event.idempotency_key) seenKeys.add(event.idempotency_key);
      receiver.events.push(event);
    }
    return reply.status(201).send({ accepted: events.length });
  });
  receiver.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return receiver;
}
