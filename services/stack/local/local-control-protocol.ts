/**
 * The protocol of the local stack supervisor's control channel, shared by its server
 * (local-control.ts, in the process that owns the children) and its client
 * (local-control-client.ts, in the CLI), so neither has to import the other for it: the
 * supervisor file that publishes the channel, the routes with their bodies, and how a refusal
 * travels back.
 */
import type { ReleaseArtifact } from '../releases/release.js';
import { STACK_ERROR_CODES, StackError, type ServiceStatus } from '../stack.js';

/** Tells a ping answer from whatever else might listen on a reused port. */
export const CONTROL_MARKER = 'acgs-local-stack-supervisor';

export interface PublishedService {
  name: string;
  argv: string[];
  pidFile: string;
  logFile: string;
  healthUrl: string;
}

/** The content of `<state>/run/supervisor.json`. */
export interface SupervisorRecord {
  marker: typeof CONTROL_MARKER;
  pid: number;
  url: string;
  token: string;
  startedAt: string;
  services: PublishedService[];
  /**
   * Names of the extensions the owner serves, announced so that a client can tell before calling
   * (the bot's trail relay announces `trail`; npm run start:stack announces none).
   */
  features: string[];
}

/** Whether a parsed supervisor file has the shape above; only loopback channel URLs pass. */
export function isSupervisorRecord(value: unknown): value is SupervisorRecord {
  const record = value as Partial<SupervisorRecord> | null;
  return (
    record !== null &&
    typeof record === 'object' &&
    record.marker === CONTROL_MARKER &&
    Number.isInteger(record.pid) &&
    typeof record.url === 'string' &&
    /^http:\/\/127\.0\.0\.1:\d+$/.test(record.url) &&
    typeof record.token === 'string' &&
    Array.isArray(record.services) &&
    Array.isArray(record.features)
  );
}

/** The channel's own routes; the owner's extensions answer `POST /v1/<name>` beside them. */
export const CONTROL_ROUTES = {
  /** GET: answers PingAnswer. */
  ping: '/v1/ping',
  /** GET: answers ListAnswer. */
  list: '/v1/stack',
  /** POST HealthRequest: answers the Stack's ServiceHealth. */
  health: '/v1/stack/health',
  /** POST RestartRequest: answers the Stack's RestartReport. */
  restart: '/v1/stack/restart',
  /** POST RunningRequest: answers the Stack's ReleaseArtifact. */
  running: '/v1/stack/running',
  /** POST DeployRequest: answers the Stack's DeployReport. */
  deploy: '/v1/stack/deploy',
} as const;

/** Where an extension's name starts in its path. */
export const EXTENSION_PREFIX = '/v1/';

export interface PingAnswer {
  marker: typeof CONTROL_MARKER;
  pid: number;
}

export interface ListAnswer {
  services: ServiceStatus[];
}

export interface HealthRequest {
  service: string;
}

export interface RestartRequest {
  service: string;
  timeoutMs?: number;
  /** The committed execution record the restart runs under; without one the supervisor refuses. */
  execution?: string;
}

export interface RunningRequest {
  service: string;
}

export interface DeployRequest {
  service: string;
  artifact: ReleaseArtifact;
  timeoutMs?: number;
  /** The committed execution record the deploy runs under; without one the supervisor refuses. */
  execution?: string;
}

/** A refusal's body, with its HTTP status: 422 for a StackError, the refusal's own otherwise. */
export interface ErrorAnswer {
  error: { code: string; message: string; done?: string[]; not_done?: string[] };
}

/** A StackError as the channel sends it back; stackErrorFromAnswer turns it into the same error again. */
export function stackErrorAnswer(error: StackError): ErrorAnswer {
  return { error: { code: error.code, message: error.reason, done: error.done, not_done: error.notDone } };
}

/** Turns a `{ error }` answer back into the StackError the supervisor threw, when it was one. */
export function stackErrorFromAnswer(error: { code?: unknown; message?: unknown; done?: unknown; not_done?: unknown }): StackError | undefined {
  if (typeof error.code !== 'string' || !(STACK_ERROR_CODES as readonly string[]).includes(error.code)) return undefined;
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return new StackError(error.code as StackError['code'], String(error.message ?? ''), { done: list(error.done), notDone: list(error.not_done) });
}
