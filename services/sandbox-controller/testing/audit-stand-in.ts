import Fastify from 'fastify';
import { AuditEventInput } from '../../audit-engine/contract.js';

export interface AuditStandIn {
  url: string;
  events: AuditEventInput[];
  close(): Promise<void>;
}

/** A loopback stand-in for the Audit Engine's `POST /audit/events` that keeps what it accepts. */
export async function startAuditStandIn(): Promise<AuditStandIn> {
  const app = Fastify();
  const events: AuditEventInput[] = [];
  app.post('/audit/events', async (request, reply) => {
    const body = request.body as { events?: unknown[] };
    const parsed = (body.events ?? [body]).map((event) => AuditEventInput.parse(event));
    events.push(...parsed);
    return reply.status(201).send({ events: parsed });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, events, close: () => app.close() };
}
