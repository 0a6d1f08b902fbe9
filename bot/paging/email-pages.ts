/**
 * Sends a page by e-mail through the SMTP_URL server (the deployment notices' transport, with
 * their short timeouts): one message per address, so that one address the server refuses does not
 * decide the others' fate, and each is retried on its own.
 */
import { createSmtpTransport, mailAddress } from '../notices/email-notices.js';
import type { EmailSettings } from '../notices/email-settings.js';
import { pagePlainText, pageSubject, type AlertPage } from './page-text.js';
import { PageDeliveryError } from './webhook-pages.js';

export interface PageMailer {
  /** Resolves once the server accepted the message for `to`; else rejects with a PageDeliveryError. */
  send(page: AlertPage, to: string, deliveryId: string): Promise<void>;
  close(): void;
}

export function createPageMailer(settings: Pick<EmailSettings, 'transport' | 'from' | 'server'>, options: { timeoutMs?: number } = {}): PageMailer {
  const transporter = createSmtpTransport(settings, options.timeoutMs);
  return {
    async send(page, to, deliveryId) {
      let info: { accepted: unknown[]; rejected: unknown[] };
      try {
        info = await transporter.sendMail({
          from: settings.from,
          to,
          subject: pageSubject(page),
          text: pagePlainText(page),
          // The same on every attempt, so that a mail client can fold a repeat into one.
          messageId: `<${deliveryId.replace(/[^A-Za-z0-9.-]+/g, '.')}@acgs-chatops>`,
          headers: { 'X-ACGS-Delivery': deliveryId },
        });
      } catch (error) {
        throw new PageDeliveryError(`the mail server ${settings.server} did not take the page for ${to}: ${firstLine(error)}`);
      }
      if (!info.accepted.map(mailAddress).includes(to)) throw new PageDeliveryError(`the mail server ${settings.server} refused ${to}`);
    },
    close() {
      transporter.close();
    },
  };
}

function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!.slice(0, 300);
}
