/**
 * What each escalation level does in Slack, with the real bot (Bolt, the command path, the
 * authorization policy, the approval store, the Policy Engine) against the Slack stand-in and the
 * real PostgreSQL: Level 2 mentions on-call in the alerts channel, Level 3 also the approvers and
 * DMs them, Level 4 proposes a lockdown that two approvers can approve with its buttons, and a
 * Slack error is logged, never posted.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlertStore, migrateAlertStore, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createEscalations, ESCALATION_ACTOR, ESCALATION_ROLE, type EscalationNotice, type Escalations } from '../../bot/alerts/escalation.js';
import { DEFAULT_ESCALATION, escalationMatrix, type EscalationMatrix } from '../../bot/alerts/escalation-matrix.js';
import { resolveContacts, type PagingContact } from '../../bot/paging/contacts.js';
import { createEscalationRecords, migrateEscalationRecords } from '../../bot/alerts/escalation-records.js';
import type { ReportedAlert } from '../../bot/alerts/intake.js';
import { firingReport } from '../../bot/alerts/testing/reported-alerts.js';
import { slackEscalationActions } from '../../bot/slack/alert-escalations.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { createCommandRegistry } from '../../commands/index.js';
import { channelPeople, engineAllows, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { blockText } from '../testing/slack-harness.js';

const ALERTS = 'C0ACGSALERT';
const ROLES = { oncall: ['S0ACGSONCALL'], approvers: ['U0APPROVER1', 'U0APPROVER2', 'U0GONE'], [ESCALATION_ROLE]: [ESCALATION_ACTOR.id] };
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let gov: GovernanceBot;
let store: AlertStore;
const logged: string[] = [];

beforeAll(async () => {
  gov = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    prefix: 'acgs_escalation_slack',
    extraUsers: [{ id: 'U0GONE', name: 'gone', realName: 'Gone Approver', roleLabel: 'left the company', deleted: true }],
  });
  await migrateAlertStore(gov.trail.pool);
  await migrateEscalationRecords(gov.trail.pool);
}, 60_000);
afterAll(async () => {
  await gov?.close();
});
beforeEach(async () => {
  await gov.trail.pool.query('TRUNCATE alert_escalations, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
  logged.length = 0;
  store = createAlertStore({ pool: gov.trail.pool, now: () => T0 });
});

function escalationsTo(channel: string, openIncident?: (notice: EscalationNotice) => Promise<void>, withContacts?: { matrix: EscalationMatrix; contacts: Map<string, PagingContact> }): Escalations {
  const client = gov.t.bot.webClient;
  const log = (message: string, error?: unknown) => logged.push(`${message}${error ? ` (${(error as Error).message})` : ''}`);
  return createEscalations({
    alerts: store,
    records: createEscalationRecords(gov.trail.pool),
    matrix: withContacts?.matrix ?? DEFAULT_ESCALATION,
    roles: ROLES,
    ...(withContacts ? { contacts: withContacts.contacts } : {}),
    actions: slackEscalationActions({ client, queue: channelWriteQueue(client), channel, execution: { registry: createCommandRegistry(), services: gov.services }, approvals: gov.approvals, log, ...(openIncident ? { openIncident } : {}) }),
    log,
  });
}

function firing(rule: string, labels: Record<string, string> = {}): ReportedAlert {
  return firingReport({ fingerprint: `monitor/${rule}`, rule, labels, startsAt: T0 });
}

const postedIn = (channel: string) => gov.t.standIn.messages(channel).filter((message) => !message.threadTs);
const newIn = (channel: string, before: number) => postedIn(channel).slice(before);

describe('escalation levels in Slack', () => {
  it('Level 2 posts in the alerts channel mentioning the on-call group; Level 3 also the approvers, with DMs', async () => {
    const escalations = escalationsTo(ALERTS);
    await store.report([firing('ServiceDown', { service: '<!channel> policy-engine' })]);
    const before = postedIn(ALERTS).length;
    await escalations.run(minutes(5));

    const [level2] = newIn(ALERTS, before);
    expect(level2).toBeDefined();
    const text = blockText(level2!.blocks);
    expect(text).toContain('Level 2 (human intervention required): alert 1 ServiceDown on &lt;!channel&gt; policy-engine');
    expect(text).toContain('Not acknowledged within 5 min at Level 1; infrastructure issue.');
    expect(text).toContain('For <!subteam^S0ACGSONCALL>.');
    expect(level2!.text).toContain('<!subteam^S0ACGSONCALL>');
    // What came with the alert is never a mention.
    expect(level2!.text).not.toContain('<!channel>');

    const beforeThree = postedIn(ALERTS).length;
    await escalations.run(minutes(20));
    const [level3] = newIn(ALERTS, beforeThree);
    const third = blockText(level3!.blocks);
    expect(third).toContain('Level 3 (critical incident): alert 1 ServiceDown');
    expect(third).toContain('For <!subteam^S0ACGSONCALL> <@U0APPROVER1> <@U0APPROVER2> <@U0GONE>.');
    expect(third).toContain('Time to open an incident: the Declare incident button, or `/acgs incident declare` with a severity (sev1 to sev4) and a title.');
    // Each approver gets a DM; the deactivated one is logged, not posted about.
    for (const approver of ['U0APPROVER1', 'U0APPROVER2']) {
      const dm = (await gov.t.bot.webClient.conversations.open({ users: approver })).channel!.id!;
      expect(gov.t.standIn.messages(dm).map((message) => blockText(message.blocks))).toEqual([expect.stringContaining('Level 3 (critical incident): alert 1 ServiceDown')]);
    }
    expect(logged).toEqual([expect.stringMatching(/^alert 1: Level 3 DM to U0GONE: user_disabled: the account is deactivated/)]);
    expect(newIn(ALERTS, beforeThree)).toHaveLength(1);
    expect((await store.history(new Date(0))).filter((entry) => entry.kind === 'escalated').map((entry) => entry.details)).toEqual([
      { summary: 'Level 2: not acknowledged within 5 min at Level 1', level: 2, reason: 'not acknowledged within 5 min at Level 1', issue_type: 'infrastructure', notified: ['S0ACGSONCALL'] },
      { summary: 'Level 3: not acknowledged within 15 min at Level 2', level: 3, reason: 'not acknowledged within 15 min at Level 2', issue_type: 'infrastructure', notified: ['S0ACGSONCALL', 'U0APPROVER1', 'U0APPROVER2', 'U0GONE'] },
    ]);
  });

  it("Level 2 mentions a named contact's user group and DMs the person its contact asks a DM for", async () => {
    const contacts = resolveContacts({ 'security-team': { slack: { mention: ['S0SECURITY'], dm: ['U0APPROVER2'] } } }, {});
    const escalations = escalationsTo(ALERTS, undefined, { matrix: escalationMatrix({ levels: { '2': { notify: ['primary', 'security-team'] } } }), contacts });
    // The stand-in keeps the DMs of earlier tests: only the ones this level sends count.
    const dmOf = async (person: string) => gov.t.standIn.messages((await gov.t.bot.webClient.conversations.open({ users: person })).channel!.id!).map((message) => blockText(message.blocks));
    const dmsBefore = { U0APPROVER1: (await dmOf('U0APPROVER1')).length, U0APPROVER2: (await dmOf('U0APPROVER2')).length };
    await store.report([firing('ServiceDown', { service: 'policy-engine' })]);
    const before = postedIn(ALERTS).length;
    await escalations.run(minutes(5));

    const [level2] = newIn(ALERTS, before);
    expect(blockText(level2!.blocks)).toContain('For <!subteam^S0ACGSONCALL> <!subteam^S0SECURITY>.');
    expect((await dmOf('U0APPROVER2')).slice(dmsBefore.U0APPROVER2)).toEqual([expect.stringContaining('Level 2 (human intervention required): alert 1 ServiceDown on policy-engine')]);
    // Nobody else is DMed below Level 3.
    expect((await dmOf('U0APPROVER1')).slice(dmsBefore.U0APPROVER1)).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('Level 4 proposes an emergency lockdown as an approval request with its buttons, which two approvers carry out', async () => {
    expect(await engineAllows(gov.engine.url)).toBe(true);
    const escalations = escalationsTo(ALERTS);
    await store.report([firing('ConstitutionalViolations')]);
    const before = postedIn(ALERTS).length;
    await escalations.run(T0);

    const posted = newIn(ALERTS, before);
    expect(posted).toHaveLength(2);
    const [level4, request] = posted;
    expect(blockText(level4!.blocks)).toContain('Level 4 (emergency response): alert 1 ConstitutionalViolations');
    expect(blockText(level4!.blocks)).toContain('ConstitutionalViolations alerts start at Level 4; constitutional issue.');
    const requestText = blockText(request!.blocks);
    expect(requestText).toContain('Approval: lockdown alert 1 (ConstitutionalViolations) reached Level 4: ConstitutionalViolations alerts start at Level 4');
    expect(requestText).toContain('@acgs-alert-escalation');
    const people = channelPeople(gov.t, ALERTS);
    expect(people.buttonsOf(request!.ts)).toEqual(['acgs_approval_approve', 'acgs_approval_deny', 'acgs_approval_cancel']);
    // Nothing runs before the approvals.
    expect(await engineAllows(gov.engine.url)).toBe(true);

    await people.click('U0APPROVER1', 'approve', request!.ts);
    await people.untilMessage(request!.ts, '1 of 2 approved');
    await people.click('U0APPROVER2', 'approve', request!.ts);
    await people.untilMessage(request!.ts, 'Done');
    expect(await engineAllows(gov.engine.url)).toBe(false);

    // Asked again while in lockdown, the policy refuses a second lockdown: said in the channel, no request.
    await store.report([{ ...firing('ConstitutionalViolations'), fingerprint: 'monitor/ConstitutionalViolations/2' }]);
    const beforeSecond = postedIn(ALERTS).length;
    await escalations.run(T0);
    const second = newIn(ALERTS, beforeSecond).map((message) => blockText(message.blocks));
    expect(second.filter((text) => text.includes('Approval: lockdown'))).toEqual([]);
    expect(second.filter((text) => text.includes('No lockdown was proposed for alert 2.'))).toHaveLength(1);
    await gov.engineClient.setMode('lift-lockdown', 'test over');
  }, 60_000);

  it("opens an incident at Level 3 through issue 16's seam, and says so; a failed one is logged and the message says to open one by hand", async () => {
    const opened: string[] = [];
    const escalations = escalationsTo(ALERTS, async (notice) => {
      opened.push(`${notice.alert.id}:${notice.level}`);
      if (notice.alert.rule === 'HighMemory') throw new Error('the incident store is away');
    });
    await store.report([firing('HighCpu'), firing('HighMemory')]);
    await escalations.run(T0);
    expect(opened).toEqual([]);
    const before = postedIn(ALERTS).length;
    await escalations.run(minutes(15));
    expect(opened.sort()).toEqual(['1:3', '2:3']);
    const texts = newIn(ALERTS, before).map((message) => blockText(message.blocks));
    expect(texts.find((text) => text.includes('alert 1 HighCpu'))).toContain('An incident is opened.');
    expect(texts.find((text) => text.includes('alert 2 HighMemory'))).toContain('Time to open an incident');
    expect(logged).toContainEqual('alert 2: the incident could not be opened (the incident store is away)');
  });

  it('logs a Slack error and posts nothing about it', async () => {
    const escalations = escalationsTo('C0NOWHERE');
    await store.report([firing('HighCpu', { service: 'policy-engine' })]);
    const postsBefore = gov.t.standIn.calls('chat.postMessage').length;
    const notices = await escalations.run(T0);
    expect(notices.map((notice) => notice.level)).toEqual([2]);
    // One attempt, refused; no second message anywhere saying so.
    const attempts = gov.t.standIn.calls('chat.postMessage').slice(postsBefore);
    expect(attempts.filter((call) => call.args.channel === 'C0NOWHERE').map((call) => [call.ok, call.error])).toEqual([[false, 'channel_not_found']]);
    expect(attempts.filter((call) => call.args.channel !== 'C0NOWHERE').map((call) => JSON.stringify(call.args))).not.toContainEqual(expect.stringMatching(/channel_not_found|C0NOWHERE/));
    expect(logged).toEqual([expect.stringMatching(/^alert 1: the Level 2 message to C0NOWHERE: channel_not_found: /)]);
    // The level is reached and noted all the same: it is not tried again at the next check.
    expect(await escalations.run(minutes(1))).toEqual([]);
  });
});
