/**
 * Records the trail could store nowhere: PostgreSQL was away and the local spool could not be
 * written either (a full disk). They cannot be kept, so they are never silent instead: each is
 * counted and logged at once, the count is in `status()` (and the bot's /metrics), and as soon as
 * anything can be stored again a `records_lost` note joins the trail saying how many were lost,
 * when, why, and their keys. `audit verify` reads those notes (commands/audit-documents.ts), so a loss outlives the process.
 */
import { randomUUID } from 'node:crypto';
import { LOSS_NOTE_KIND, type AuditLogLoss } from '../../commands/ports.js';
import { prepareRecord, type PendingRecord } from './trail-record.js';

// The note's kind and the loss are part of the audit-log port that `audit verify` reads.
export { LOSS_NOTE_KIND };

/** How many lost records' keys one note names; its count is always the whole count. */
const NOTE_MAX_KEYS = 50;

export type TrailLoss = AuditLogLoss;

export interface LossLog {
  error(obj: object, msg: string): void;
}

export interface LossLedger {
  /** Counts and logs a record stored nowhere; returns the sentence to refuse its caller with. */
  lost(record: PendingRecord, reason: string): string;
  /** This process's losses since it started (absent when none); `unnoted` of them are not yet named by a note in the trail. */
  total(): (TrailLoss & { unnoted: number }) | undefined;
  /**
   * The note for the losses not yet in the trail, if any and none is on its way. The caller
   * appends it and calls `settle` with whether it was stored (spool or chain).
   */
  nextNote(): { record: PendingRecord; settle(stored: boolean): void } | undefined;
}

interface Unnoted extends TrailLoss {
  keys: string[];
}

function addLoss<T extends TrailLoss>(sum: T | undefined, at: string, reason: string, extra: Omit<T, keyof TrailLoss>): T {
  return { ...extra, count: (sum?.count ?? 0) + 1, firstAt: sum?.firstAt ?? at, lastAt: at, reason } as T;
}

export function createLossLedger(log?: LossLog): LossLedger {
  let total: TrailLoss | undefined;
  /** Losses not in the trail yet and not in the note on its way. */
  let unnoted: Unnoted | undefined;
  let noting = false;
  let inFlight: Unnoted | undefined;
  // Keys of this process's notes: unique across runs and replicas, each note stored once.
  const run = randomUUID();
  let notes = 0;

  return {
    lost(record, reason) {
      const now = new Date().toISOString();
      // A note that could not be stored is not a loss of its own: its losses wait for the next one.
      if (record.kind === LOSS_NOTE_KIND) return `The bot's audit trail could not store its note of lost records: ${reason}.`;
      total = addLoss(total, now, reason, {});
      unnoted = addLoss(unnoted, now, reason, { keys: [...(unnoted?.keys ?? []), record.idempotency_key].slice(0, NOTE_MAX_KEYS) });
      log?.error(
        { key: record.idempotency_key, kind: record.kind, actor: record.actor, command: record.command, at: record.at, lost: total.count, reason },
        'audit trail: a record could be stored neither in PostgreSQL nor in the local spool; it is lost',
      );
      return (
        `The bot's audit trail could not store this record: ${reason}. ${total.count} record${total.count === 1 ? ' has' : 's have'} been lost ` +
        `since ${total.firstAt}; escalated actions are refused while their records cannot be stored.`
      );
    },
    total: () => (total ? { ...total, unnoted: (unnoted?.count ?? 0) + (inFlight?.count ?? 0) } : undefined),
    nextNote() {
      if (!unnoted || noting) return undefined;
      const note = unnoted;
      unnoted = undefined;
      noting = true;
      inFlight = note;
      notes += 1;
      const record = prepareRecord({
        kind: LOSS_NOTE_KIND,
        actor: 'system',
        origin: 'system',
        outcome: 'lost',
        key: `${LOSS_NOTE_KIND}:${run}:${notes}`,
        details: { count: note.count, first_at: note.firstAt, last_at: note.lastAt, reason: note.reason, keys: note.keys },
      });
      return {
        record,
        settle(stored) {
          noting = false;
          inFlight = undefined;
          // Not stored: its losses wait for the next note, with any counted meanwhile.
          if (!stored) unnoted = unnoted ? mergeUnnoted(note, unnoted) : note;
        },
      };
    },
  };
}

function mergeUnnoted(earlier: Unnoted, later: Unnoted): Unnoted {
  return {
    count: earlier.count + later.count,
    firstAt: earlier.firstAt,
    lastAt: later.lastAt,
    reason: later.reason,
    keys: [...earlier.keys, ...later.keys].slice(0, NOTE_MAX_KEYS),
  };
}
