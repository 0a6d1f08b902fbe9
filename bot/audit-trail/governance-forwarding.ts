/**
 * Governance events (lockdown, strict mode, approvals, break-glass) are kept in the bot's own
 * trail AND sent to the Audit Engine, so the stack's tamper-evident log shows them too. They go
 * through the durable outbox, which delivers them whenever the Audit Engine is up.
 */
import type { AuditEventInput } from '../../services/audit-engine/contract.js';
import type { AuditOutbox } from '../../services/kit/audit-outbox.js';
import type { PendingRecord } from './trail-record.js';

export const BOT_AUDIT_SOURCE = 'acgs-chatops-bot';

/** Commands whose every record is a governance event. */
export const GOVERNANCE_COMMANDS: ReadonlySet<string> = new Set(['lockdown', 'lockdown lift', 'strict-mode']);

/** Kinds that are governance events whatever the command. */
const GOVERNANCE_KINDS: ReadonlySet<string> = new Set(['approval_requested', 'vote', 'approval_resolved', 'break_glass']);

export function isGovernanceRecord(record: PendingRecord): boolean {
  return GOVERNANCE_KINDS.has(record.kind) || (record.command !== null && GOVERNANCE_COMMANDS.has(record.command));
}

/** The Audit Engine event for a trail record (already redacted and storable). */
export function governanceEvent(record: PendingRecord): AuditEventInput {
  const critical = record.kind === 'break_glass' || record.command === 'lockdown';
  return {
    event_type: `chatops.${record.kind}`,
    source: BOT_AUDIT_SOURCE,
    ...(record.actor ? { agent_id: record.actor.slice(0, 128) } : {}),
    severity: critical ? 'critical' : 'info',
    occurred_at: record.at,
    // The trail's own key: a record replayed or forwarded twice is stored once by the engine.
    idempotency_key: `chatops-trail:${record.idempotency_key}`,
    data: {
      trail_key: record.idempotency_key,
      command: record.command,
      arguments: record.arguments ?? null,
      decision: record.decision,
      level: record.level,
      outcome: record.outcome,
      actor: record.actor,
      origin: record.origin,
      channel: record.channel,
      details: record.details,
    },
  };
}

/** Sends the record to the Audit Engine's outbox when it is a governance event; returns whether it did. */
export function forwardGovernanceRecord(outbox: Pick<AuditOutbox, 'record'>, record: PendingRecord): boolean {
  if (!isGovernanceRecord(record)) return false;
  outbox.record(governanceEvent(record));
  return true;
}
