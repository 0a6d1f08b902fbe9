import type { FastifyBaseLogger } from 'fastify';
import { createAuditOutbox, type AuditOutbox } from '../../kit/audit-outbox.js';
import { AUDIT_SOURCE, transitionAuditEvent } from '../domain/audit-events.js';
import type { EvolutionStore, Recorded } from '../store/evolution-store.js';
import fp from 'fastify-plugin';

export interface TransitionAudit {
  outbox: AuditOutbox;
  /**
   * Hands committed transitions to the durable outbox and marks them recorded. Never throws: the
   * transition already happened, and one left unmarked is re-sent at the next start.
   */
  record(items: Recorded[]): Promise<void>;
  /** Re-sends transitions a crash left between commit and outbox; returns how many. */
  replayUnrecorded(): Promise<number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    transitionAudit: TransitionAudit;
  }
}

const REPLAY_BATCH = 500;

export function createTransitionAudit(outbox: AuditOutbox, store: EvolutionStore, log: FastifyBaseLogger): TransitionAudit {
  /** Returns how many were spooled and marked. */
  async function recordAndMark(items: Recorded[]): Promise<number> {
    const handed: string[] = [];
    for (const { evolution, transition } of items) {
      try {
        outbox.record(transitionAuditEvent(evolution, transition));
        handed.push(transition.id);
      } catch (error) {
        log.error({ err: error, transition_id: transition.id }, 'could not spool the audit event; it is re-sent at the next start');
      }
    }
    try {
      await store.markAuditRecorded(handed);
      return handed.length;
    } catch (error) {
      // Harmless: a re-send carries the same idempotency key and the Audit Engine keeps one copy.
      log.warn({ err: error, count: handed.length }, 'could not mark transitions as audited; they will be re-sent');
      return 0;
    }
  }
  return {
    outbox,
    async record(items) {
      await recordAndMark(items);
    },
    async replayUnrecorded() {
      let total = 0;
      for (;;) {
        const batch = await store.unrecordedTransitions(REPLAY_BATCH);
        if (batch.length === 0) return total;
        const marked = await recordAndMark(batch);
        total += marked;
        // Stop rather than spin when marking fails; the rest waits for the next start.
        if (marked < batch.length || batch.length < REPLAY_BATCH) return total;
      }
    },
  };
}

export interface AuditPluginOptions extends Record<string, unknown> {
  auditEngineUrl: string;
  spoolDir: string;
  flushIntervalMs?: number;
  serviceToken?: string | undefined;
}

/** The durable audit outbox (needs the database plugin first for the start-up replay). */
export const auditPlugin = fp<AuditPluginOptions>(async (app, options) => {
  const outbox = createAuditOutbox({
    auditEngineUrl: options.auditEngineUrl,
    spoolDir: options.spoolDir,
    source: AUDIT_SOURCE,
    serviceToken: options.serviceToken,
    log: app.log,
    ...(options.flushIntervalMs === undefined ? {} : { flushIntervalMs: options.flushIntervalMs }),
  });
  const audit = createTransitionAudit(outbox, app.evolutionStore, app.log);
  app.decorate('transitionAudit', audit);
  app.authRefusals.deliverTo((event) => outbox.record(event));
  app.addHook('onReady', async () => {
    const replayed = await audit.replayUnrecorded();
    if (replayed > 0) app.log.warn({ count: replayed }, 'replayed audit events of transitions left unrecorded by an earlier run');
  });
  app.addHook('onClose', async () => {
    // The refusals' last window goes into the outbox before it closes.
    await app.authRefusals.flush();
    await outbox.close();
  });
});
