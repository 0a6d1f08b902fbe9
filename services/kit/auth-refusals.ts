import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { AuditEventInput } from '../audit-engine/contract.js';
import { AUTH_REFUSED_EVENT } from './auth-refused-event.js';

export { AUTH_REFUSED_EVENT };

/** Which token a refused request lacked: the stack's service token (writes) or the admin token. */
export type RefusedToken = 'service' | 'admin';

/** The `data` of an `auth_refused` event: one window's refusals of one token on one route. */
export interface AuthRefusedData {
  service: string;
  token: RefusedToken;
  /** The route's pattern (`/audit/events`), never the raw URL: a bounded set, and no query strings. */
  route: string;
  count: number;
  window_seconds: number;
}

/** Where a window's tallies go: the service's audit outbox, or the Audit Engine's own store. */
export type AuthRefusalSink = (event: AuditEventInput) => void | Promise<void>;

export interface AuthRefusals {
  /** Counts one refused request; cheap and synchronous, so a flood costs a map update each. */
  refused(token: RefusedToken, route: string): void;
  /** Sets where the windows' events go; until then they are only counted and logged. */
  deliverTo(sink: AuthRefusalSink): void;
  /** Hands the current window over now (at close, and for tests). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuthRefusalsOptions {
  service: string;
  registry: Registry;
  /** One event per token and route per window at most: a flood of bad tokens cannot flood the trail or the log. */
  windowMs?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
}

export const AUTH_REFUSAL_WINDOW_MS = 60_000;

/**
 * The services' refused service and admin tokens (401), counted three ways: every one at once in
 * `service_auth_refusals_total{token,route}` on /metrics, and per window (a minute) one log line
 * and one `auth_refused` audit event per token and route carrying the count. Counting rather than
 * recording each request is the rate limit: a flood of wrong tokens costs the same few events a
 * minute as a single typo, and the count still says how big it was.
 */
export function createAuthRefusals(options: AuthRefusalsOptions): AuthRefusals {
  const windowMs = options.windowMs ?? AUTH_REFUSAL_WINDOW_MS;
  const now = options.now ?? Date.now;
  // Two replicas of a service may close the same window; their events must not share an idempotency key.
  const instance = randomUUID().slice(0, 8);
  const counter = new Counter({
    name: 'service_auth_refusals_total',
    help: 'Requests refused for a missing or wrong service or admin token, by token and route',
    labelNames: ['token', 'route'] as const,
    registers: [options.registry],
  });
  let counts = new Map<string, { token: RefusedToken; route: string; count: number }>();
  let windowStart = 0;
  let timer: NodeJS.Timeout | undefined;
  let sink: AuthRefusalSink | undefined;

  // A hand-over under way (the window's own timer): flush and close wait for it, so a caller that
  // closes the sink next (a service's outbox on shutdown) never closes it under that write.
  let handingOver: Promise<void> = Promise.resolve();
  let closed = false;

  function flush(): Promise<void> {
    handingOver = handingOver.then(handOver);
    return handingOver;
  }

  async function handOver(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (counts.size === 0) return;
    const closing = counts;
    const startedAt = new Date(windowStart).toISOString();
    counts = new Map();
    for (const { token, route, count } of closing.values()) {
      const data: AuthRefusedData = { service: options.service, token, route, count, window_seconds: Math.round(windowMs / 1000) };
      options.log?.warn({ ...data, since: startedAt }, `refused ${count} request(s) without a valid ${token} token`);
      if (!sink) continue;
      try {
        await sink({
          event_type: AUTH_REFUSED_EVENT,
          source: options.service,
          severity: 'warning',
          occurred_at: startedAt,
          idempotency_key: `${AUTH_REFUSED_EVENT}:${options.service}:${instance}:${windowStart}:${token}:${route}`.slice(0, 128),
          data: { ...data },
        });
      } catch (error) {
        // The counter on /metrics still has them; the log line above says what the trail lacks.
        options.log?.error({ err: error, ...data }, 'could not record refused tokens in the audit trail');
      }
    }
  }

  return {
    refused(token, route) {
      counter.inc({ token, route });
      // After close the counter still counts; there is no one left to hand a window to.
      if (closed) return;
      if (counts.size === 0) {
        windowStart = now();
        timer = setTimeout(() => void flush(), windowMs);
        timer.unref();
      }
      const key = `${token} ${route}`;
      const entry = counts.get(key);
      if (entry) entry.count += 1;
      else counts.set(key, { token, route, count: 1 });
    },
    deliverTo(next) {
      sink = next;
    },
    flush,
    close() {
      closed = true;
      return flush();
    },
  };
}
