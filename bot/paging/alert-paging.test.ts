/**
 * Paging escalated alerts' contacts on the real PostgreSQL, a local webhook receiver that verifies
 * each page's signature (test/testing/webhook-receiver.ts) and a real SMTP server process
 * (test/testing/smtp-sink.ts): each page once per episode, level, contact and channel however many
 * replicas reach the level; retried with backoff; stopped by an acknowledgement; a page that fails
 * its last attempt is noted on the alert and pages nobody about itself. The clock is the test's.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { decodeQuotedPrintable, startSmtpSink, type SmtpSink } from '../../test/testing/smtp-sink.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/testing/webhook-receiver.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../alerts/alert-store.js';
import { allEscalationActions, createEscalations, type EscalationNotice, type Escalations } from '../alerts/escalation.js';
import { escalationMatrix } from '../alerts/escalation-matrix.js';
import { createEscalationRecords, migrateEscalationRecords } from '../alerts/escalation-records.js';
import { firingReport } from '../alerts/testing/reported-alerts.js';
import { emailSettingsFromEnv } from '../notices/email-settings.js';
import { createAlertPaging, type AlertPaging } from './alert-paging.js';
import { resolveContacts, type ContactsSection } from './contacts.js';
import { createPageMailer, type PageMailer } from './email-pages.js';
import { createPageLedger, migratePageLedger, type PageLedger } from './page-ledger.js';
import { DELIVERY_HEADER } from './webhook-pages.js';

const SECRET = 'a-webhook-secret-of-at-least-32-characters';
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const seconds = (n: number) => new Date(T0.getTime() + n * 1000);
const ROLES = { oncall: ['U0ONCALL'], approvers: ['U0APPROVER1'] };
// Level 2 tells on-call and pages the pager; Level 3 also the security team (e-mail and a mention).
const MATRIX = escalationMatrix({
  levels: { '2': { notify: ['primary', 'pager'] }, '3': { notify: ['primary', 'pager', 'secondary'] } },
  issue_types: { infrastructure: { secondary: ['approvers', 'security-team'] } },
});

let db: TestDatabase;
let pool: pg.Pool;
let otherReplica: pg.Pool;
let receiver: WebhookReceiver;
let sink: SmtpSink;
let mailer: PageMailer;
let clock: Date;
const logged: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('acgs_paging');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-paging-test' });
  otherReplica = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-paging-test-2' });
  await migrateAlertStore(pool);
  await migrateEscalationRecords(pool);
  expect(await migratePageLedger(pool)).toEqual(['1767500000000_alert-pages']);
  expect(await migratePageLedger(otherReplica)).toEqual([]);
  receiver = await startWebhookReceiver(SECRET);
  sink = await startSmtpSink({ user: 'acgs', pass: 'sink-pass', refuseRecipients: ['gone@example.com'] });
  const settings = emailSettingsFromEnv({ SMTP_URL: sink.url, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: 'deploys@example.com' })!;
  mailer = createPageMailer(settings, { timeoutMs: 5000 });
}, 30_000);
afterAll(async () => {
  mailer?.close();
  await receiver?.close();
  await sink?.close();
  await pool?.end();
  await otherReplica?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE alert_pages, alert_escalations, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
  receiver.received.length = 0;
  logged.length = 0;
  clock = T0;
});

function contactsOf(section: ContactsSection = {}) {
  return resolveContacts({ pager: { webhook: { url: receiver.url, secret: SECRET } }, 'security-team': { email: ['sec@example.com', 'lead@example.com'], slack: { mention: ['S0SECURITY'] } }, ...section }, {});
}

/** A replica: its store, ledger, paging and escalations (Slack's actions recorded, not sent). */
function replica(replicaPool: pg.Pool, section?: ContactsSection): { store: AlertStore; ledger: PageLedger; paging: AlertPaging; escalations: Escalations; slack: EscalationNotice[] } {
  const store = createAlertStore({ pool: replicaPool, now: () => clock });
  const ledger = createPageLedger(replicaPool);
  const contacts = contactsOf(section);
  const paging = createAlertPaging({ ledger, contacts, alerts: store, mailer, retryDelaysMs: [60_000, 300_000], now: () => clock, log: (level, message) => logged.push(`${level}: ${message}`) });
  const slack: EscalationNotice[] = [];
  const escalations = createEscalations({
    alerts: store,
    records: createEscalationRecords(replicaPool),
    matrix: MATRIX,
    roles: ROLES,
    contacts,
    now: () => clock,
    actions: allEscalationActions([{ levelReached: async (notice) => void slack.push(notice) }, paging]),
  });
  return { store, ledger, paging, escalations, slack };
}

async function firingAlert(store: AlertStore, fingerprint = 'service-down-policy-engine') {
  await store.report([firingReport({ fingerprint, startsAt: T0 })]);
  return (await store.byFingerprint(fingerprint))!;
}

const mailsTo = (address: string) => sink.received().filter((mail) => mail.to.includes(address));

describe('paging the contacts of an escalation level', () => {
  it('pages each contact of the level once through each channel, however many replicas reach it', async () => {
    const a = replica(pool);
    const b = replica(otherReplica);
    const alert = await firingAlert(a.store);
    const mailsBefore = sink.received().length;

    clock = minutes(5);
    await Promise.all([a.escalations.run(clock), b.escalations.run(clock)]);
    // Level 2 names the pager only: one signed webhook page, no e-mail.
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.signatureProblem).toBeUndefined();
    const [page] = receiver.accepted();
    expect(page).toMatchObject({
      type: 'acgs.alert.escalated',
      contact: 'pager',
      level: 2,
      level_name: 'human intervention required',
      reason: 'not acknowledged within 5 min at Level 1',
      issue_type: 'infrastructure',
      summary: `Level 2 (human intervention required): alert ${alert.id} ServiceDown on policy-engine`,
      alert: { id: alert.id, rule: 'ServiceDown', state: 'firing', fired_at: T0.toISOString(), labels: { service: 'policy-engine' } },
      acknowledge: `/acgs alerts ack ${alert.id}`,
    });
    expect(receiver.received[0]!.headers[DELIVERY_HEADER]).toBe(`alert-${alert.id}/${T0.toISOString()}/level-2/pager`);
    expect(sink.received()).toHaveLength(mailsBefore);
    // The level's note names the contacts beside the Slack IDs; no secret in it.
    const escalated = (await a.store.events(alert.id)).filter((event) => event.kind === 'escalated').map((event) => event.details);
    expect(escalated).toEqual([expect.objectContaining({ level: 2, notified: ['U0ONCALL'], contacts: ['pager'] })]);
    expect(JSON.stringify(escalated)).not.toContain(SECRET);

    // Level 3 (15 min later) pages the pager again (a new level) and mails each security address once.
    clock = minutes(20);
    await Promise.all([a.escalations.run(clock), b.escalations.run(clock)]);
    expect(receiver.accepted().map((body) => body.level)).toEqual([2, 3]);
    expect(mailsTo('sec@example.com')).toHaveLength(1);
    expect(mailsTo('lead@example.com')).toHaveLength(1);
    const mail = mailsTo('sec@example.com')[0]!;
    // Long header lines are folded on the wire.
    expect(mail.raw.replace(/\r?\n /g, ' ')).toContain(`Subject: [ACGS] Level 3 (critical incident): alert ${alert.id} ServiceDown on policy-engine`);
    expect(decodeQuotedPrintable(mail.raw)).toContain(`/acgs alerts ack ${alert.id}`);
    // The Slack side heard of the security team's mention too.
    // Whichever replica won each level's race: in level order.
    const heard = [...a.slack, ...b.slack].sort((x, y) => x.level - y.level);
    expect(heard.map((notice) => notice.recipients)).toEqual([
      { ids: ['U0ONCALL'], emptyRoles: [], contacts: ['pager'] },
      { ids: ['U0ONCALL', 'U0APPROVER1', 'S0SECURITY'], emptyRoles: [], contacts: ['pager', 'security-team'] },
    ]);

    // Handing the same level over again (a replica that lost the race, a restart) pages nobody.
    await a.paging.levelReached(heard[0]!);
    await b.paging.levelReached(heard[1]!);
    expect(receiver.received).toHaveLength(2);
    expect((await a.ledger.ofAlert(alert.id)).map((row) => [row.level, row.contact, row.channel, row.target, row.state, row.attempts])).toEqual([
      [2, 'pager', 'webhook', new URL(receiver.url).origin, 'sent', 1],
      [3, 'pager', 'webhook', new URL(receiver.url).origin, 'sent', 1],
      [3, 'security-team', 'email', 'lead@example.com', 'sent', 1],
      [3, 'security-team', 'email', 'sec@example.com', 'sent', 1],
    ]);
  }, 30_000);

  it('tries a failed page again after its delay, with the same delivery id, until it is delivered', async () => {
    const a = replica(pool);
    const alert = await firingAlert(a.store);
    receiver.answerNext(503);
    clock = minutes(5);
    await a.escalations.run(clock);
    expect(receiver.received.map((page) => page.status)).toEqual([503]);
    expect(logged).toEqual([expect.stringMatching(/^warn: alert \d+: Level 2 page to pager by webhook \(http:\/\/127\.0\.0\.1:\d+\) failed \(attempt 1 of 3; tried again in 60 s\): the webhook at http:\/\/127\.0\.0\.1:\d+ answered HTTP 503: service unavailable, try later$/)]);
    // The routing key in the URL's query is never said.
    expect(logged.join('\n')).not.toContain('routing_key');

    // Not before the delay; then once, whichever replica retries.
    clock = seconds(5 * 60 + 30);
    await a.paging.retryDue(clock);
    expect(receiver.received).toHaveLength(1);
    clock = seconds(6 * 60);
    await Promise.all([a.paging.retryDue(clock), replica(otherReplica).paging.retryDue(clock)]);
    expect(receiver.received.map((page) => page.status)).toEqual([503, 200]);
    expect(new Set(receiver.received.map((page) => page.headers[DELIVERY_HEADER])).size).toBe(1);
    expect((await a.ledger.ofAlert(alert.id)).map((row) => [row.state, row.attempts, row.lastError?.replace(/\d+/g, 'n')])).toEqual([['sent', 2, 'the webhook at http://n.n.n.n:n answered HTTP n: service unavailable, try later']]);
  }, 30_000);

  it('sends no page after the alert is acknowledged, and cancels the retry', async () => {
    const a = replica(pool);
    const alert = await firingAlert(a.store);
    receiver.answerNext(503);
    clock = minutes(5);
    await a.escalations.run(clock);
    await a.store.acknowledge(alert.id, 'U0ONCALL');

    clock = minutes(30);
    await a.paging.retryDue(clock);
    await a.escalations.run(clock);
    expect(receiver.received).toHaveLength(1);
    expect((await a.ledger.ofAlert(alert.id)).map((row) => [row.state, row.lastError])).toEqual([['cancelled', 'acknowledged by U0ONCALL before it was sent']]);
  }, 30_000);

  it('sends no page of an episode that is over: the alert resolved and fired again', async () => {
    const a = replica(pool);
    const alert = await firingAlert(a.store);
    receiver.answerNext(503);
    clock = minutes(5);
    await a.escalations.run(clock);
    await a.store.report([firingReport({ fingerprint: alert.fingerprint, status: 'resolved', startsAt: T0, endsAt: minutes(6) })]);
    await a.store.report([firingReport({ fingerprint: alert.fingerprint, startsAt: minutes(7) })]);

    clock = seconds(6 * 60 + 30);
    await a.paging.retryDue(clock);
    expect(receiver.received).toHaveLength(1);
    expect((await a.ledger.ofAlert(alert.id))[0]).toMatchObject({ state: 'cancelled', lastError: 'the alert fired again since: its new episode escalates afresh' });
  }, 30_000);

  it('cancels a retry whose contact the config no longer has (a restart with another config)', async () => {
    const a = replica(pool);
    const alert = await firingAlert(a.store);
    receiver.answerNext(503);
    clock = minutes(5);
    await a.escalations.run(clock);
    const restarted = replica(pool, { pager: { email: ['pager@example.com'] } });
    clock = minutes(7);
    await restarted.paging.retryDue(clock);
    expect(receiver.received).toHaveLength(1);
    expect((await a.ledger.ofAlert(alert.id))[0]).toMatchObject({ state: 'cancelled', lastError: 'the config no longer gives contact pager this webhook' });
  }, 30_000);

  it('notes a page that failed its last attempt on the alert, and pages nobody about it', async () => {
    const a = replica(pool);
    const alert = await firingAlert(a.store);
    receiver.answerNext(500, 500, 500);
    clock = minutes(5);
    await a.escalations.run(clock);
    clock = minutes(6);
    await a.paging.retryDue(clock);
    clock = minutes(11);
    await a.paging.retryDue(clock);
    clock = minutes(60);
    await a.paging.retryDue(clock);
    expect(receiver.received.map((page) => page.status)).toEqual([500, 500, 500]);
    expect(logged.at(-1)).toMatch(/^error: alert \d+: The Level 2 page to pager by webhook \(http:\/\/127\.0\.0\.1:\d+\) failed all 3 attempts: the webhook at http:\/\/127\.0\.0\.1:\d+ answered HTTP 500/);

    const notes = (await a.store.events(alert.id)).filter((event) => event.kind === 'note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.details).toMatchObject({ summary: expect.stringMatching(/^The Level 2 page to pager by webhook .* failed all 3 attempts: .*HTTP 500/), page: { level: 2, contact: 'pager', channel: 'webhook', attempts: 3 } });
    // No alert about the failure, and no page.
    expect((await a.store.listOpen()).map((open) => open.id)).toEqual([alert.id]);
    expect((await a.ledger.ofAlert(alert.id)).map((row) => row.state)).toEqual(['failed']);
    expect(receiver.received).toHaveLength(3);
  }, 30_000);

  it('says why a webhook page failed: a bad signature, a redirect, nobody listening', async () => {
    const wrongSecret = replica(pool, { pager: { webhook: { url: receiver.url, secret: 'another-secret-that-is-32-characters-long' } } });
    const alert = await firingAlert(wrongSecret.store);
    clock = minutes(5);
    await wrongSecret.escalations.run(clock);
    expect(receiver.received.map((page) => [page.status, page.signatureProblem])).toEqual([[401, 'the signature does not match']]);
    expect((await wrongSecret.ledger.ofAlert(alert.id))[0]!.lastError).toMatch(/answered HTTP 401: bad signature: the signature does not match$/);

    await pool.query('TRUNCATE alert_pages, alert_escalations');
    receiver.answerNext(302);
    const redirected = replica(pool);
    await redirected.escalations.run(clock);
    expect((await redirected.ledger.ofAlert(alert.id))[0]!.lastError).toMatch(/answered HTTP 302 \(a redirect, which is not followed: configure the URL it points to\)$/);
    expect(receiver.received).toHaveLength(2);

    await pool.query('TRUNCATE alert_pages, alert_escalations');
    const nowhere = await unusedLoopbackUrl();
    const unreachable = replica(pool, { pager: { webhook: { url: `${nowhere}/hooks`, secret: SECRET } } });
    await unreachable.escalations.run(clock);
    expect((await unreachable.ledger.ofAlert(alert.id))[0]).toMatchObject({ state: 'pending', attempts: 1, lastError: `the webhook at ${nowhere} could not be reached: ECONNREFUSED` });
  }, 30_000);

  it('tries an address the mail server refuses on its own, while the others are mailed', async () => {
    const a = replica(pool, { 'security-team': { email: ['sec@example.com', 'gone@example.com'] } });
    const alert = await firingAlert(a.store);
    clock = minutes(5);
    await a.escalations.run(clock);
    clock = minutes(20);
    await a.escalations.run(clock);
    expect(mailsTo('sec@example.com').length).toBeGreaterThan(0);
    const rows = (await a.ledger.ofAlert(alert.id)).filter((row) => row.channel === 'email');
    expect(rows.map((row) => [row.target, row.state])).toEqual([
      ['gone@example.com', 'pending'],
      ['sec@example.com', 'sent'],
    ]);
    expect(rows[0]!.lastError).toMatch(/^the mail server smtp:\/\/127\.0\.0\.1:\d+ did not take the page for gone@example\.com: /);
    expect(rows[0]!.lastError).not.toContain('sink-pass');
  }, 30_000);
});
