/**
 * The update reminder's timer (issue 16): run by one replica under the lease
 * `incident-update-reminders` (bot/main.ts), it checks the open incidents every minute and posts
 * each due reminder (update-reminders.ts) in the incident's channel. Each due point is claimed in
 * PostgreSQL (`incident_update_reminders`) before it is posted, so a restart, a replica taking
 * the lease over, or two replicas briefly both believing they lead remind once. A post that fails
 * gives its claim back, so the next check tries again.
 */
import type pg from 'pg';
import type { ResultDocument } from '../../commands/result.js';
import type { IncidentStore } from './incident-store.js';
import { dueUpdateReminders, updateReminderDocument, type DueUpdateReminder, type UpdateReminderIntervals } from './update-reminders.js';

export const UPDATE_REMINDER_LEASE = 'incident-update-reminders';
/** A reminder is at most this late: short beside the shortest interval (5 minutes). */
export const DEFAULT_REMINDER_CHECK_MS = 60_000;

export interface UpdateReminderLedger {
  /** True when this call claimed the due point; false when it was reminded of already. */
  claim(reminder: DueUpdateReminder, at: Date): Promise<boolean>;
  release(reminder: DueUpdateReminder): Promise<void>;
}

export function createUpdateReminderLedger(pool: pg.Pool): UpdateReminderLedger {
  return {
    async claim(reminder, at) {
      const { rowCount } = await pool.query(
        'INSERT INTO incident_update_reminders (once_key, incident_id, due_at, reminded_at) VALUES ($1, $2, $3, $4) ON CONFLICT (once_key) DO NOTHING',
        [reminder.onceKey, reminder.incident.id, reminder.dueAt, at],
      );
      return rowCount === 1;
    },
    async release(reminder) {
      await pool.query('DELETE FROM incident_update_reminders WHERE once_key = $1', [reminder.onceKey]);
    },
  };
}

export interface UpdateRemindersOptions {
  store: Pick<IncidentStore, 'open'>;
  ledger: UpdateReminderLedger;
  intervals: UpdateReminderIntervals;
  /** Posts the reminder in the channel (through the channel write queue). */
  post(channelId: string, reminder: ResultDocument): Promise<unknown>;
  checkEveryMs?: number;
  now?(): Date;
  onError?(error: unknown, what: string): void;
}

export interface UpdateReminders {
  /** One check now: the reminders this call posted. */
  check(): Promise<DueUpdateReminder[]>;
  /** Ends the timer and waits for a check under way. */
  stop(): Promise<void>;
}

export function startUpdateReminders(options: UpdateRemindersOptions): UpdateReminders {
  const now = options.now ?? (() => new Date());
  const every = options.checkEveryMs ?? DEFAULT_REMINDER_CHECK_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  // One check at a time in this process: a check asked for while the timer's runs waits for it.
  let chain: Promise<unknown> = Promise.resolve();
  const check = (): Promise<DueUpdateReminder[]> => {
    const next = chain.then(checkOnce);
    chain = next.catch(() => undefined);
    return next;
  };

  async function checkOnce(): Promise<DueUpdateReminder[]> {
    const at = now();
    const posted: DueUpdateReminder[] = [];
    for (const reminder of dueUpdateReminders(await options.store.open(), options.intervals, at)) {
      // An incident without a channel has nowhere to be reminded; its declaration said so.
      const channelId = reminder.incident.channelId;
      if (!channelId || stopped) continue;
      if (!(await options.ledger.claim(reminder, at))) continue;
      try {
        await options.post(channelId, updateReminderDocument(reminder));
        posted.push(reminder);
      } catch (error) {
        options.onError?.(error, `posting the update reminder of ${reminder.incident.key}`);
        await options.ledger.release(reminder).catch((released: unknown) => options.onError?.(released, `giving back the reminder of ${reminder.incident.key}`));
      }
    }
    return posted;
  }

  const beat = () => {
    running = check()
      .catch((error: unknown) => options.onError?.(error, 'checking the open incidents for update reminders'))
      .finally(() => {
        if (!stopped) timer = setTimeout(beat, every);
      });
  };
  // The first check one period after the start: a reminder is a minute late at most either way.
  timer = setTimeout(beat, every);

  return {
    check,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
