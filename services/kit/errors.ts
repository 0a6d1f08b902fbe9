/**
 * Every error code a service can answer with, its HTTP status and a message template.
 * One registry (as Fastify does) so that codes stay documented and consistent; a test checks
 * that each code appears in services/ERRORS.md.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, message: 'The request is invalid: {detail}' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON: {detail}' },
  HASH_MISMATCH: {
    status: 400,
    message: 'constitutional_hash must be "{expected}" (got {actual}); this service only serves that constitution',
  },
  UNAUTHORIZED: { status: 401, message: 'This endpoint needs the admin token in the Authorization header (Bearer <ACGS_ADMIN_TOKEN>)' },
  SERVICE_UNAUTHORIZED: {
    status: 401,
    message: 'This endpoint writes and needs the service token in the Authorization header (Bearer <ACGS_SERVICE_TOKEN>): {detail}',
  },
  FORBIDDEN: { status: 403, message: '{detail}' },
  NOT_FOUND: { status: 404, message: '{detail}' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No route {method} {url}; see the README for the endpoints of this service' },
  METHOD_NOT_ALLOWED: { status: 405, message: '{detail}' },
  CONFLICT: { status: 409, message: '{detail}' },
  NOTHING_TO_REANCHOR: { status: 409, message: 'Nothing to re-anchor: {detail}' },
  REANCHOR_HEAD_MISMATCH: { status: 409, message: 'The chain does not end at the head named: {detail}; nothing was changed' },
  REANCHOR_CHAIN_BROKEN: { status: 409, message: 'The chain does not verify, so it is not re-anchored: {detail}; nothing was changed' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit of {limit} bytes' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json (got {contentType})' },
  POLICY_DENIED: { status: 403, message: 'The Policy Engine denied this request: {detail}' },
  CAPACITY_EXCEEDED: { status: 429, message: '{detail}' },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: '{dependency} is unavailable: {detail}' },
  RUNTIME_UNAVAILABLE: { status: 503, message: '{detail}' },
  POLICY_RELOAD_FAILED: { status: 500, message: 'The policy was not reloaded: {detail}; still serving policy version {version}' },
  INTERNAL: { status: 500, message: 'Internal error, reference {reference}' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

function fill(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => (key in params ? String(params[key]) : `{${key}}`));
}

/** An error whose message is safe to show to the caller (and, later, in Slack). */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, params: Record<string, unknown> = {}, details?: unknown) {
    super(fill(ERROR_CODES[code].message, params));
    this.name = 'ServiceError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.details = details;
  }
}

export function isServiceError(value: unknown): value is ServiceError {
  return value instanceof ServiceError;
}

/** The body of every error response, server and client agree on it. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
  constitutional_hash: string;
}
