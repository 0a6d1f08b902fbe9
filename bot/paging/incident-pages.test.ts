/**
 * The emergency runbooks' pages (incident-pages.ts) against a local webhook receiver on 127.0.0.1
 * that checks each signature: which contacts a type's row names, what a page says, a webhook that
 * refuses, e-mail through a real SMTP server process (test/testing/smtp-sink.ts), and what is not
 * sent said as not delivered rather than passed over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeQuotedPrintable, startSmtpSink, type SmtpSink } from '../../test/testing/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/testing/webhook-receiver.js';
import { emailSettingsFromEnv } from '../notices/index.js';
import { smtpContactMail } from '../runbook-runs/incident-response-host-ports.js';
import { DEFAULT_ESCALATION } from '../alerts/escalation-matrix.js';
import { resolveContacts } from './contacts.js';
import { contactsForType, createIncidentPages } from './incident-pages.js';

const SECRET = 'incident-pages-secret-0123456789abcdef';
const PAGE = { incidentKey: 'INC-7', title: 'Agents break the safety principle', severity: 'sev1', type: 'constitutional', summary: 'Lockdown proposed.', runId: 'run-1' } as const;

let receiver: WebhookReceiver;
let sink: SmtpSink;
beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  sink = await startSmtpSink({ user: 'acgs', pass: 'sink-pass', refuseRecipients: ['gone@example.com'] });
}, 30_000);
afterAll(async () => {
  await receiver?.close();
  await sink?.close();
});

const matrixWith = (constitutional: Record<'primary' | 'secondary' | 'escalation', string[]>) => ({ issueTypes: { ...DEFAULT_ESCALATION.issueTypes, constitutional } });

describe('incident pages', () => {
  it("names the contacts of the type's row once each, in its order, leaving roles and other types' contacts out", () => {
    const contacts = resolveContacts({ oversight: { webhook: { url: receiver.url, secret: SECRET } }, ethics: { email: ['ethics@example.com'] }, pager: { webhook: { url: receiver.url, secret: SECRET } } }, {});
    const names = contactsForType({ contacts, matrix: matrixWith({ primary: ['oncall', 'oversight'], secondary: ['ethics', 'oversight'], escalation: ['admins'] }) }, 'constitutional').map((contact) => contact.name);
    expect(names).toEqual(['oversight', 'ethics']);
  });

  it('sends one signed page naming the incident, with a delivery id that stays the same on a retry', async () => {
    const contacts = resolveContacts({ oversight: { webhook: { url: receiver.url, secret: SECRET } } }, {});
    const pages = createIncidentPages({ contacts, matrix: matrixWith({ primary: ['oversight'], secondary: [], escalation: [] }) });
    const before = receiver.received.length;
    expect(await pages.page(PAGE)).toEqual([{ contact: 'oversight', channel: 'webhook', target: new URL(receiver.url).origin, delivered: true }]);
    await pages.page(PAGE);
    const received = receiver.received.slice(before);
    expect(received.map((page) => page.signatureProblem)).toEqual([undefined, undefined]);
    expect(received[0]!.headers['x-acgs-delivery']).toBe('INC-7/run-run-1/oversight');
    expect(received[1]!.headers['x-acgs-delivery']).toBe(received[0]!.headers['x-acgs-delivery']);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'acgs.incident.page', contact: 'oversight', incident: { key: 'INC-7', severity: 'sev1', type: 'constitutional' }, summary: 'Lockdown proposed.', run_id: 'run-1' });
  });

  it('mails each address of an e-mail contact through the SMTP server, naming the incident; a refused address is said, the others sent', async () => {
    const settings = emailSettingsFromEnv({ SMTP_URL: sink.url, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: 'deploys@example.com' })!;
    const contacts = resolveContacts({ ethics: { email: ['ethics@example.com', 'gone@example.com'] } }, {});
    const pages = createIncidentPages({ contacts, matrix: matrixWith({ primary: ['ethics'], secondary: [], escalation: [] }), sendMail: smtpContactMail(settings) });
    const before = sink.received().length;
    expect(await pages.page(PAGE)).toEqual([
      { contact: 'ethics', channel: 'email', target: 'ethics@example.com', delivered: true },
      { contact: 'ethics', channel: 'email', target: 'gone@example.com', delivered: false, detail: expect.stringMatching(/gone@example\.com/) },
    ]);
    const mails = sink.received().slice(before);
    expect(mails.map((mail) => mail.to)).toEqual([['ethics@example.com']]);
    const raw = decodeQuotedPrintable(mails[0]!.raw);
    expect(raw).toMatch(/Subject: \[sev1\] INC-7: Agents break the safety principle/);
    expect(raw).toContain('Lockdown proposed.');
    expect(raw).toMatch(/^X-ACGS-Delivery: INC-7\/run-run-1\/ethics\/ethics@example\.com$/im);
  });

  it('says a refused webhook, an e-mail contact without an SMTP server and a Slack-only contact are not paged, never showing the routing key', async () => {
    const contacts = resolveContacts({ oversight: { webhook: { url: receiver.url, secret: SECRET } }, ethics: { email: ['ethics@example.com'] }, board: { slack: { mention: ['U0BOARD'] } } }, {});
    const pages = createIncidentPages({ contacts, matrix: matrixWith({ primary: ['oversight', 'ethics', 'board'], secondary: [], escalation: [] }) });
    receiver.answerNext(503);
    const outcomes = await pages.page(PAGE);
    expect(outcomes).toEqual([
      { contact: 'oversight', channel: 'webhook', target: new URL(receiver.url).origin, delivered: false, detail: expect.stringMatching(/answered HTTP 503/) },
      { contact: 'ethics', channel: 'email', target: 'ethics@example.com', delivered: false, detail: expect.stringMatching(/no SMTP_URL server/) },
      { contact: 'board', channel: 'slack', target: 'U0BOARD', delivered: false, detail: expect.stringMatching(/asked into the incident's own channel/) },
    ]);
    expect(JSON.stringify(outcomes)).not.toContain('routing_key');
  });

  it('pages nobody when the row names no contact', async () => {
    const pages = createIncidentPages({ contacts: new Map(), matrix: DEFAULT_ESCALATION });
    expect(await pages.page(PAGE)).toEqual([]);
  });
});
