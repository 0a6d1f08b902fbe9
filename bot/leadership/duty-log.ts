import type { Logger } from 'pino';
import type { LeaderDutyEvent } from './leader-duty.js';

/**
 * One log line for a leader duty's event: which component leads or stopped, and why. The lease's
 * fencing token is left out: it is not a secret, but a key named `token` is redacted by the bot's
 * logger, so the line showed `"token":"[redacted]"` at every start, which tells a reader nothing
 * and looks like a leaked credential. The lease table holds the token for whoever needs it;
 * redaction stays as the safety net for fields that must be logged.
 */
export function logDutyEvent(logger: Pick<Logger, 'info'>, component: string, event: LeaderDutyEvent, words: { leading: string; stopped: string }): void {
  const message = event.kind === 'leading' ? words.leading : `${words.stopped} (${event.kind === 'lost' ? event.reason : 'released'})`;
  logger.info({ component, lease: event.lease.name }, message);
}
