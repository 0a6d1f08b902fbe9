/**
 * The checks every Stack driver runs on its arguments before it asks anything of the engine or
 * the processes: each refusal is a StackError that says what is accepted.
 */
import { ServiceNameSchema } from '../kit/identifiers.js';
import { EXEC_COMMANDS, type ExecCommandName } from './exec-commands.js';
import { DEFAULT_LOG_LINES, MAX_GREP_CHARS, MAX_LOG_LINES, MAX_REPLICAS, StackError, type LogsOptions } from './stack.js';

/** Refuses a malformed service name before anything is asked of the engine or the processes. */
export function requireServiceName(service: string): void {
  // Compose service names (what `docker-compose` accepts): anything else is refused before any call.
  if (!ServiceNameSchema.safeParse(service).success) {
    throw new StackError(
      'SERVICE_UNKNOWN',
      `"${String(service).slice(0, 64)}" is not a service name (letters, digits, '.', '_' and '-', starting with a letter or digit)`,
    );
  }
}

/** Refuses a service name that is malformed or not in the stack, naming the ones that are. */
export function requireKnownService(service: string, known: readonly string[], where: string): void {
  const list = known.length > 0 ? known.join(', ') : '(none)';
  requireServiceName(service);
  if (!known.includes(service)) {
    throw new StackError('SERVICE_UNKNOWN', `There is no service "${service}" in ${where}; its services are: ${list}`);
  }
}

export interface NormalizedLogsOptions {
  tail: number;
  since: Date | undefined;
  /** Lower-cased filter, or undefined. */
  grep: string | undefined;
}

/** Checks logs options before anything is read; every refusal says what is accepted. */
export function normalizeLogsOptions(options: LogsOptions = {}): NormalizedLogsOptions {
  const tail = options.tail ?? DEFAULT_LOG_LINES;
  if (!Number.isInteger(tail) || tail < 1 || tail > MAX_LOG_LINES) {
    throw new StackError('INVALID_ARGUMENT', `tail must be a whole number from 1 to ${MAX_LOG_LINES} (got ${String(tail)})`);
  }
  const since = options.since;
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime()))) {
    throw new StackError('INVALID_ARGUMENT', 'since must be a valid point in time, for example 10 minutes ago');
  }
  if (since !== undefined && since.getTime() > Date.now() + 60_000) {
    throw new StackError('INVALID_ARGUMENT', `since is in the future (${since.toISOString()}); give a point in the past`);
  }
  let grep: string | undefined;
  if (options.grep !== undefined) {
    if (typeof options.grep !== 'string' || options.grep.length === 0 || options.grep.length > MAX_GREP_CHARS) {
      throw new StackError('INVALID_ARGUMENT', `grep must be plain text of 1 to ${MAX_GREP_CHARS} characters`);
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(options.grep)) {
      throw new StackError('INVALID_ARGUMENT', 'grep must be plain text on one line (no control characters)');
    }
    grep = options.grep.toLowerCase();
  }
  return { tail, since, grep };
}

export function requireReplicaCount(replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new StackError(
      'INVALID_ARGUMENT',
      `replicas must be a whole number from 1 to ${MAX_REPLICAS} (got ${String(replicas)}); to take a service down entirely, stop it with docker-compose`,
    );
  }
}

export function requireTimeout(timeoutMs: number | undefined, fallback: number): number {
  const value = timeoutMs ?? fallback;
  if (!Number.isFinite(value) || value < 100 || value > 30 * 60_000) {
    throw new StackError('INVALID_ARGUMENT', `timeoutMs must be between 100 ms and 30 minutes (got ${String(timeoutMs)})`);
  }
  return value;
}

/** Refuses anything that is not a key of the allow list, so no user text ever reaches a container. */
export function requireExecCommand(command: string): ExecCommandName {
  if (typeof command !== 'string' || !Object.hasOwn(EXEC_COMMANDS, command)) {
    throw new StackError(
      'INVALID_ARGUMENT',
      `"${String(command).slice(0, 64)}" is not an allowed command; allowed: ${Object.keys(EXEC_COMMANDS).join(', ')}`,
    );
  }
  return command as ExecCommandName;
}
