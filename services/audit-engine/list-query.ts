import { z } from 'zod';
import { AuditEventInput, DEFAULT_LIST_LIMIT, EventType, MAX_LIST_LIMIT } from './contract.js';

const CursorPayload = z.object({ v: z.literal(1), before: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();

/** Opaque to clients: the sequence to continue below, so pages stay stable while events arrive. */
export function encodeCursor(beforeSequence: number): string {
  return Buffer.from(JSON.stringify({ v: 1, before: beforeSequence })).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  try {
    const parsed = CursorPayload.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data.before : undefined;
  } catch {
    return undefined;
  }
}

const Limit = z
  .string()
  .regex(/^[0-9]+$/, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
      .max(MAX_LIST_LIMIT, `must be at most ${MAX_LIST_LIMIT}; page with next_cursor for more`),
  );

const Cursor = z.string().transform((value, ctx) => {
  const before = decodeCursor(value);
  if (before === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor this service issued; pass next_cursor from a previous answer' });
    return z.NEVER;
  }
  return before;
});

const Timestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z' });

const inputShape = AuditEventInput.shape;

/** The query string of `GET /audit/events`, as the server parses it (every value arrives as text). */
export const ListEventsQuery = z
  .object({
    event_type: EventType.optional(),
    agent_id: inputShape.agent_id,
    source: inputShape.source,
    severity: inputShape.severity,
    since: Timestamp.optional(),
    until: Timestamp.optional(),
    limit: Limit.default(DEFAULT_LIST_LIMIT),
    cursor: Cursor.optional(),
  })
  .strict()
  .refine((query) => !query.since || !query.until || Date.parse(query.since) <= Date.parse(query.until), {
    message: 'since must not be later than until',
    path: ['since'],
  });
export type ListEventsQuery = z.output<typeof ListEventsQuery>;

/** For routes that take no query parameters: an unknown one is a 400, never silently ignored. */
export const NoQuery = z.object({}).strict();

export const EventIdParams = z.object({ id: z.uuid({ message: 'must be an event id (a UUID)' }) }).strict();
