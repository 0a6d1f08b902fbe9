import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuditEventInput } from '../audit-engine/contract.js';
import { ServiceCallError, callService } from '../clients/http.js';
import { appendWholeLine, openJsonLineSpool } from './json-line-spool.js';

export interface AuditOutboxOptions {
  auditEngineUrl: string;
  /** One directory per process: the spool is not shared between writers. */
  spoolDir: string;
  /** Recorded as the events' `source` when they do not name one. */
  source: string;
  /** ACGS_SERVICE_TOKEN: the Audit Engine takes events only with it (without, deliveries wait, spooled). */
  serviceToken?: string | undefined;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Longest pause between delivery attempts while the Audit Engine is down. */
  maxBackoffMs?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface AuditOutbox {
  /** Spools the event at once (a synchronous append) and delivers it in the background. */
  record(event: AuditEventInput): void;
  /** Tries to deliver everything now; rejects when the Audit Engine does not take it. */
  flush(): Promise<void>;
  pending(): number;
  /** Events that can never be stored (invalid), kept aside in `rejected.jsonl`. */
  rejected(): number;
  close(): Promise<void>;
}

const AcceptedResponse = z.unknown();

/**
 * A durable outbox for audit events: the hot path only appends a line to a local spool file;
 * a background loop delivers batches to the Audit Engine, with backoff while it is down.
 * Delivery progress is a byte offset written atomically, so a crash re-sends at most the last
 * batch, and the Audit Engine drops those repeats by `idempotency_key`. Nothing is lost while
 * the Audit Engine is down, or across a restart.
 */
export function createAuditOutbox(options: AuditOutboxOptions): AuditOutbox {
  const batchSize = options.batchSize ?? 200;
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  mkdirSync(options.spoolDir, { recursive: true, mode: 0o700 });
  const rejectedPath = join(options.spoolDir, 'rejected.jsonl');
  let rejectedCount = 0;

  // Recovers what a previous run spooled but did not deliver. Appends are flushed to disk in
  // batches, before each delivery, rather than one by one on the hot path.
  const spool = openJsonLineSpool<AuditEventInput>({
    dir: options.spoolDir,
    name: 'outbox',
    parse: (value) => AuditEventInput.parse(value),
    onUnreadable(line) {
      appendWholeLine(rejectedPath, line);
      rejectedCount += 1;
    },
    syncEveryAppend: false,
  });
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let backoffMs = 0;
  let closed = false;

  // A one-off delivery armed by new events or a back-off, not a periodic job: idle outboxes wake nothing.
  function schedule(delayMs: number): void {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void deliver().catch(() => undefined);
    }, delayMs);
    timer.unref();
  }

  function park(events: AuditEventInput[], reason: unknown): void {
    for (const event of events) appendWholeLine(rejectedPath, `${JSON.stringify(event)}\n`);
    rejectedCount += events.length;
    options.log?.error({ err: reason, count: events.length }, 'audit engine refused events as invalid or conflicting; kept in rejected.jsonl');
  }

  async function post(events: AuditEventInput[]): Promise<void> {
    await callService(options.auditEngineUrl, '/audit/events', {
      method: 'POST',
      body: { events },
      ...(options.serviceToken ? { headers: { authorization: `Bearer ${options.serviceToken}` } } : {}),
      schema: AcceptedResponse,
      timeoutMs: 10_000,
    });
  }

  /**
   * Sends one batch. Only a 400 (invalid) or a 409 (its idempotency key is already stored with
   * other content) means "this content can never be stored": then each event is retried alone so
   * that one bad event cannot take the others with it. Anything else (engine down, 401 from a
   * missing or wrong service token, 404 from a misconfigured URL, 413, 5xx) is retried later,
   * never dropped.
   */
  async function sendBatch(batch: AuditEventInput[]): Promise<void> {
    try {
      await post(batch);
    } catch (error) {
      const status = error instanceof ServiceCallError ? error.status : undefined;
      if (status === 413 && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await sendBatch(batch.slice(0, half));
        await sendBatch(batch.slice(half));
        return;
      }
      if (status !== 400 && status !== 409) throw error;
      if (batch.length === 1) {
        park([batch[0]!], error);
        return;
      }
      for (const item of batch) await sendBatch([item]);
    }
  }

  async function deliverOnce(): Promise<void> {
    spool.sync();
    while (spool.size() > 0) {
      const batch = spool.peek(batchSize);
      await sendBatch(batch);
      spool.acknowledge(batch.length);
    }
  }

  async function deliver(): Promise<void> {
    if (inFlight) return inFlight;
    inFlight = deliverOnce()
      .then(() => {
        backoffMs = 0;
      })
      .catch((error: unknown) => {
        backoffMs = Math.min(maxBackoffMs, backoffMs === 0 ? 500 : backoffMs * 2);
        // A closing outbox retries nothing: what is left waits in the durable spool for the next start.
        if (closed) options.log?.warn({ err: error, pending: spool.size() }, 'audit delivery failed while closing; the pending events stay in the spool and are delivered after the next start');
        else options.log?.warn({ err: error, pending: spool.size(), retryInMs: backoffMs }, 'audit delivery failed; will retry');
        throw error;
      })
      .finally(() => {
        inFlight = undefined;
        if (spool.size() > 0) schedule(backoffMs || flushIntervalMs);
      });
    return inFlight;
  }

  if (spool.size() > 0) schedule(0);

  return {
    record(event) {
      if (closed) throw new Error('audit outbox is closed');
      const complete: AuditEventInput = {
        source: options.source,
        occurred_at: new Date().toISOString(),
        idempotency_key: randomUUID(),
        ...event,
      };
      const valid = AuditEventInput.safeParse(complete);
      if (!valid.success) {
        // The producer built an event the Audit Engine would refuse; keep it aside, visibly.
        park([complete], valid.error);
        return;
      }
      spool.append(valid.data);
      schedule(backoffMs || flushIntervalMs);
    },
    async flush() {
      if (inFlight) await inFlight.catch(() => undefined);
      await deliver();
    },
    pending: () => spool.size(),
    rejected: () => rejectedCount,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await deliver().catch(() => undefined);
      spool.close();
    },
  };
}
