import {
  AppendEventsResponse,
  AuditEvent,
  type AuditEventInput,
  AuditHealth,
  ListEventsResponse,
  type ListEventsParams,
  type ReanchorRequest,
  ReanchorResponse,
  VerifyResponse,
  type VerifyScope,
} from '../audit-engine/contract.js';
import { SERVICE_PORTS } from '../kit/service-ports.js';
import { ServiceCallError, callService, serviceAuthorization } from './http.js';

export const DEFAULT_AUDIT_ENGINE_URL = `http://127.0.0.1:${SERVICE_PORTS['audit-engine']}`;

export interface AuditEngineClientOptions {
  timeoutMs?: number;
  /** ACGS_SERVICE_TOKEN, needed only for `postEvents` (the reads are open). */
  serviceToken?: string | undefined;
  /** ACGS_ADMIN_TOKEN, needed only for `reanchor`. */
  adminToken?: string | undefined;
}

/**
 * Typed client of the Audit Engine; answers are validated with the server's own schemas and
 * failures are `ServiceCallError`s carrying the service's error code.
 */
export function createAuditEngineClient(baseUrl: string = DEFAULT_AUDIT_ENGINE_URL, options: AuditEngineClientOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    /**
     * One event, or a batch of up to 1000 sent as `{events: [...]}` in one transaction. A resent
     * `idempotency_key` answers the stored event; with other content it is a 409 CONFLICT.
     */
    postEvents: (events: AuditEventInput | AuditEventInput[]) =>
      callService(baseUrl, '/audit/events', {
        method: 'POST',
        body: Array.isArray(events) ? { events } : events,
        headers: serviceAuthorization(options.serviceToken),
        schema: AppendEventsResponse,
        timeoutMs,
      }),
    /** Newest first; pass the answer's `next_cursor` as `cursor` for the next page. */
    listEvents: (params: ListEventsParams = {}) =>
      callService(baseUrl, '/audit/events', { query: { ...params }, schema: ListEventsResponse, timeoutMs }),
    getEvent: (id: string) => callService(baseUrl, `/audit/events/${encodeURIComponent(id)}`, { schema: AuditEvent, timeoutMs }),
    /**
     * Walks the whole chain (`scope: 'checkpoint'`: only the events after the newest signed
     * checkpoint the chain matches); allow it time on a long chain.
     */
    verify: (verifyTimeoutMs = Math.max(timeoutMs, 120_000), options: { scope?: VerifyScope } = {}) =>
      callService(baseUrl, '/audit/verify', { ...(options.scope ? { query: { scope: options.scope } } : {}), schema: VerifyResponse, timeoutMs: verifyTimeoutMs }),
    /**
     * After a restore: accept the chain rolled back to `head` (the one seen in the restored
     * database), with a new signed checkpoint there and an audit event naming the restore. 409
     * NOTHING_TO_REANCHOR when the chain was not rolled back (or is re-anchored already).
     */
    reanchor: (request: ReanchorRequest, reanchorTimeoutMs = Math.max(timeoutMs, 120_000)) =>
      callService(baseUrl, '/audit/admin/reanchor', {
        method: 'POST',
        body: request,
        headers: options.adminToken ? { authorization: `Bearer ${options.adminToken}` } : {},
        schema: ReanchorResponse,
        timeoutMs: reanchorTimeoutMs,
      }),
    /** The health report, also when the service calls itself unhealthy (HTTP 503). */
    health: () => fetchHealth(baseUrl, timeoutMs),
  };
}

export type AuditEngineClient = ReturnType<typeof createAuditEngineClient>;

async function fetchHealth(baseUrl: string, timeoutMs: number): Promise<AuditHealth> {
  const url = new URL('/health', baseUrl);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : (error as Error).message;
    throw new ServiceCallError(`${url.origin}/health: ${reason}`, undefined, 'UNREACHABLE');
  }
  if (response.status !== 200 && response.status !== 503) {
    throw new ServiceCallError(`/health answered ${response.status}`, response.status, undefined);
  }
  const parsed = AuditHealth.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    throw new ServiceCallError(`/health answered with an unexpected shape: ${parsed.error.message}`, response.status, 'CONTRACT');
  }
  return parsed.data;
}
