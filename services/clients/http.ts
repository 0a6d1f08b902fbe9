import type { z } from 'zod';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';

/** A failed call to one of our services, with the service's own error code when it sent one. */
export class ServiceCallError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ServiceCallError';
  }
}

export interface CallOptions<S extends z.ZodType> {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  timeoutMs?: number;
  schema: S;
}

/**
 * One JSON call to a service: timeout, error body decoding and response validation with the
 * same zod schema the server uses, so a contract drift fails loudly at the boundary.
 */
export async function callService<S extends z.ZodType>(
  baseUrl: string,
  path: string,
  options: CallOptions<S>,
): Promise<z.infer<S>> {
  const url = new URL(path, baseUrl);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : (error as Error).message;
    throw new ServiceCallError(`${url.origin}${url.pathname}: ${reason}`, undefined, 'UNREACHABLE');
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ServiceCallError(`${url.pathname} answered ${response.status} with non-JSON`, response.status, undefined);
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ServiceCallError(
      error?.message ?? `${url.pathname} answered ${response.status}`,
      response.status,
      error?.code,
      error?.details,
    );
  }
  const parsed = options.schema.safeParse(json);
  if (!parsed.success) {
    throw new ServiceCallError(`${url.pathname} answered with an unexpected shape: ${parsed.error.message}`, response.status, 'CONTRACT');
  }
  return parsed.data;
}

/** The header that carries ACGS_SERVICE_TOKEN to the services' write endpoints; none without a token. */
export function serviceAuthorization(serviceToken: string | undefined): Record<string, string> {
  return serviceToken ? { authorization: `Bearer ${serviceToken}` } : {};
}

export { CONSTITUTIONAL_HASH };
