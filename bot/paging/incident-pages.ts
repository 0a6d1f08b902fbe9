/**
 * The steps' `contactPages` port (runbooks/engine/ports.ts): the emergency runbooks page the
 * config's contacts that the escalation matrix names for the incident's type (its issue-type row,
 * every column: an emergency is everyone's), by signed webhook as an alert's page is. The delivery
 * id is the incident's, the run's and the contact's, the same on a retry, so a receiver drops a
 * repeat. E-mail and Slack DMs of incident pages are not sent yet: the outcome says so per contact,
 * so nobody takes them for delivered.
 */
import type { EscalationMatrix } from '../alerts/escalation-matrix.js';
import type { ContactPageOutcome, ContactPages, IncidentContactPage } from '../../runbooks/engine/ports.js';
import type { PagingContact } from './contacts.js';
import { sendWebhookPage, webhookOrigin } from './webhook-pages.js';

export const INCIDENT_PAGE_TYPE = 'acgs.incident.page';

export interface IncidentPagesOptions {
  contacts: ReadonlyMap<string, PagingContact>;
  matrix: Pick<EscalationMatrix, 'issueTypes'>;
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
        if (contact.email.length > 0) outcomes.push({ contact: contact.name, channel: 'email', target: contact.email.join(', '), delivered: false, detail: 'incident pages by e-mail are not sent yet (issue 16): tell them by hand' });
        const slack = [...contact.slack.mention, ...contact.slack.dm];
        if (slack.length > 0 && !contact.webhook && contact.email.length === 0) outcomes.push({ contact: contact.name, channel: 'slack', target: slack.join(', '), delivered: false, detail: 'incident pages by Slack are not sent yet (issue 16): mention them in the incident' });
      }
      return outcomes;
    },
  };
}
