/**
 * What one record of the bot's audit trail holds, and how a caller's input becomes exactly the
 * record that is hashed, spooled and stored: validated, redacted, made storable and given its
 * idempotency key and time.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CommandLevel, CommandOrigin } from '../../commands/command.js';
import { redactText, redactValue } from './redaction.js';

/**
 * The kinds of record. The database only requires a lower-case slug, so a new kind needs no
 * migration, just a line here.
 */
export const TRAIL_KINDS = [
  /** A command line was received (who, what, where), before anything ran. */
  'command',
  /** The authorization policy's answer: allow, deny, or needs approval, with the level. */
  'decision',
  'approval_requested',
  /** One approver's approve or deny. */
  'vote',
  /** How a request ended: approved, denied, expired, cancelled, superseded. */
  'approval_resolved',
  /** An action is about to run (written before it starts). */
  'execution',
  /** What the action did. */
  'result',
  /** An admin ran a Level 4 action at once, with a reason, for review afterwards. */
  'break_glass',
  /** Records that could be stored nowhere (PostgreSQL away, disk full): how many, when, why (trail-losses.ts). */
  'records_lost',
  /** A runbook step's start (committed before it runs) or end, or its compensation's (bot/runbook-runs). */
  'run_step',
  /** A state a runbook run settled in: succeeded, failed, needs_decision, aborted ... */
  'run_state',
  /** A request refused for its credentials: a bad Slack signature, a wrong webhook token (auth-failures.ts). */
  'auth_failure',
  /** A figure of the DR test (restore time, a service's failover, the standing approval used, the report). */
  'dr_test',
  /** A security breach's evidence archive: its MANIFEST.sha256's hash, tying the archive to the chain (runbooks/emergency/). */
  'evidence_archive',
] as const;
export type TrailKind = (typeof TRAIL_KINDS)[number];

/** Where a record came from: the command origins, and `system` for the bot itself (expiries, start-up). */
export type TrailOrigin = CommandOrigin | 'system';

const LEVEL_CODES = { read: 0, 1: 1, 2: 2, 3: 3, 4: 4 } as const satisfies Record<CommandLevel, number>;

/** What a caller passes to `append`. Everything but `kind` is optional. */
export interface TrailRecordInput {
  kind: TrailKind;
  /** Slack user ID, `cli:<os user>`, or `system`. */
  actor?: string | null;
  origin?: TrailOrigin | null;
  channel?: string | null;
  /** The resolved command name, e.g. `scale` or `lockdown lift`. */
  command?: string | null;
  /** The parsed arguments (an object), or the raw line when it could not be parsed; redacted. */
  args?: unknown;
  /** allow, deny, needs_approval, approve, approved, denied, expired ... */
  decision?: string | null;
  level?: CommandLevel | null;
  /** ok, warn, fail, refused, error, pending ... */
  outcome?: string | null;
  /** Anything else worth keeping (a JSON object); redacted. */
  details?: Record<string, unknown> | null;
  /**
   * Makes a retried append idempotent: a second record with the same key is not written again.
   * Defaults to a random UUID (every call is a new record).
   */
  key?: string;
  /** When it happened; now by default. Kept as it was when a record is replayed from the spool. */
  at?: Date | string;
}

/**
 * A record ready for the chain: exactly what is spooled and, with its sequence and hashes, stored.
 * Field names are the table's columns.
 */
export interface PendingRecord {
  idempotency_key: string;
  at: string;
  kind: string;
  actor: string | null;
  origin: string | null;
  channel: string | null;
  command: string | null;
  arguments: unknown;
  decision: string | null;
  /** 0 for read-only, otherwise the runbook's escalation level 1 to 4. */
  level: number | null;
  outcome: string | null;
  details: Record<string, unknown> | null;
}

/** A spool line read back after a restart. */
export const PendingRecordSchema = z
  .object({
    idempotency_key: z.string().min(1),
    at: z.string(),
    kind: z.string().regex(/^[a-z][a-z0-9_]*$/),
    actor: z.string().nullable(),
    origin: z.string().nullable(),
    channel: z.string().nullable(),
    command: z.string().nullable(),
    arguments: z.unknown(),
    decision: z.string().nullable(),
    level: z.number().int().min(0).max(4).nullable(),
    outcome: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .strict()
  .transform((record): PendingRecord => ({ ...record, arguments: record.arguments ?? null }));

/** A bad input from our own code: nothing is recorded, and the message says what to fix. */
export class TrailInputError extends Error {
  override readonly name = 'TrailInputError';
}

const InputSchema = z.object({
  kind: z.enum(TRAIL_KINDS, { error: (issue) => `kind must be one of ${TRAIL_KINDS.join(', ')} (got ${JSON.stringify(issue.input)})` }),
  level: z
    .union([z.literal('read'), z.literal(1), z.literal(2), z.literal(3), z.literal(4)], { error: 'level must be "read" or 1 to 4' })
    .nullable()
    .optional(),
  details: z.record(z.string(), z.unknown(), { error: 'details must be a JSON object' }).nullable().optional(),
  key: z.string().min(1, 'key must not be empty').max(100, 'key must be at most 100 characters').optional(),
  at: z
    .custom<Date | string>(
      (value) =>
        (value instanceof Date || (typeof value === 'string' && z.iso.datetime({ offset: true }).safeParse(value).success)) &&
        !Number.isNaN(new Date(value).getTime()),
      'at must be a Date or an ISO 8601 time',
    )
    .optional(),
});

/** Limits that keep one record small; longer text is cut, with a note of how much. */
const MAX_TEXT_FIELD = 200;
const MAX_JSON_STRING = 4000;
const MAX_ARRAY_ITEMS = 500;
const MAX_DEPTH = 32;

// PostgreSQL stores neither NUL nor unpaired surrogates in text or jsonb; either would make the
// stored record differ from the hashed one. They become U+FFFD.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function storableText(text: string, max: number): string {
  const clean = text.replace(UNSTORABLE, '\uFFFD');
  if (clean.length <= max) return clean;
  // Cut on a code point boundary so no half surrogate pair is left at the end.
  const cut = Array.from(clean.slice(0, max)).join('').replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}… [${clean.length - cut.length} more characters cut]`;
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new TrailInputError(`${field} must be text (got ${typeof value})`);
  return storableText(redactText(value), MAX_TEXT_FIELD);
}

/** Plain JSON, as it will read back from jsonb: Dates as text, no undefined, no NaN. */
function toPlainJson(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
    return text === undefined ? null : (JSON.parse(text) as unknown);
  } catch (error) {
    return `[not recordable: ${(error as Error).message}]`;
  }
}

function storableJson(value: unknown, depth = 1): unknown {
  if (typeof value === 'string') return storableText(value, MAX_JSON_STRING);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return `[nested deeper than ${MAX_DEPTH} levels]`;
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ARRAY_ITEMS).map((item) => storableJson(item, depth + 1));
    if (value.length > MAX_ARRAY_ITEMS) items.push(`[${value.length - MAX_ARRAY_ITEMS} more items cut]`);
    return items;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[storableText(key, MAX_TEXT_FIELD)] = storableJson(item, depth + 1);
  return copy;
}

function recordableJson(value: unknown): unknown {
  return storableJson(redactValue(toPlainJson(value)));
}

/**
 * The record as it will be chained. Throws `TrailInputError` for input that is wrong in shape
 * (an unknown kind, a level out of range); text that is merely long or odd is cut or cleaned.
 */
export function prepareRecord(input: TrailRecordInput, now: Date = new Date()): PendingRecord {
  const parsed = InputSchema.safeParse(input);
  if (!parsed.success) {
    throw new TrailInputError(`audit record refused: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const { kind, level, details, key, at } = parsed.data;
  return {
    idempotency_key: key ? storableText(key, 100) : randomUUID(),
    // Millisecond UTC: what timestamptz gives back through a JS Date, so the hash round-trips.
    at: new Date(at ?? now).toISOString(),
    kind,
    actor: optionalText(input.actor, 'actor'),
    origin: optionalText(input.origin, 'origin'),
    channel: optionalText(input.channel, 'channel'),
    command: optionalText(input.command, 'command'),
    arguments: recordableJson(input.args),
    decision: optionalText(input.decision, 'decision'),
    level: level === undefined || level === null ? null : LEVEL_CODES[level],
    outcome: optionalText(input.outcome, 'outcome'),
    details: details ? (recordableJson(details) as Record<string, unknown>) : null,
  };
}

/** A record as stored in the chain, as the query and verify APIs return it. */
export interface TrailRecord {
  sequence: number;
  key: string;
  /** When it happened. */
  at: string;
  /** When it was written to the chain (later than `at` for a record replayed from the spool). */
  recordedAt: string;
  kind: string;
  actor: string | null;
  origin: string | null;
  channel: string | null;
  command: string | null;
  args: unknown;
  decision: string | null;
  level: CommandLevel | null;
  outcome: string | null;
  details: Record<string, unknown> | null;
  constitutionalHash: string;
  contentHash: string;
  prevHash: string;
  hash: string;
}

export function levelFromCode(code: number | null): CommandLevel | null {
  if (code === null) return null;
  return code === 0 ? 'read' : (code as 1 | 2 | 3 | 4);
}
