/**
 * Failed authentication attempts into the bot's trail (kind `auth_failure`), for the weekly
 * security report: a Slack request whose signature or timestamp Bolt or the bot refused, a call
 * of the alert webhook with a missing or wrong bearer token. Anyone on the network can make these,
 * so they are throttled per source: a flood must not become a flood of trail writes. The attempts
 * beyond the allowance are counted, and the next record that is written carries them in `count`.
 */
import type { AuditTrail } from './audit-trail.js';

/** Where the credentials were refused. */
export type AuthFailureSource = 'slack-signature' | 'slack-timestamp' | 'alert-webhook' | 'console';

export interface AuthFailureAttempt {
  source: AuthFailureSource;
  /** Why, in words (never the credential itself). */
  reason: string;
  remoteAddress?: string | undefined;
}

export type AuthFailureRecorder = (attempt: AuthFailureAttempt) => void;

/** Records written per source and minute; the rest are counted into the next one. */
export const AUTH_FAILURE_RECORDS_PER_MINUTE = 30;

export function authFailureRecorder(
  trail: Pick<AuditTrail, 'append'>,
  options: { perMinute?: number; clock?: () => number; onError?: (error: unknown) => void } = {},
): AuthFailureRecorder {
  const perMinute = options.perMinute ?? AUTH_FAILURE_RECORDS_PER_MINUTE;
  const clock = options.clock ?? Date.now;
  const windows = new Map<AuthFailureSource, { minute: number; written: number; held: number }>();
  return (attempt) => {
    const minute = Math.floor(clock() / 60_000);
    const window = windows.get(attempt.source) ?? { minute, written: 0, held: 0 };
    if (window.minute !== minute) Object.assign(window, { minute, written: 0 });
    windows.set(attempt.source, window);
    if (window.written >= perMinute) {
      window.held += 1;
      return;
    }
    window.written += 1;
    const count = 1 + window.held;
    window.held = 0;
    // append() spools while PostgreSQL is away; the refusal itself never waits for it.
    trail
      .append({
        kind: 'auth_failure',
        actor: 'unknown',
        origin: 'system',
        outcome: 'refused',
        details: { source: attempt.source, reason: attempt.reason, count, ...(attempt.remoteAddress ? { remote_address: attempt.remoteAddress } : {}) },
      })
      .catch((error: unknown) => options.onError?.(error));
  };
}
