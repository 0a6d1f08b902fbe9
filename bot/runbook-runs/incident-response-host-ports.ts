/**
 * What the emergency runbooks need from the bot (runbooks/engine/ports.ts `IncidentResponsePorts`):
 * the incident commands' ports once they exist, the incident store's timeline, the command path
 * (a line asked as the run's requester, its approval request shown where the run is), the
 * contacts of an incident type (config `contacts:` as the escalation matrix names them) told by
 * e-mail and signed webhook, and the audit trail. The engine starts before the incidents and the
 * command path do, so they are handed in as getters.
 */
import { basename, join } from 'node:path';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { CommandRequestOutcome, IncidentResponsePorts, NoticeDelivery, NoticeTargetOutcome } from '../../runbooks/engine/ports.js';
import type { ApprovalRequest } from '../approvals/index.js';
import type { AuditTrail } from '../audit-trail/index.js';
import type { ExecutionOutcome, ExecutionRequest } from '../command-path/index.js';
import type { IncidentStore } from '../incidents/incident-store.js';
import { createSmtpTransport, mailAddress } from '../notices/email-notices.js';
import type { EmailSettings } from '../notices/email-settings.js';
import type { PagingContact } from '../paging/contacts.js';
import { sendWebhookPage, webhookOrigin } from '../paging/webhook-pages.js';

/** The type's contacts, in the matrix's column order (primary, secondary, escalation), each once. */
export function contactsOfIssueType(columns: Readonly<Record<string, readonly string[]>>, contacts: ReadonlyMap<string, PagingContact>): PagingContact[] {
  const names = [...new Set(Object.values(columns).flat())];
  return names.map((name) => contacts.get(name)).filter((contact): contact is PagingContact => contact !== undefined);
}

export interface ContactMail {
  to: string;
  subject: string;
  text: string;
  deliveryId: string;
}

export interface IncidentResponseHostOptions {
  services(): Pick<Partial<CommandDependencies>, 'incidents' | 'checklists'> | undefined;
  incidentStore(): Pick<IncidentStore, 'addToTimeline'> | undefined;
  /** Runs a line through the command path (executeCommandLine with the bot's registry and services). */
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /** Shows a request the run asked for to approvers (Slack: where the run is shown); a failure is logged, the request stands. */
  announce?(request: ApprovalRequest, runId: string): Promise<void>;
  /** The contacts of each incident type (contactsOfIssueType over the matrix). */
  contactsFor(issueType: string): readonly PagingContact[];
  /** Sends one e-mail through SMTP_URL's server; absent without one (contacts with e-mail then need it: the start refuses). */
  sendMail?(mail: ContactMail): Promise<void>;
  trail: Pick<AuditTrail, 'append'>;
  evidenceDir: string;
  configFiles: ReadonlyArray<{ name: string; path: string }>;
  settings: Readonly<Record<string, string>>;
  secrets: readonly string[];
  log?(message: string, error?: unknown): void;
}

/** E-mail to contacts through the SMTP_URL server, one message per address (a refused one fails alone). */
export function smtpContactMail(settings: Pick<EmailSettings, 'transport' | 'from' | 'server'>): (mail: ContactMail) => Promise<void> {
  const transporter = createSmtpTransport(settings);
  return async (mail) => {
    const info = await transporter.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.deliveryId.replace(/[^A-Za-z0-9.-]+/g, '.')}@acgs-chatops>`, headers: { 'X-ACGS-Delivery': mail.deliveryId } });
    if (!info.accepted.map(mailAddress).includes(mail.to)) throw new Error(`the mail server ${settings.server} refused ${mail.to}`);
  };
}

/** Keys of the environment that name a secret: their values are kept out of the evidence wherever they appear. */
const SECRET_ENV_KEY = /(token|secret|passw(or)?d|key|credential)/i;
/** What of the environment describes the bot's setup (its settings, not the machine's). */
const SETTING_ENV_KEY = /^(ACGS_|SLACK_|SMTP_|REDIS_|DATABASE_|AUDIT_|EVOLUTION_|POLICY_ENGINE_|SANDBOX_CONTROLLER_|PORT$|BOT_HOST$|NODE_ENV$)/;

/** The evidence archive's place, config files, settings and the secrets to blank, from the bot's environment. */
export function evidenceSetup(env: NodeJS.ProcessEnv, stateDir: string, extraSecrets: ReadonlyArray<string | undefined> = []): Pick<IncidentResponseHostOptions, 'evidenceDir' | 'configFiles' | 'settings' | 'secrets'> {
  const settings = Object.fromEntries(Object.entries(env).filter(([key, value]) => SETTING_ENV_KEY.test(key) && value !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))) as Record<string, string>;
  const secrets = [...Object.entries(settings).filter(([key]) => SECRET_ENV_KEY.test(key)).map(([, value]) => value), ...extraSecrets].filter((value): value is string => typeof value === 'string' && value.length >= 8);
  return {
    evidenceDir: env.ACGS_EVIDENCE_DIR || join(stateDir, 'evidence'),
    configFiles: env.ACGS_CONFIG ? [{ name: basename(env.ACGS_CONFIG), path: env.ACGS_CONFIG }] : [],
    settings,
    secrets: [...new Set(secrets)],
  };
}

const said = (outcome: ExecutionOutcome) => [outcome.document.title, outcome.document.summary].filter(Boolean).join(': ');
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function incidentResponseHostPorts(options: IncidentResponseHostOptions): IncidentResponsePorts {
  return {
    services: options.services,
    async timeline(incidentKey, entry) {
      const store = options.incidentStore();
      if (!store) throw new Error("the bot's incidents are not ready (it is still starting); retry the step");
      await store.addToTimeline(incidentKey, { kind: 'runbook-step', occurredAt: entry.at, actor: entry.actor, text: entry.text, reference: entry.reference, requestKey: entry.requestKey }, new Date());
    },
    async requestCommand({ line, actor, runId, approvalId }): Promise<CommandRequestOutcome> {
      // The runner asks on the requester's behalf, as a gate does: no person typed it.
      const outcome = await options.execute({ line, actor: { id: actor }, origin: 'schedule', approvalId });
      if (outcome.approval) {
        if (options.announce && outcome.approval.messages.length === 0) {
          await options.announce(outcome.approval, runId).catch((error: unknown) => options.log?.(`run ${runId}: approval request ${outcome.approval!.id} could not be shown`, error));
        }
        return { state: 'approval', said: said(outcome), approvalId: outcome.approval.id };
      }
      const ran = outcome.outcome === 'ok' || outcome.outcome === 'warn' || outcome.outcome === 'info';
      return { state: ran && !outcome.rejection ? 'ran' : 'refused', said: said(outcome) };
    },
    async notifyContacts(notice): Promise<NoticeDelivery> {
      const targets: NoticeTargetOutcome[] = [];
      for (const contact of options.contactsFor(notice.issueType)) {
        const deliveryId = `${notice.key}/${contact.name}`;
        if (contact.webhook) {
          const payload = { type: `acgs.incident.${notice.issueType}`, delivery: deliveryId, contact: contact.name, subject: notice.subject, text: notice.text, details: notice.details, sent_at: new Date().toISOString() };
          try {
            await sendWebhookPage(contact.webhook, { deliveryId, payload });
            targets.push({ kind: 'channel', target: webhookOrigin(contact.webhook.url), delivered: true, detail: `webhook of ${contact.name}` });
          } catch (error) {
            targets.push({ kind: 'channel', target: webhookOrigin(contact.webhook.url), delivered: false, detail: `webhook of ${contact.name}: ${reason(error)}` });
          }
        }
        for (const address of contact.email) {
          if (!options.sendMail) {
            targets.push({ kind: 'email', target: address, delivered: false, detail: 'no SMTP_URL server to send it through' });
            continue;
          }
          try {
            await options.sendMail({ to: address, subject: notice.subject, text: notice.text, deliveryId });
            targets.push({ kind: 'email', target: address, delivered: true, detail: contact.name });
          } catch (error) {
            targets.push({ kind: 'email', target: address, delivered: false, detail: `${contact.name}: ${reason(error)}` });
          }
        }
      }
      const delivered = targets.filter((target) => target.delivered).length;
      const summary = targets.length === 0 ? `no contact of the ${notice.issueType} column has e-mail or a webhook` : targets.map((target) => `${target.delivered ? 'sent' : 'NOT sent'} to ${target.target}${target.detail ? ` (${target.detail})` : ''}`).join('; ');
      return { summary, delivered, attempted: targets.length, targets };
    },
    async record(entry) {
      await options.trail.append({ kind: 'evidence_archive', key: entry.key, actor: 'system', origin: 'system', command: 'run security-breach', outcome: entry.outcome, details: { ...entry.details, run: entry.runId, kind: entry.kind } });
    },
    evidenceDir: options.evidenceDir,
    configFiles: options.configFiles,
    settings: options.settings,
    secrets: options.secrets,
  };
}
