import { requireServiceToken } from '../../kit/admin-auth.js';
import { ServiceError } from '../../kit/errors.js';
import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { parseAppendBody } from '../append-body.js';
import { AppendEventsResponse, AuditEvent, ListEventsResponse } from '../contract.js';
import { toAuditEvent } from '../event-rows.js';
import { EventIdParams, ListEventsQuery, NoQuery, encodeCursor } from '../list-query.js';
import { parsingSerializerCompiler } from '../response-serializer.js';

/**
 * Appending needs the service token (the stack's own producers hold it), so nobody else can put a
 * record into the chain or take an idempotency key before its producer; reads stay open.
 */
export async function eventRoutes(app: Service, options: { serviceToken?: string | undefined }): Promise<void> {
  app.setSerializerCompiler(parsingSerializerCompiler);
  if (!options.serviceToken) app.log.warn('ACGS_SERVICE_TOKEN is not set: POST /audit/events answers 401 SERVICE_UNAUTHORIZED');
  app.post(
    '/audit/events',
    // No body schema: parseAppendBody parses it, so that one event and a batch both get precise messages.
    // The token is checked on request, before the body is parsed.
    { onRequest: requireServiceToken(options.serviceToken), schema: { querystring: NoQuery, response: { 201: AppendEventsResponse } } },
    async (request, reply) => {
      const inputs = parseAppendBody(request.body);
      const outcomes = await withDatabase(() => app.auditStore.append(inputs));
      const replayed = outcomes.filter((outcome) => outcome.replayed).length;
      return reply.code(201).send({
        events: outcomes.map((outcome) => toAuditEvent(outcome.event)),
        appended: outcomes.length - replayed,
        replayed,
      });
    },
  );

  app.get(
    '/audit/events',
    { schema: { querystring: ListEventsQuery, response: { 200: ListEventsResponse } } },
    async (request) => {
      const { cursor, ...filter } = request.query;
      const page = await withDatabase(() => app.auditStore.list({ ...filter, before: cursor }));
      const oldest = page.events[page.events.length - 1];
      return {
        events: page.events.map(toAuditEvent),
        next_cursor: page.more && oldest ? encodeCursor(oldest.sequence) : null,
      };
    },
  );

  app.get(
    '/audit/events/:id',
    { schema: { params: EventIdParams, querystring: NoQuery, response: { 200: AuditEvent } } },
    async (request) => {
      const event = await withDatabase(() => app.auditStore.get(request.params.id));
      if (!event) throw new ServiceError('NOT_FOUND', { detail: `No audit event with id ${request.params.id}` });
      return toAuditEvent(event);
    },
  );
}
