import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuditEventInput } from '../audit-engine/contract.js';
import { ServiceCallError, callService } from '../clients/http.js';

export interface AuditOutboxOptions {
  auditEngineUrl: string;
  /** One directory per process: the spool is not shared between writers. */
  spoolDir: string;
  /** Recorded as the events' `source` when they do not name one. */
  source: string;
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

interface Spooled {
  event: AuditEventInput;
  bytes: number;
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
  const spoolPath = join(options.spoolDir, 'outbox.jsonl');
  const offsetPath = join(options.spoolDir, 'outbox.offset');
  const rejectedPath = join(options.spoolDir, 'rejected.jsonl');

  const queue: Spooled[] = [];
  let deliveredOffset = 0;
  let rejectedCount = 0;

  // Recover what a previous run spooled but did not deliver.
  if (existsSync(spoolPath)) {
    const content = readFileSync(spoolPath);
    deliveredOffset = existsSync(offsetPath) ? Number(readFileSync(offsetPath, 'utf8')) || 0 : 0;
    let position = Math.min(deliveredOffset, content.length);
    let validEnd = position;
    while (position < content.length) {
      const newline = content.indexOf(0x0a, position);
      if (newline === -1) break; // a line torn by a crash mid-write: never acknowledged, drop it
      const line = content.subarray(position, newline + 1);
      try {
        queue.push({ event: AuditEventInput.parse(JSON.parse(line.toString('utf8'))), bytes: line.length });
      } catch {
        appendFileSync(rejectedPath, line, { mode: 0o600 });
        rejectedCount += 1;
        deliveredOffset += line.length; // skipped as if delivered, but kept aside
      }
      position = newline + 1;
      validEnd = position;
    }
    if (validEnd < content.length) {
      const fd = openSync(spoolPath, 'r+');
      ftruncateSync(fd, validEnd);
      closeSync(fd);
    }
  }
  // Audit data: readable by this service's user only.
  const fd = openSync(spoolPath, 'a', 0o600);
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let backoffMs = 0;
  let closed = false;

  function saveOffset(): void {
    const temp = `${offsetPath}.tmp`;
    writeFileSync(temp, String(deliveredOffset));
    renameSync(temp, offsetPath);
  }

  function compactIfDrained(): void {
    if (queue.length > 0) return;
    if (fstatSync(fd).size !== deliveredOffset) return;
    ftruncateSync(fd, 0);
    deliveredOffset = 0;
    saveOffset();
  }

  function schedule(delayMs: number): void {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void deliver().catch(() => undefined);
    }, delayMs);
    timer.unref();
  }

  function park(events: AuditEventInput[], reason: unknown): void {
    for (const event of events) appendFileSync(rejectedPath, `${JSON.stringify(event)}\n`, { mode: 0o600 });
    rejectedCount += events.length;
    options.log?.error({ err: reason, count: events.length }, 'audit engine refused events as invalid; kept in rejected.jsonl');
  }

  async function post(events: AuditEventInput[]): Promise<void> {
    await callService(options.auditEngineUrl, '/audit/events', {
      method: 'POST',
      body: { events },
      schema: AcceptedResponse,
      timeoutMs: 10_000,
    });
  }

  /**
   * Sends one batch. Only a 400 means "this content can never be stored": then each event is
   * retried alone so that one bad event cannot take the others with it. Anything else
   * (engine down, 401/404 from a misconfigured URL, 413, 5xx) is retried later, never dropped.
   */
  async function sendBatch(batch: Spooled[]): Promise<void> {
    try {
      await post(batch.map((item) => item.event));
    } catch (error) {
      const status = error instanceof ServiceCallError ? error.status : undefined;
      if (status === 413 && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await sendBatch(batch.slice(0, half));
        await sendBatch(batch.slice(half));
        return;
      }
      if (status !== 400) throw error;
      if (batch.length === 1) {
        park([batch[0]!.event], error);
        return;
      }
      for (const item of batch) await sendBatch([item]);
    }
  }

  async function deliverOnce(): Promise<void> {
    if (dirty) {
      fdatasyncSync(fd);
      dirty = false;
    }
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      await sendBatch(batch);
      queue.splice(0, batch.length);
      deliveredOffset += batch.reduce((sum, item) => sum + item.bytes, 0);
      saveOffset();
    }
    compactIfDrained();
  }

  async function deliver(): Promise<void> {
    if (inFlight) return inFlight;
    inFlight = deliverOnce()
      .then(() => {
        backoffMs = 0;
      })
      .catch((error: unknown) => {
        backoffMs = Math.min(maxBackoffMs, backoffMs === 0 ? 500 : backoffMs * 2);
        options.log?.warn({ err: error, pending: queue.length, retryInMs: backoffMs }, 'audit delivery failed; will retry');
        throw error;
      })
      .finally(() => {
        inFlight = undefined;
        if (queue.length > 0) schedule(backoffMs || flushIntervalMs);
      });
    return inFlight;
  }

  if (queue.length > 0) schedule(0);

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
      const line = Buffer.from(`${JSON.stringify(valid.data)}\n`);
      writeSync(fd, line);
      dirty = true;
      queue.push({ event: valid.data, bytes: line.length });
      schedule(backoffMs || flushIntervalMs);
    },
    async flush() {
      if (inFlight) await inFlight.catch(() => undefined);
      await deliver();
    },
    pending: () => queue.length,
    rejected: () => rejectedCount,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await deliver().catch(() => undefined);
      if (dirty) fdatasyncSync(fd);
      closeSync(fd);
    },
  };
}
