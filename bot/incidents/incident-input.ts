/**
 * What an incident is made of and what the store accepts, checked with zod before anything is
 * written. Every refusal is an IncidentError whose message is safe to show the person who asked.
 */
import { z } from 'zod';
import { INCIDENT_ROLES, INCIDENT_SEVERITIES, INCIDENT_TYPES } from '../../commands/ports.js';

// One vocabulary: the commands' port (commands/ports.ts) holds it, since commands never import bot/.
export const SEVERITIES = INCIDENT_SEVERITIES;
export { INCIDENT_ROLES, INCIDENT_TYPES };
export const INCIDENT_STATES = ['declared', 'resolved', 'closed'] as const;
/** `declared`, `resolved` and `closed` are put there by the store itself, with the change. */
export const TIMELINE_KINDS = ['declared', 'resolved', 'closed', 'command', 'runbook-step', 'approval', 'alert', 'role-change', 'severity-change', 'type-change', 'status-update', 'note', 'marked-message'] as const;
export const ACTION_ITEM_STATES = ['open', 'done', 'dropped'] as const;

export type Severity = (typeof SEVERITIES)[number];
export type IncidentType = (typeof INCIDENT_TYPES)[number];
export type IncidentRole = (typeof INCIDENT_ROLES)[number];
export type IncidentState = (typeof INCIDENT_STATES)[number];
export type TimelineKind = (typeof TIMELINE_KINDS)[number];
export type ActionItemState = (typeof ACTION_ITEM_STATES)[number];

/** A title is read in a channel topic and a list line: long ones belong in an update. */
export const MAX_TITLE_LENGTH = 150;
/** Slack's own limit on a message's text. */
export const MAX_TEXT_LENGTH = 4000;
/** A request's identity (a Slack trigger id, a command's execution id) is short. */
export const MAX_REQUEST_KEY_LENGTH = 200;

export class IncidentError extends Error {
  override readonly name = 'IncidentError';
  constructor(
    message: string,
    readonly code: 'invalid' | 'not-found' | 'closed' | 'transition',
  ) {
    super(message);
  }
}

const oneOf = <T extends readonly [string, ...string[]]>(what: string, values: T) =>
  z.enum(values, { error: (issue) => `unknown ${what} "${String(issue.input)}": use one of ${values.join(', ')}` });

export const Severity = oneOf('severity', SEVERITIES);
export const IncidentType = oneOf('incident type', INCIDENT_TYPES);
export const IncidentRole = oneOf('incident role', INCIDENT_ROLES);
export const TimelineKind = oneOf('timeline entry kind', TIMELINE_KINDS);
export const ActionItemState = oneOf('action item state', ACTION_ITEM_STATES);

const text = (what: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${what} is missing` : `${what} must be text`) })
    .trim()
    .min(1, `${what} is empty`)
    .max(max, `${what} is too long (at most ${max} characters)`);

const person = (what: string) => text(what, 200);

/**
 * The caller's identity of the request (a command's request id): the same key again records
 * nothing new and answers what the first one recorded, so a retried or double-submitted request
 * counts once.
 */
const requestKey = text('the request key', MAX_REQUEST_KEY_LENGTH).optional();

/** Who did something: a Slack user id, or the bot's own actor. */
export const Actor = person('who did it');

export const Declaration = z
  .object({
    title: text('the title', MAX_TITLE_LENGTH),
    severity: Severity,
    type: IncidentType,
    private: z.boolean().optional(),
    declaredBy: person('who declared it'),
    at: z.date(),
    /** When the problem was first noticed; the declaration's time when not given. */
    detectedAt: z.date().optional(),
    channelId: z.string().min(1).optional(),
    requestKey,
  })
  .refine((declaration) => !declaration.detectedAt || declaration.detectedAt <= declaration.at, {
    error: 'the detection time is after the declaration: an incident is declared once something was noticed',
  });
export type Declaration = z.input<typeof Declaration>;

export const TimelineEntryInput = z.object({
  kind: TimelineKind,
  occurredAt: z.date(),
  actor: person('the actor'),
  text: text('the text', MAX_TEXT_LENGTH),
  reference: z.string().min(1).optional(),
  requestKey,
});
export type TimelineEntryInput = z.input<typeof TimelineEntryInput>;

export const StatusUpdateInput = z.object({ author: person('the author'), text: text('the update', MAX_TEXT_LENGTH), at: z.date(), requestKey });
export type StatusUpdateInput = z.input<typeof StatusUpdateInput>;

export const RoleChangeInput = z.object({ role: IncidentRole, holder: person('the new holder'), by: person('who changed it'), at: z.date() });
export type RoleChangeInput = z.input<typeof RoleChangeInput>;

export const ActionItemInput = z.object({ text: text('the action item', MAX_TEXT_LENGTH), owner: person('the owner'), by: person('who added it'), at: z.date(), requestKey });
export type ActionItemInput = z.input<typeof ActionItemInput>;

/** Parses with a schema; the first problem becomes the IncidentError's message. */
export function checked<T extends z.ZodTypeAny>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new IncidentError(issue.message, 'invalid');
}

/** INC-<n>, the key people read and type. */
export function incidentKey(id: string | number): string {
  return `INC-${id}`;
}

/** The id in a key ("INC-12", "inc-12" or "12"); undefined for anything else. */
export function incidentIdOf(key: string): string | undefined {
  const match = /^(?:inc-)?([1-9][0-9]{0,17})$/i.exec(key.trim());
  return match?.[1];
}
