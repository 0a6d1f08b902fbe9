/**
 * The steps' `contactPages` port (runbooks/engine/ports.ts): the emergency runbooks page the
 * config's contacts that the escalation matrix names for the incident's type (its issue-type row,
 * every column: an emergency is everyone's), by signed webhook as an alert's page is. The delivery
 * id is the incident's, the run's and the contact's, the same on a retry, so a receiver drops a
 * repeat. E-mail goes through the bot's SMTP server (SMTP_URL) when it has one, with the same
 * delivery id as its Message-ID. Slack DMs of incident pages are not sent: a Slack-only contact is
 * asked into the incident's own channel with the matrix's people instead, and the outcome says it
 * was not paged, so nobody takes it for delivered.
 */
import type { EscalationMatrix } from '../alerts/escalation-matrix.js';
import type { ContactPageOutcome, ContactPages, IncidentContactPage } from '../../runbooks/engine/ports.js';
import type { PagingContact } from './contacts.js';
import { sendWebhookPage, webhookOrigin } from './webhook-pages.js';

export const INCIDENT_PAGE_TYPE = 'acgs.incident.page';

/** One e-mail page; resolves once the server took it for `to` (bot/runbook-runs smtpContactMail). */
export type SendIncidentMail = (mail: { to: string; subject: string; text: string; deliveryId: string }) => Promise<void>;

export interface IncidentPagesOptions {
  contacts: ReadonlyMap<string, PagingContact>;
  matrix: Pick<EscalationMatrix, 'issueTypes'>;
  /** Without it (no SMTP_URL) an e-mail contact is said not to be paged, and why. */
  sendMail?: SendIncidentMail;
  now?: () => Date;
  timeoutMs?: number;
}

/** The contacts a type's row names, in the row's order, each once (roles and Slack IDs are not contacts). */
export function contactsForType(options: Pick<IncidentPagesOptions, 'contacts' | 'matrix'>, type: IncidentContactPage['type']): PagingContact[] {
  const row = options.matrix.issueTypes[type];
  const names = [...new Set(Object.values(row).flat())];
  return names.map((name) => options.contacts.get(name)).filter((contact): contact is PagingContact => contact !== undefined);
}

export function incidentPageDeliveryId(page: IncidentContactPage, contact: string): string {
  return `${page.incidentKey}/run-${page.runId}/${contact}`;
}

function incidentMailText(page: IncidentContactPage): string {
  return [`${page.incidentKey} (${page.severity}, ${page.type}): ${page.title}`, '', page.summary, '', `Runbook run ${page.runId}. Follow it in Slack: /acgs incidents, /acgs run status ${page.runId}.`].join('\n');
}

export function createIncidentPages(options: IncidentPagesOptions): ContactPages {
  const now = options.now ?? (() => new Date());
  return {
    async page(page) {
      const outcomes: ContactPageOutcome[] = [];
      for (const contact of contactsForType(options, page.type)) {
        const deliveryId = incidentPageDeliveryId(page, contact.name);
        if (contact.webhook) {
          const target = webhookOrigin(contact.webhook.url);
          const payload = {
            type: INCIDENT_PAGE_TYPE,
            delivery_id: deliveryId,
            sent_at: now().toISOString(),
            contact: contact.name,
            incident: { key: page.incidentKey, title: page.title, severity: page.severity, type: page.type },
            summary: page.summary,
            run_id: page.runId,
          };
          try {
            await sendWebhookPage(contact.webhook, { deliveryId, payload }, { now, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
            outcomes.push({ contact: contact.name, channel: 'webhook', target, delivered: true });
          } catch (error) {
            outcomes.push({ contact: contact.name, channel: 'webhook', target, delivered: false, detail: (error as Error).message });
          }
        }
        for (const address of contact.email) {
          if (!options.sendMail) {
            outcomes.push({ contact: contact.name, channel: 'email', target: address, delivered: false, detail: 'the bot has no SMTP_URL server to send it through: tell them by hand' });
            continue;
          }
          try {
            await options.sendMail({ to: address, subject: `[${page.severity}] ${page.incidentKey}: ${page.title}`, text: incidentMailText(page), deliveryId: `${deliveryId}/${address}` });
            outcomes.push({ contact: contact.name, channel: 'email', target: address, delivered: true });
          } catch (error) {
            outcomes.push({ contact: contact.name, channel: 'email', target: address, delivered: false, detail: (error as Error).message });
          }
        }
        const slack = [...contact.slack.mention, ...contact.slack.dm];
        if (slack.length > 0 && !contact.webhook && contact.email.length === 0) outcomes.push({ contact: contact.name, channel: 'slack', target: slack.join(', '), delivered: false, detail: 'incident pages are not sent by Slack: they are asked into the incident\'s own channel; mention them there' });
      }
      return outcomes;
    },
  };
}
