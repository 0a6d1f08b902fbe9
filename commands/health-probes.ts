/**
 * Probes with a hard deadline: each one settles within its timeout whatever the other side does
 * (refuses, hangs after accepting, answers half a body), so a status command never hangs.
 */
import { describeRequestError, requestText } from '../services/clients/pooled-http.js';
import type { StackDatabase } from '../services/stack/stack-database.js';
import type { StackRedis } from '../services/stack/stack-redis.js';

export type ProbeResult<T> =
  | { ok: true; value: T; latencyMs: number }
  | { ok: false; problem: string; latencyMs: number };

export class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

/** Settles with the work or rejects with DeadlineError, and tells the work to stop through its signal. */
export async function withDeadline<T>(timeoutMs: number, parent: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  parent.addEventListener('abort', stop, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineError(timeoutMs));
    }, timeoutMs);
  });
  try {
    if (parent.aborted) throw new Error('cancelled');
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', stop);
  }
}

async function timed<T>(timeoutMs: number, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>, describe: (error: unknown) => string): Promise<ProbeResult<T>> {
  const started = performance.now();
  try {
    const value = await withDeadline(timeoutMs, signal, work);
    return { ok: true, value, latencyMs: performance.now() - started };
  } catch (error) {
    const problem = error instanceof DeadlineError ? error.message : signal.aborted ? 'cancelled before an answer' : describe(error);
    return { ok: false, problem, latencyMs: performance.now() - started };
  }
}

export interface HttpAnswer {
  status: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  body: unknown;
}

/** GET a JSON document; any HTTP status is an answer (health endpoints answer 503 with a body). */
export function probeJson(url: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult<HttpAnswer>> {
  return timed(
    timeoutMs,
    signal,
    async (abort) => {
      // On the keep-alive pool rather than fetch: a fifth of the CPU per probe (services/clients/pooled-http.ts).
      const { status, text } = await requestText(url, { headers: { accept: 'application/json' }, signal: abort });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status, body };
    },
    describeRequestError,
  );
}

export interface PostgresAnswer {
  version: string;
}

export function probePostgres(database: StackDatabase, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult<PostgresAnswer>> {
  return timed(timeoutMs, signal, async () => ({ version: await database.serverVersion() }), (error) => `${database.location}: ${describePostgresError(error)}`);
}

export function describePostgresError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ECONNREFUSED') return 'connection refused';
  return message || code || String(error);
}

export interface RedisAnswer {
  version: string;
}

export function probeRedis(redis: StackRedis, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult<RedisAnswer>> {
  return timed(timeoutMs, signal, async () => ({ version: await redis.serverVersion() }), (error) => `${redis.location}: ${describeRedisError(error)}`);
}

export function describeRedisError(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return /ECONNREFUSED/.test(message) ? 'connection refused' : message;
}
