/**
 * Sends a deployment notice by e-mail through nodemailer: one message to every address, with a
 * plain-text and a simple HTML part. Timeouts are short: a mail server that does not answer must
 * not hold the deployment's notify step for minutes.
 */
import nodemailer from 'nodemailer';
import type { DeploymentNotice } from '../../runbooks/engine/ports.js';
import type { EmailSettings } from './email-settings.js';
import { noticeHtml, noticePlainText, noticeSubject } from './notice-text.js';

export interface NoticeMailer {
  /**
   * Sends to `to` (default: every configured address); resolves with the addresses the server
   * accepted and those it refused; rejects when nothing could be sent.
   */
  send(notice: DeploymentNotice, to?: readonly string[]): Promise<{ accepted: string[]; rejected: string[] }>;
  close(): void;
  readonly settings: EmailSettings;
}

const TIMEOUT_MS = 10_000;

/** The SMTP_URL server with short timeouts; shared with the pages of escalated alerts (bot/paging/). */
export function createSmtpTransport(settings: Pick<EmailSettings, 'transport'>, timeoutMs = TIMEOUT_MS) {
  return nodemailer.createTransport({
    ...settings.transport,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

/** An address as nodemailer reports it accepted or rejected (a text, or an object with one). */
export const mailAddress = (value: unknown) => (typeof value === 'string' ? value : ((value as { address?: string })?.address ?? String(value)));

export function createNoticeMailer(settings: EmailSettings, options: { timeoutMs?: number } = {}): NoticeMailer {
  const transporter = createSmtpTransport(settings, options.timeoutMs ?? TIMEOUT_MS);
  const address = mailAddress;
  return {
    settings,
    async send(notice, to = settings.to) {
      const info = await transporter.sendMail({
        from: settings.from,
        to: [...to],
        subject: noticeSubject(notice),
        text: noticePlainText(notice),
        html: noticeHtml(notice),
      });
      return { accepted: info.accepted.map(address), rejected: info.rejected.map(address) };
    },
    close() {
      transporter.close();
    },
  };
}
