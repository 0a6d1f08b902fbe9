import { LRUCache } from 'lru-cache';
import type { L2EntryProblem } from './l2-entry-signature.js';

/** The audit event of refused L2 entries (a forged or copied decision in Redis). */
export interface L2RejectionAuditEvent {
  event_type: 'policy_cache_entry_rejected';
  severity: 'critical';
  data: Record<string, unknown>;
}

export interface L2RejectionReporterOptions {
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** The audit outbox. */
  audit: (event: L2RejectionAuditEvent) => void;
  /** Names this replica in the audit events. */
  replica: string;
  /** At most one audit event per this many ms; the next one counts what was refused meanwhile. */
  auditIntervalMs?: number;
  /** How many refused keys are remembered, so that each is logged once. */
  rememberedKeys?: number;
  clock?: () => number;
}

/**
 * Reports refused L2 entries: a warning once per cache key (a poisoned key asked for on every
 * request would otherwise log on every request), and audit events limited in rate, so that a
 * flood of poisoned keys cannot flood the Audit Engine; the count of each event says how many
 * were refused since the previous one. Every refusal is counted in the cache's statistics anyway.
 */
export function createL2RejectionReporter(options: L2RejectionReporterOptions): (cacheKey: string, problem: L2EntryProblem) => void {
  const intervalMs = options.auditIntervalMs ?? 60_000;
  const clock = options.clock ?? Date.now;
  const logged = new LRUCache<string, true>({ max: options.rememberedKeys ?? 10_000 });
  let lastAuditAt: number | undefined;
  let refusedSinceAudit = 0;
  return (cacheKey, problem) => {
    refusedSinceAudit += 1;
    if (!logged.has(cacheKey)) {
      logged.set(cacheKey, true);
      options.log.warn(
        { cache_key: cacheKey, problem },
        'refused an L2 decision cache entry with a missing or wrong MAC (written to Redis by someone without the key); evaluating instead',
      );
    }
    const now = clock();
    if (lastAuditAt !== undefined && now - lastAuditAt < intervalMs) return;
    lastAuditAt = now;
    try {
      options.audit({
        event_type: 'policy_cache_entry_rejected',
        severity: 'critical',
        data: { cache_key: cacheKey, problem, refused_since_last_event: refusedSinceAudit, replica: options.replica },
      });
      refusedSinceAudit = 0;
    } catch (error) {
      // The request is answered by the policy either way; the refusal stays counted in the
      // metrics, and the next event (a minute later at the earliest) carries this count.
      options.log.error({ err: error }, 'could not record the audit event of a refused L2 entry');
    }
  };
}
