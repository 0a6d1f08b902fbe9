import type { z } from 'zod';
import { ServiceError } from '../kit/errors.js';
import { AuditEventBatch, AuditEventInput } from './contract.js';

function describe(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}

/**
 * `POST /audit/events` takes one event or `{events: [...]}`. Choosing the schema by the presence
 * of `events` (rather than a zod union) keeps the error messages about the fields the caller sent.
 */
export function parseAppendBody(body: unknown): AuditEventInput[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ServiceError('INVALID_REQUEST', {
      detail: 'body: send one event object, or {"events": [...]} with 1 to 1000 events',
    });
  }
  const batch = 'events' in body;
  const parsed = batch ? AuditEventBatch.safeParse(body) : AuditEventInput.safeParse(body);
  if (!parsed.success) {
    const issues = describe(parsed.error);
    throw new ServiceError('INVALID_REQUEST', { detail: `body: ${issues.join('; ')}` }, { issues });
  }
  return batch ? (parsed.data as AuditEventBatch).events : [parsed.data as AuditEventInput];
}
