/**
 * `violations [limit]`: recent safety_violation events from the Audit Engine, newest first (the
 * runbook's Constitutional Violation Alert, step 1).
 */
import { z } from 'zod';
import type { AuditEvent } from '../services/audit-engine/contract.js';
import { wholeNumberArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { clip, formatAge, formatTimestamp } from './format.js';
import type { ResultDocument, Tone } from './result.js';
import { callServiceClient } from './service-errors.js';

export const VIOLATIONS_LIMIT = { default: 10, max: 100 } as const;

/** Violations newer than this make the listing a warning: something is happening now. */
export const RECENT_VIOLATION_MS = 60 * 60 * 1000;

interface ViolationData {
  action?: unknown;
  violations?: { principle?: unknown; code?: unknown; message?: unknown }[];
  reasons?: unknown[];
}

/** What the agent tried and which principle it broke, from the Policy Engine's event data. */
function whatHappened(event: AuditEvent): string {
  const data = (event.data ?? {}) as ViolationData;
  const action = typeof data.action === 'string' ? data.action : undefined;
  const codes = (Array.isArray(data.violations) ? data.violations : [])
    .map((violation) => (typeof violation?.code === 'string' ? violation.code : typeof violation?.principle === 'string' ? violation.principle : undefined))
    .filter((code): code is string => code !== undefined);
  const reason = Array.isArray(data.reasons) && typeof data.reasons[0] === 'string' ? data.reasons[0] : undefined;
  const parts = [action, codes.length ? codes.join(', ') : reason].filter(Boolean);
  return clip(parts.join(': ') || event.event_type, 120);
}

export function violationsDocument(events: AuditEvent[], limit: number, now = Date.now()): ResultDocument {
  if (events.length === 0) {
    return {
      title: 'Safety violations',
      tone: 'ok',
      summary: 'No safety violations are recorded.',
      blocks: [],
      data: { violations: [], limit },
    };
  }
  const newest = events[0]!;
  const recent = now - new Date(newest.occurred_at).getTime() < RECENT_VIOLATION_MS;
  const tone: Tone = recent ? 'warn' : 'info';
  return {
    title: 'Safety violations',
    tone,
    summary: `${events.length === limit ? `The newest ${limit}` : `${events.length}`} safety violation${events.length === 1 ? '' : 's'}; the newest ${formatAge(newest.occurred_at, now)}.`,
    blocks: [
      {
        type: 'table',
        columns: ['when', 'agent', 'source', 'what', 'event'],
        rows: events.map((event) => [
          formatTimestamp(event.occurred_at),
          clip(event.agent_id ?? '-', 40),
          clip(event.source ?? '-', 30),
          whatHappened(event),
          `#${event.sequence}`,
        ]),
      },
    ],
    footer: 'From the Audit Engine (event_type=safety_violation), newest first. `violations 50` shows more.',
    data: {
      limit,
      violations: events.map((event) => ({
        id: event.id,
        sequence: event.sequence,
        occurred_at: event.occurred_at,
        agent_id: event.agent_id ?? null,
        source: event.source ?? null,
        severity: event.severity ?? null,
        data: event.data ?? null,
      })),
    },
  };
}

export const violations = defineCommand({
  name: 'violations',
  summary: 'Recent safety violations from the audit trail, newest first',
  usage: '[limit]',
  examples: ['violations', 'violations 25'],
  level: 'read',
  positionals: ['limit'],
  args: z.object({ limit: wholeNumberArgument(1, VIOLATIONS_LIMIT.max).optional() }),
  async run(context, args) {
    const limit = args.limit ?? VIOLATIONS_LIMIT.default;
    const page = await callServiceClient('audit-engine', context.services, () =>
      context.services.auditEngine.listEvents({ event_type: 'safety_violation', limit }),
    );
    // The engine lists newest first; sorting again keeps that promise whatever the engine does.
    const events = [...page.events].sort((a, b) => b.sequence - a.sequence);
    return violationsDocument(events, limit);
  },
});
