/**
 * How the trail tells PostgreSQL's failures apart and words them: the refusal callers see, a
 * write that took too long, a record refused as data (which retrying can never fix).
 */
import { AuditLogUnavailableError } from '../../commands/ports.js';
import { isDatabaseUnavailable } from '../../services/kit/postgres.js';
import { redactText } from './redaction.js';

/**
 * The trail cannot be written to (or read from) PostgreSQL now; the message is safe to show. It is
 * the audit-log port's error, so commands (`audit`) recognise it without importing the bot.
 */
export class AuditTrailUnavailableError extends AuditLogUnavailableError {
  override readonly name = 'AuditTrailUnavailableError';
}

class WriteTimeoutError extends Error {
  override readonly name = 'WriteTimeoutError';
}

export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriteTimeoutError(`PostgreSQL did not answer within ${ms} ms`)), ms);
  });
  // The losing write may still commit later; its records' keys make the replay skip them then.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A failure caused by a record's data, which retrying as it is can never fix. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

export function describeFailure(error: unknown): string {
  const message = redactText(error instanceof Error ? error.message || error.name : String(error));
  if (error instanceof WriteTimeoutError) return message;
  return isDatabaseUnavailable(error) ? `PostgreSQL is not reachable (${message})` : `PostgreSQL refused the write (${message})`;
}
