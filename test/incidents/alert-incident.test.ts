/**
 * An escalated alert's incident, with the real bot (Bolt's HTTP receiver, the command path, the
 * authorization policy and the audit trail) against the Slack stand-in and the real PostgreSQL:
 * the "Declare incident" button of an escalated alert declares `incident declare <sev> --type
 * <type> <title>` as the clicker (Level 2 → sev3, Level 3 → sev2, Level 4 → sev1; the matrix's
 * issue type), once per alert episode whoever clicks, and is refused to someone without the role;
 * Level 3 declares the incident itself as the escalation actor, once across two replicas and a
 * redelivery, with the alert on its timeline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createEscalations, ESCALATION_ACTOR, ESCALATION_ROLE, type EscalationNotice, type Escalations } from '../../bot/alerts/escalation.js';
import { DEFAULT_ESCALATION } from '../../bot/alerts/escalation-matrix.js';
import { createEscalationRecords, migrateEscalationRecords } from '../../bot/alerts/escalation-records.js';
import { firingReport } from '../../bot/alerts/testing/reported-alerts.js';
import { commandIncidents, createIncidentStore, escalationIncidentOpener, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { slackEscalationActions } from '../../bot/slack/alert-escalations.js';
import { createAlertMessageStore, migrateAlertMessageStore } from '../../bot/slack/alert-message-store.js';
import { createAlertMessages } from '../../bot/slack/alert-messages.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { createCommandRegistry } from '../../commands/index.js';
import { startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { blockText } from '../testing/slack-harness.js';

const ALERTS = 'C0ACGSALERT';
const ONCALL = 'U0ONCALL';
/** In the stand-in's workspace, with no role here. */
const NOBODY = 'U0APPROVER2';
const ROLES = { oncall: [ONCALL], approvers: ['U0APPROVER1'], admins: [], [ESCALATION_ROLE]: [ESCALATION_ACTOR.id] };
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let gov: GovernanceBot;
let alerts: AlertStore;
let incidents: IncidentStore;
/** The stand-in keeps earlier tests' messages, and alert ids start again at 1: only this test's count. */
let seen = 0;

beforeAll(async () => {
  gov = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    prefix: 'acgs_alert_incident',
    // The stores exist once the bot's database does: looked up at each click.
    botOverrides: {
      alerts: { get: (id) => alerts.get(id), note: (id, event) => alerts.note(id, event), events: (id) => alerts.events(id) },
      incidents: { addToTimeline: (...args) => incidents.addToTimeline(...args), inChannel: (channel) => incidents.inChannel(channel) },
    },
  });
  await migrateAlertStore(gov.trail.pool);
  await migrateEscalationRecords(gov.trail.pool);
  await migrateIncidentStore(gov.trail.pool);
  await migrateAlertMessageStore(gov.trail.pool);
  incidents = createIncidentStore(gov.trail.pool);
  gov.services.incidents = commandIncidents(incidents, { timezone: 'UTC' });
}, 60_000);
afterAll(async () => {
  await gov?.close();
});
beforeEach(async () => {
  await gov.trail.pool.query('TRUNCATE alert_escalations, alert_events, alert_reports, alerts, alert_silences, incidents RESTART IDENTITY CASCADE');
  alerts = createAlertStore({ pool: gov.trail.pool, now: () => T0 });
  seen = gov.t.standIn.messages(ALERTS).length;
});

function escalationsTo(openIncident?: (notice: EscalationNotice) => Promise<{ key: string } | void>): Escalations {
  const client = gov.t.bot.webClient;
  return createEscalations({
    alerts,
    records: createEscalationRecords(gov.trail.pool),
    matrix: DEFAULT_ESCALATION,
    roles: ROLES,
    actions: slackEscalationActions({ client, queue: channelWriteQueue(client), channel: ALERTS, execution: { registry: createCommandRegistry(), services: gov.services }, approvals: gov.approvals, log: () => undefined, ...(openIncident ? { openIncident } : {}) }),
  });
}

const opener = () => escalationIncidentOpener({ execution: { registry: createCommandRegistry(), services: gov.services }, incidents, actor: ESCALATION_ACTOR, channel: ALERTS });

const levelMessage = (alertId: string, level: number) =>
  gov.t.standIn.messages(ALERTS).slice(seen).find((message) => !message.threadTs && blockText(message.blocks).includes(`Level ${level} (`) && blockText(message.blocks).includes(`alert ${alertId} `));

const privateTo = (user: string) => gov.t.standIn.messages(ALERTS, { includeEphemeralFor: user }).filter((message) => message.visibleTo === user);

async function click(user: string, ts: string): Promise<void> {
  await gov.t.standIn.clickButton({ userId: user, channelId: ALERTS, messageTs: ts, actionId: 'acgs_alert_declare' });
}

/** Until an async check holds: the stand-in's waitFor checks synchronously. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function allIncidents() {
  const { rows } = await gov.trail.pool.query<{ id: string }>('SELECT id FROM incidents ORDER BY id');
  return Promise.all(rows.map(async (row) => (await incidents.find(row.id))!));
}

describe('the Declare incident button of an escalated alert', () => {
  it('Level 2: on-call declares a sev3 of the rule\'s issue type with the alert on its timeline; someone without the role is refused; a second click declares nothing new', async () => {
    await alerts.report([firingReport({ fingerprint: 'monitor/ServiceDown/policy-engine', rule: 'ServiceDown', labels: { service: 'policy-engine' }, startsAt: T0 })]);
    const alert = (await alerts.byFingerprint('monitor/ServiceDown/policy-engine'))!;
    await escalationsTo().run(minutes(5));
    const message = levelMessage(alert.id, 2)!;
    expect(blockText(message.blocks)).toContain('Level 2 (human intervention required)');
    expect(JSON.stringify(message.blocks)).toContain('"action_id":"acgs_alert_declare"');

    const refusedBefore = privateTo(NOBODY).length;
    await click(NOBODY, message.ts);
    const refusal = await gov.t.standIn.waitFor(() => privateTo(NOBODY)[refusedBefore], 10_000, 'the refusal');
    expect(`${refusal.text} ${blockText(refusal.blocks)}`).toMatch(/not allowed|refused|may not/i);
    expect(await allIncidents()).toEqual([]);
    const refusedInTrail = (await gov.trail.trail.query({ command: 'incident declare', limit: 20 })).records.filter((record) => record.actor === NOBODY);
    expect(refusedInTrail.map((record) => [record.kind, record.decision])).toEqual([['command', 'deny']]);

    const answeredBefore = privateTo(ONCALL).length;
    await click(ONCALL, message.ts);
    const answer = await gov.t.standIn.waitFor(() => privateTo(ONCALL)[answeredBefore], 10_000, 'the declaration');
    expect(`${answer.text} ${blockText(answer.blocks)}`).toContain('INC-1 declared: Alert 1 ServiceDown on policy-engine');
    const [incident] = await allIncidents();
    expect(incident).toMatchObject({ key: 'INC-1', severity: 'sev3', type: 'infrastructure', declaredBy: ONCALL, title: 'Alert 1 ServiceDown on policy-engine' });
    await until(async () => (await incidents.timeline('INC-1')).some((entry) => entry.kind === 'alert'), 'the alert on the timeline');
    const linked = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'alert');
    expect(linked).toEqual([expect.objectContaining({ reference: `alert:${alert.id}`, occurredAt: T0, actor: ONCALL, text: 'alert 1 ServiceDown on policy-engine fired; it reached Level 2' })]);
    const declaredInTrail = (await gov.trail.trail.query({ command: 'incident declare', limit: 20 })).records.filter((record) => record.actor === ONCALL && record.kind === 'command');
    expect(declaredInTrail.map((record) => record.origin)).toEqual(['button']);

    // Another person's click names the same incident: one per alert episode.
    const secondBefore = privateTo('U0APPROVER1').length;
    await click('U0APPROVER1', message.ts);
    const second = await gov.t.standIn.waitFor(() => privateTo('U0APPROVER1')[secondBefore], 10_000, 'the second answer');
    expect(`${second.text} ${blockText(second.blocks)}`).toContain('INC-1 was declared by this same request already');
    expect(await allIncidents()).toHaveLength(1);
    expect((await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'alert')).toHaveLength(1);
  }, 60_000);

  it("the alert's own message gains the button once its episode escalated, and it declares as the escalation message's does", async () => {
    const client = gov.t.bot.webClient;
    const shown = createAlertMessages({ queue: channelWriteQueue(client, { minEditIntervalMs: 50 }), alerts, messages: createAlertMessageStore({ pool: gov.trail.pool }), channel: ALERTS });
    alerts.onChange((change) => shown.changed(change));
    await alerts.report([firingReport({ fingerprint: 'monitor/HighErrorRate', rule: 'HighErrorRate', labels: { service: 'policy-engine' }, startsAt: T0 })]);
    await shown.idle();
    const alert = (await alerts.byFingerprint('monitor/HighErrorRate'))!;
    const own = () => gov.t.standIn.messages(ALERTS).slice(seen).find((message) => JSON.stringify(message.blocks).includes(`"block_id":"acgs_alert_${alert.id}"`));
    expect(own()).toBeDefined();
    expect(JSON.stringify(own()!.blocks)).not.toContain('acgs_alert_declare');

    await escalationsTo().run(T0);
    await shown.idle();
    await gov.t.standIn.waitFor(() => (JSON.stringify(own()?.blocks).includes('acgs_alert_declare') ? own() : undefined), 10_000, "the alert message's Declare incident button");
    await click(ONCALL, own()!.ts);
    await until(async () => (await allIncidents()).length === 1, 'the incident');
    expect((await allIncidents())[0]).toMatchObject({ severity: 'sev3', type: 'performance', title: `Alert ${alert.id} HighErrorRate on policy-engine` });
    await shown.idle();
  }, 60_000);

  it('Level 3 declares a sev2 and Level 4 a sev1, of the matrix\'s type for the rule', async () => {
    await alerts.report([firingReport({ fingerprint: 'monitor/HighP99Latency', rule: 'HighP99Latency', labels: { service: 'policy-engine' }, startsAt: T0 })]);
    await alerts.report([firingReport({ fingerprint: 'monitor/ConstitutionalViolations', rule: 'ConstitutionalViolations', labels: {}, startsAt: T0 })]);
    const latency = (await alerts.byFingerprint('monitor/HighP99Latency'))!;
    const violations = (await alerts.byFingerprint('monitor/ConstitutionalViolations'))!;
    const escalations = escalationsTo();
    await escalations.run(T0);
    await escalations.run(minutes(5));
    await escalations.run(minutes(20));

    await click(ONCALL, levelMessage(latency.id, 3)!.ts);
    await click(ONCALL, levelMessage(violations.id, 4)!.ts);
    await until(async () => (await allIncidents()).length === 2, 'two incidents');
    const byTitle = Object.fromEntries((await allIncidents()).map((incident) => [incident.title, incident]));
    expect(byTitle[`Alert ${latency.id} HighP99Latency on policy-engine`]).toMatchObject({ severity: 'sev2', type: 'performance' });
    expect(byTitle[`Alert ${violations.id} ConstitutionalViolations`]).toMatchObject({ severity: 'sev1', type: 'constitutional' });
  }, 60_000);

  it('a button naming an alert that does not exist, or one not escalated, declares nothing', async () => {
    await alerts.report([firingReport({ fingerprint: 'monitor/ServiceDown/audit-engine', rule: 'ServiceDown', labels: { service: 'audit-engine' }, startsAt: T0 })]);
    const alert = (await alerts.byFingerprint('monitor/ServiceDown/audit-engine'))!;
    // A message carrying the button for an alert that never escalated (as a forged click would).
    const posted = await gov.t.bot.webClient.chat.postMessage({ channel: ALERTS, text: 'forged', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'acgs_alert_declare', text: { type: 'plain_text', text: 'Declare incident' }, value: alert.id }] }] });
    const before = privateTo(ONCALL).length;
    await click(ONCALL, posted.ts!);
    const answer = await gov.t.standIn.waitFor(() => privateTo(ONCALL)[before], 10_000, 'the refusal');
    expect(answer.text).toContain(`Alert ${alert.id} has not escalated; no incident was declared for it.`);
    const ghost = await gov.t.bot.webClient.chat.postMessage({ channel: ALERTS, text: 'gone', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'acgs_alert_declare', text: { type: 'plain_text', text: 'Declare incident' }, value: '999' }] }] });
    await click(ONCALL, ghost.ts!);
    const gone = await gov.t.standIn.waitFor(() => privateTo(ONCALL)[before + 1], 10_000, 'the answer about the missing alert');
    expect(gone.text).toContain('Alert 999 no longer exists; nothing was done.');
    expect(await allIncidents()).toEqual([]);
  }, 60_000);
});

describe('Level 3 declares the incident itself', () => {
  it('as the escalation actor, once across two replicas and a redelivery, with the alert on its timeline and the message naming it', async () => {
    await alerts.report([firingReport({ fingerprint: 'monitor/ServiceDown/sandbox-controller', rule: 'ServiceDown', labels: { service: 'sandbox-controller' }, startsAt: T0 })]);
    const alert = (await alerts.byFingerprint('monitor/ServiceDown/sandbox-controller'))!;
    const replicaA = escalationsTo(opener());
    const replicaB = escalationsTo(opener());
    await replicaA.run(minutes(5));
    await Promise.all([replicaA.run(minutes(20)), replicaB.run(minutes(20))]);

    const [incident] = await allIncidents();
    expect(await allIncidents()).toHaveLength(1);
    expect(incident).toMatchObject({ key: 'INC-1', severity: 'sev2', type: 'infrastructure', declaredBy: ESCALATION_ACTOR.id, title: `Alert ${alert.id} ServiceDown on sandbox-controller`, channelId: ALERTS });
    const level3 = levelMessage(alert.id, 3)!;
    expect(blockText(level3.blocks)).toContain('Incident INC-1 is opened.');
    // Opened: no button to declare it again.
    expect(JSON.stringify(level3.blocks)).not.toContain('acgs_alert_declare');

    // A redelivery of the same level (a crash between claim and actions, two at once) declares nothing new.
    const notice: EscalationNotice = { alert, level: 3, reason: 'again', issueType: 'infrastructure', recipients: { ids: [], emptyRoles: [] } };
    const again = await Promise.all([opener()(notice), opener()(notice)]);
    expect(again.map((opened) => opened.key)).toEqual(['INC-1', 'INC-1']);
    expect(await allIncidents()).toHaveLength(1);
    const timeline = await incidents.timeline('INC-1');
    expect(timeline.filter((entry) => entry.kind === 'alert')).toEqual([expect.objectContaining({ reference: `alert:${alert.id}`, occurredAt: T0, actor: ESCALATION_ACTOR.id })]);
    const trail = (await gov.trail.trail.query({ command: 'incident declare', limit: 20 })).records.filter((record) => record.kind === 'command');
    expect(trail.map((record) => [record.actor, record.origin])).toContainEqual([ESCALATION_ACTOR.id, 'alert']);

    // Level 4 of the same episode names the same incident.
    await replicaA.run(minutes(60));
    expect(await allIncidents()).toHaveLength(1);
  }, 60_000);
});
