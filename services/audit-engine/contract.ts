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

/** Deepest nesting accepted in `data`; deeper documents are almost always mistakes or attacks. */
export const MAX_DATA_DEPTH = 32;

/** Largest batch `POST /audit/events` takes in one request. */
export const MAX_BATCH_EVENTS = 1000;

export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

// PostgreSQL cannot store NUL in text or jsonb, and turns unpaired surrogates into U+FFFD; either
// would make the stored event differ from the one that was hashed, so both are refused up front.
const UNSTORABLE_TEXT = /[\u0000\p{Cs}]/u;

function unstorableText(value: string): boolean {
  return UNSTORABLE_TEXT.test(value);
}

/** Why a JSON value could not be stored and hashed faithfully, or undefined when it can. */
export function findUnstorableJson(value: unknown, path = 'data', depth = 1): string | undefined {
  if (typeof value === 'string') {
    return unstorableText(value) ? `${path} contains a NUL character or an unpaired surrogate` : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DATA_DEPTH) return `${path} is nested deeper than ${MAX_DATA_DEPTH} levels`;
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  for (const [key, item] of entries) {
    if (unstorableText(key)) return `${path} has a key with a NUL character or an unpaired surrogate`;
    const problem = findUnstorableJson(item, `${path}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

const StorableText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !unstorableText(value), 'must not contain NUL characters or unpaired surrogates');

const EARLIEST_OCCURRED_AT = Date.UTC(1970, 0, 1);

export const AuditEventInput = z
  .object({
    event_type: EventType,
    /** The service or component that recorded the event, e.g. `policy-engine`. */
    source: StorableText(64).optional(),
    agent_id: StorableText(128).optional(),
    severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
    /**
     * When it happened (ISO 8601); the engine's clock when absent. Stored in UTC with millisecond
     * precision, which is the form that is hashed and returned.
     */
    occurred_at: z.iso
      .datetime({ offset: true })
      .refine((value) => Date.parse(value) >= EARLIEST_OCCURRED_AT, 'must not be before 1970-01-01')
      .optional(),
    /** Producer-side id that makes a retried delivery idempotent. */
    idempotency_key: StorableText(128).optional(),
    data: z
      .record(z.string(), z.unknown())
      .superRefine((value, ctx) => {
        const problem = findUnstorableJson(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** Optional; when a producer sends it, it must be the engine's constitutional hash. */
    constitutional_hash: z.string().max(64).optional(),
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

/** `POST /audit/events` takes one event, or `{events: [...]}` with 1 to 1000 of them. */
export const AuditEventBatch = z
  .object({ events: z.array(AuditEventInput).min(1).max(MAX_BATCH_EVENTS) })
  .strict();
export type AuditEventBatch = z.infer<typeof AuditEventBatch>;

export const AppendEventsResponse = z
  .object({
    /** The stored events, in the order they were sent; replays return the event stored first. */
    events: z.array(AuditEvent),
    appended: z.number().int(),
    /** How many of them were already stored under their `idempotency_key`. */
    replayed: z.number().int(),
  })
  .strict();
export type AppendEventsResponse = z.infer<typeof AppendEventsResponse>;

export const ListEventsResponse = z
  .object({
    events: z.array(AuditEvent),
    /** Pass as `cursor` to get the next (older) page; null on the last page. */
    next_cursor: z.string().nullable(),
  })
  .strict();
export type ListEventsResponse = z.infer<typeof ListEventsResponse>;

/** What a client may filter `GET /audit/events` by (the wire form is the query string). */
export interface ListEventsParams {
  event_type?: string;
  agent_id?: string;
  source?: string;
  severity?: AuditEventInput['severity'];
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

export const ChainHead = z.object({ sequence: z.number().int(), chain_hash: z.string() }).strict();
export type ChainHead = z.infer<typeof ChainHead>;

/**
 * `missing`: an event a signed checkpoint lists is nowhere in the chain; `checkpoint`: the chain
 * differs from what a signed checkpoint recorded (events rewritten with recomputed hashes).
 */
export const BrokenCheck = z.enum(['sequence', 'prev_chain_hash', 'content_hash', 'chain_hash', 'head', 'missing', 'checkpoint']);
export type BrokenCheck = z.infer<typeof BrokenCheck>;

export const BrokenEvent = z
  .object({
    /** Null when the break is events missing after the last stored one (check `head`). */
    id: z.string().nullable(),
    sequence: z.number().int(),
    check: BrokenCheck,
    expected: z.string(),
    stored: z.string(),
    message: z.string(),
  })
  .strict();
export type BrokenEvent = z.infer<typeof BrokenEvent>;

export const VerifyScope = z.enum(['checkpoint', 'full']);
export type VerifyScope = z.infer<typeof VerifyScope>;

export const VerifyResponse = z
  .object({
    valid: z.boolean(),
    /** Events that passed every check before the first break (all of them when valid). */
    events_checked: z.number().int(),
    head: ChainHead,
    first_broken: BrokenEvent.optional(),
    checked_at: z.string(),
    duration_ms: z.number(),
    /** `full`: walked from the genesis; `checkpoint`: from the newest signed checkpoint the chain matches. */
    scope: VerifyScope.optional(),
    /** The signed checkpoint the chain matched (events up to it are vouched for by it). */
    checkpoint: z.object({ sequence: z.number().int(), at: z.string(), key_id: z.string() }).strict().optional(),
    /** Events a signed checkpoint lists that are nowhere in the chain any more (the first 50). */
    missing: z.array(z.object({ sequence: z.number().int(), id: z.string() }).strict()).optional(),
    /** About the checkpoints themselves: rows deleted, rows not signed by the engine's key. */
    notes: z.array(z.string()).optional(),
  })
  .strict();
export type VerifyResponse = z.infer<typeof VerifyResponse>;

/** The outcome of the last completed chain verification, as health shows it. */
export const ChainIntegrity = z
  .object({
    valid: z.boolean(),
    checked_at: z.string(),
    events_checked: z.number().int(),
    first_broken: BrokenEvent.optional(),
  })
  .strict();
export type ChainIntegrity = z.infer<typeof ChainIntegrity>;

export const AuditHealth = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    service: z.string(),
    version: z.string(),
    constitutional_hash: z.string(),
    uptime_seconds: z.number(),
    database: z.object({ reachable: z.boolean(), error: z.string().optional() }).strict(),
    chain_head: ChainHead.nullable(),
    /** Null until the first verification completes (background or `GET /audit/verify`). */
    integrity: ChainIntegrity.nullable(),
  })
  .strict();
export type AuditHealth = z.infer<typeof AuditHealth>;

const HexHash = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 as 64 lower-case hex digits');

/**
 * `POST /audit/admin/reanchor`: accept that the chain was rolled back to `head` by a restore, so
 * that the signed checkpoint kept outside the database, which is further on, no longer counts as
 * evidence of tampering. Names the restore, for the audit event that records the re-anchor.
 */
export const ReanchorRequest = z
  .object({
    /**
     * The head the caller saw in the restored database: the chain must end there now (or continue
     * from it). Sequence 0 with the genesis hash: the restored chain was empty.
     */
    head: z.object({ sequence: z.number().int().min(0), chain_hash: HexHash }).strict(),
    /** The backup that was restored. */
    backup_id: StorableText(128),
    /** The run (or ticket) that restored it. */
    run_id: StorableText(128),
    requested_by: StorableText(128),
    /** Who approved the restore; empty when the caller cannot say (the run's own record does). */
    approved_by: z.array(StorableText(128)).max(20),
  })
  .strict();
export type ReanchorRequest = z.infer<typeof ReanchorRequest>;

export const ReanchorResponse = z
  .object({
    /** The newest checkpoint before: the one the restored chain fell behind. */
    previous: z.object({ sequence: z.number().int(), hash: z.string(), at: z.string() }).strict(),
    head: ChainHead,
    /** The checkpoint now anchoring the chain, at `head`. */
    checkpoint: z.object({ sequence: z.number().int(), at: z.string(), key_id: z.string() }).strict(),
    /** The audit event that records the re-anchor. */
    event: z.object({ id: z.string(), sequence: z.number().int() }).strict(),
    /** The verification run right after, as health now shows it. */
    integrity: ChainIntegrity,
  })
  .strict();
export type ReanchorResponse = z.infer<typeof ReanchorResponse>;
