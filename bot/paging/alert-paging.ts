/**
 * Pages the contacts of an escalation level by e-mail and webhook (their Slack part is the level's
 * Slack message: bot/slack/alert-escalations.ts). One of the level's EscalationActions:
 *
 * - every page is written to the ledger (page-ledger.ts) before it is sent, once per (alert
 *   episode, level, contact, channel, target), so a level handed over twice pages nobody twice;
 * - each attempt first reads the alert: one acknowledged, snoozed, resolved or fired again since
 *   is not paged, and the page is cancelled (an acknowledgement stops the escalation, and its
 *   pages with it);
 * - a failed attempt is tried again after the next delay of `retryDelaysMs` by `retryDue`, which
 *   whoever checks escalations calls, so retries survive a restart and move to another replica;
 * - a page that failed its last attempt is logged and noted on the alert (a line in its Slack
 *   thread). That note is not an alert: nothing pages about a page.
 *
 * A crash between a page leaving and its row saying so sends it again on the retry: for a page,
 * twice is better than never. The delivery id (page-text.ts) is the same on every attempt, so that
 * a receiver can drop the repeat.
 */
import type { AlertRecord, AlertStore } from '../alerts/alert-store.js';
import type { EscalationActions, EscalationNotice } from '../alerts/escalation.js';
import type { PagingContact, WebhookTarget } from './contacts.js';
import type { PageMailer } from './email-pages.js';
import type { PageKey, PageLedger, PageRecord } from './page-ledger.js';
import { pageDeliveryId, pagePayload, type AlertPage } from './page-text.js';
import { sendWebhookPage, webhookOrigin } from './webhook-pages.js';

/** After the first attempt, three more: half a minute, two minutes and ten minutes later. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [30_000, 120_000, 600_000];
/** How long the last attempt holds its page before another replica may take it as lost. */
const LAST_ATTEMPT_HOLD_MS = 60_000;
/** Pages retried per check; the rest wait for the next one. */
const RETRY_BATCH = 100;

export interface AlertPagingOptions {
  ledger: PageLedger;
  contacts: ReadonlyMap<string, PagingContact>;
  alerts: Pick<AlertStore, 'get' | 'note'>;
  /** Without it (no SMTP_URL) contacts' e-mail is not paged; the start refuses such a config. */
  mailer?: Pick<PageMailer, 'send'>;
  sendWebhook?(target: WebhookTarget, page: { deliveryId: string; payload: Record<string, unknown> }): Promise<void>;
  retryDelaysMs?: readonly number[];
  now?: () => Date;
  log?(level: 'warn' | 'error', message: string): void;
}

export interface AlertPaging extends EscalationActions {
  /** Tries again every page whose next attempt is due. */
  retryDue(now?: Date): Promise<void>;
}

export function createAlertPaging(options: AlertPagingOptions): AlertPaging {
  const { ledger, contacts, alerts } = options;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxAttempts = delays.length + 1;
  const clock = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  // Signed with the wall clock whatever `now` says: the receiver checks the timestamp against its own.
  const sendWebhook = options.sendWebhook ?? ((target, page) => sendWebhookPage(target, page));

  function keysOf(notice: EscalationNotice): PageKey[] {
    const keys: PageKey[] = [];
    const episode = { alertId: notice.alert.id, episode: notice.alert.firedAt, level: notice.level };
    for (const name of notice.recipients.contacts ?? []) {
      const contact = contacts.get(name);
      if (!contact) continue;
      if (contact.email.length > 0 && !options.mailer) log('warn', `alert ${notice.alert.id}: Level ${notice.level}: contact ${name} has e-mail addresses but the bot has no SMTP_URL: not paged by e-mail`);
      else for (const address of contact.email) keys.push({ ...episode, contact: name, channel: 'email', target: address });
      if (contact.webhook) keys.push({ ...episode, contact: name, channel: 'webhook', target: webhookOrigin(contact.webhook.url) });
    }
    return keys;
  }

  /** Why a page must not go out any more, if it must not. */
  function stopReason(alert: AlertRecord | undefined, page: PageRecord, now: Date): string | undefined {
    if (!alert) return 'the alert no longer exists';
    // A retry after a restart with another config: the contact or this channel of it was taken out.
    const contact = contacts.get(page.contact);
    const stillThere = page.channel === 'email' ? contact?.email.includes(page.target) : contact?.webhook !== undefined && webhookOrigin(contact.webhook.url) === page.target;
    if (!stillThere) return `the config no longer gives contact ${page.contact} this ${page.channel === 'email' ? 'address' : 'webhook'}`;
    if (alert.firedAt.getTime() !== page.episode.getTime()) return 'the alert fired again since: its new episode escalates afresh';
    if (alert.state === 'acknowledged') return `acknowledged by ${alert.acknowledgedBy ?? 'someone'} before it was sent`;
    if (alert.state === 'resolved') return 'resolved before it was sent';
    if (alert.snoozedUntil && alert.snoozedUntil > now) return `snoozed by ${alert.snoozedBy ?? 'someone'} before it was sent`;
    return undefined;
  }

  async function deliver(page: PageRecord, alert: AlertRecord): Promise<void> {
    const wording: AlertPage = { alert, level: page.level, reason: page.reason, issueType: page.issueType, contact: page.contact };
    const deliveryId = pageDeliveryId(wording);
    if (page.channel === 'email') {
      if (!options.mailer) throw new Error('no SMTP_URL: e-mail pages cannot be sent');
      await options.mailer.send(wording, page.target, deliveryId);
      return;
    }
    const webhook = contacts.get(page.contact)?.webhook;
    if (!webhook) throw new Error(`contact ${page.contact} has no webhook any more`);
    await sendWebhook(webhook, { deliveryId, payload: pagePayload(wording, clock()) });
  }

  const describe = (page: PageKey) => `page to ${page.contact} by ${page.channel === 'email' ? `e-mail to ${page.target}` : `webhook (${page.target})`}`;

  /** One attempt of a page still at `page.attempts` attempts; nothing when another replica took it. */
  async function attempt(page: PageRecord, now: Date): Promise<void> {
    const retryAt = new Date(now.getTime() + (delays[page.attempts] ?? LAST_ATTEMPT_HOLD_MS));
    if (!(await ledger.take(page, page.attempts, now, retryAt))) return;
    const attempts = page.attempts + 1;
    const alert = await alerts.get(page.alertId);
    const stop = stopReason(alert, page, now);
    if (stop) {
      await ledger.finish(page, 'cancelled', now, stop);
      return;
    }
    try {
      await deliver(page, alert!);
    } catch (error) {
      const said = (error as Error).message ?? String(error);
      if (attempts < maxAttempts) {
        log('warn', `alert ${page.alertId}: Level ${page.level} ${describe(page)} failed (attempt ${attempts} of ${maxAttempts}; tried again in ${Math.round((retryAt.getTime() - now.getTime()) / 1000)} s): ${said}`);
        await ledger.attemptFailed(page, said);
        return;
      }
      const summary = `The Level ${page.level} ${describe(page)} failed ${attempts === 1 ? 'its only attempt' : `all ${attempts} attempts`}: ${said}`;
      log('error', `alert ${page.alertId}: ${summary}`);
      await ledger.finish(page, 'failed', clock(), said);
      await alerts
        .note(page.alertId, { kind: 'note', details: { summary, page: { level: page.level, contact: page.contact, channel: page.channel, target: page.target, attempts } } })
        .catch((noteError: unknown) => log('error', `alert ${page.alertId}: the failed page could not be noted on the alert: ${(noteError as Error).message}`));
      return;
    }
    await ledger.finish(page, 'sent', clock());
  }

  /** Attempts never throw: a database hiccup is logged, and the page's row brings it back. */
  const attemptLogged = (page: PageRecord, now: Date) =>
    attempt(page, now).catch((error: unknown) => log('error', `alert ${page.alertId}: Level ${page.level} ${describe(page)}: ${(error as Error).message ?? String(error)}; tried again when due`));

  return {
    async levelReached(notice) {
      const keys = keysOf(notice);
      if (keys.length === 0) return;
      const now = clock();
      const claimed = await ledger.claim(keys, { reason: notice.reason, issueType: notice.issueType }, now);
      await Promise.all(claimed.map((page) => attemptLogged(page, now)));
    },

    async retryDue(now = clock()) {
      await Promise.all((await ledger.due(now, RETRY_BATCH)).map((page) => attemptLogged(page, now)));
    },
  };
}
