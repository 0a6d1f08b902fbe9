import { z } from 'zod';

/**
 * The Audit Engine's wire contract, shared by its routes and its clients (every service
 * that records events). `event_type` is a snake_case slug such as `safety_violation`.
 */
export const EventType = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_.]*$/, 'must be a lower-case slug such as "safety_violation"');

export const AuditEventInput = z
  .object({
    event_type: EventType,
    /** The service or component that recorded the event, e.g. `policy-engine`. */
    source: z.string().min(1).max(64).optional(),
    agent_id: z.string().min(1).max(128).optional(),
    severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
    /** When it happened (ISO 8601); the engine's clock when absent. */
    occurred_at: z.iso.datetime({ offset: true }).optional(),
    /** Producer-side id that makes a retried delivery idempotent. */
    idempotency_key: z.string().min(1).max(128).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type AuditEventInput = z.infer<typeof AuditEventInput>;

export const AuditEvent = AuditEventInput.extend({
  id: z.string(),
  sequence: z.number().int(),
  occurred_at: z.string(),
  recorded_at: z.string(),
  constitutional_hash: z.string(),
  content_hash: z.string(),
  prev_chain_hash: z.string(),
  chain_hash: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
