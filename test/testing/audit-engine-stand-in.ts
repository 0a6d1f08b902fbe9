import Fastify from 'fastify';
import { parseAppendBody } from '../../services/audit-engine/append-body.js';
import type { AuditEventInput } from '../../services/audit-engine/contract.js';
import { normalizeInput } from '../../services/audit-engine/event-store.js';
import { requireServiceToken } from '../../services/kit/admin-auth.js';
import { ServiceError } from '../../services/kit/errors.js';
import { TEST_SERVICE_TOKEN } from './tokens.js';

export interface AuditEngineStandIn {
  url: string;
  /**
   * Accepted events in arrival order, validated with the Audit Engine's own request parser and checks; a
   * retry with a known idempotency_key is kept once, as the real engine does.
   */
  events: AuditEventInput[];
  /** While false it answers 503 DEPENDENCY_UNAVAILABLE, like an Audit Engine whose database is down. */
  accepting: boolean;
  /** Resolves with the matching events once at least `count` of them arrived; fails naming what did arrive. */
  waitFor(count: number, filter?: (event: AuditEventInput) => boolean, timeoutMs?: number): Promise<AuditEventInput[]>;
  close(): Promise<void>;
}

/**
 * A stand-in for the Audit Engine's `POST /audit/events` (one event or `{events: [...]}`) on
 * 127.0.0.1, for tests of the services that produce audit events. Invalid events get the real
 * engine's 400 (so a producer's contract drift fails the test); valid ones are kept in memory.
 * It answers `{appended, replayed}` without hashing anything: read events from `events`, not
 * through the Audit Engine client. Tests of the chain itself use the real engine
 * (services/audit-engine/testing/audit-test-context.ts). Like the real engine it requires the service token
 * (the kits' TEST_SERVICE_TOKEN unless given), so a producer that does not send it fails its test.
 */
export async function startAuditEngineStandIn(options: { serviceToken?: string } = {}): Promise<AuditEngineStandIn> {
  const app = Fastify({ logger: false });
  const authorize = requireServiceToken(options.serviceToken ?? TEST_SERVICE_TOKEN);
  const seenKeys = new Set<string>();
  const standIn: AuditEngineStandIn = {
    url: '',
    events: [],
    accepting: true,
    async waitFor(count, filter = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = standIn.events.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) {
          const kinds = JSON.stringify(standIn.events.map((event) => event.event_type));
          throw new Error(`expected ${count} matching audit events within ${timeoutMs} ms, got ${matching.length}; all received: ${kinds}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => app.close(),
  };
  app.post('/audit/events', async (request, reply) => {
    if (!standIn.accepting) {
      return reply.status(503).send({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'PostgreSQL is unavailable: down for the test' } });
    }
    let events: AuditEventInput[];
    try {
      await authorize(request);
      events = parseAppendBody(request.body);
      // The engine's own checks beyond the schema (the constitutional hash).
      for (const event of events) normalizeInput(event, new Date());
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message, details: error.details } });
    }
    let replayed = 0;
    for (const event of events) {
      if (event.idempotency_key !== undefined && seenKeys.has(event.idempotency_key)) {
        replayed += 1;
        continue;
      }
      if (event.idempotency_key !== undefined) seenKeys.add(event.idempotency_key);
      standIn.events.push(event);
    }
    return reply.status(201).send({ appended: events.length - replayed, replayed });
  });
  standIn.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return standIn;
}
