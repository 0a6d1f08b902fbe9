/**
 * An incident's Slack side as people live it (issue 16): `/acgs incident declare` and `incident
 * update` typed through the real Bolt HTTP receiver and the Slack stand-in, with the real
 * authorization policy, trail, alert store, deployment records and incident store on the real
 * PostgreSQL and the real Policy Engine answering its /health (test/testing/governance-bot.ts).
 * The port's Slack seams are bot/slack/incident-slack.ts's, wired as bot/main.ts wires them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandAlerts } from '../../bot/alerts/alert-commands.js';
import { createAlertStore, migrateAlertStore } from '../../bot/alerts/alert-store.js';
import { escalationMatrix } from '../../bot/alerts/escalation-matrix.js';
import { firingReport } from '../../bot/alerts/testing/reported-alerts.js';
import { commandIncidents, createIncidentStore, INCIDENT_TABLES, incidentChannelName, incidentCommandTimeline, migrateIncidentStore, type IncidentStore } from '../../bot/incidents/index.js';
import { noticeGroupDirectory } from '../../bot/slack/deployment-notice-chat.js';
import { incidentSlack } from '../../bot/slack/incident-slack.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { blockText, ONCALL, OPS } from '../testing/slack-harness.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ADMIN = 'U0ADMIN';
const SECURITY_LEAD = 'U0SECLEAD';
const STAKEHOLDER = 'U0STAKE';
/** Another app's bot user, put in the on-call role by mistake: never invited. */
const OTHER_BOT = 'U0OTHERBOT';
const GUEST = 'U0GUEST';
const GONE = 'U0GONE';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [ADMIN] };
/** The stand-in's user group of the two approvers. */
const APPROVERS_GROUP = 'S0ACGSAPPROVE';
const STACK = { kind: 'local' as const, description: 'local processes (incident Slack test)' };

let bot: GovernanceBot;
let store: IncidentStore;
let people: ReturnType<typeof channelPeople>;
let logged: string[];
/** What was in the ops channel before the test: each test reads only its own messages there. */
let seenInOps = new Set<string>();

/** The incidents port with its Slack side, given the config's roles. */
function wireIncidents(roles: Record<string, string[]>) {
  const client = bot.t.bot.webClient;
  bot.services.incidents = commandIncidents(store, {
    timezone: 'UTC',
    opsChannel: OPS,
    ...incidentSlack({
      client,
      writes: bot.t.bot.writeQueue,
      roles,
      matrix: escalationMatrix({ issue_types: { security: { primary: ['oncall', SECURITY_LEAD] } } }),
      groups: noticeGroupDirectory(client),
      opsChannel: OPS,
      services: bot.services,
      log: (message, error) => void logged.push(`${message}${error ? `: ${(error as Error).message}` : ''}`),
    }),
  });
}

beforeAll(async () => {
  bot = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    prefix: 'acgs_incident_slack',
    deploymentsFor: STACK,
    extraUsers: [
      { id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' },
      { id: SECURITY_LEAD, name: 'seclead', realName: 'Sami Security', roleLabel: 'security lead' },
      { id: STAKEHOLDER, name: 'stake', realName: 'Stella Stakeholder', roleLabel: 'product' },
      { id: OTHER_BOT, name: 'otherbot', realName: 'Other Bot', roleLabel: 'bot', isBot: true },
      { id: GUEST, name: 'guest', realName: 'Gita Guest', roleLabel: 'guest', restricted: true },
      { id: GONE, name: 'gone', realName: 'Gone Person', roleLabel: 'left', deleted: true },
    ],
  });
  await migrateIncidentStore(bot.trail.pool);
  await migrateAlertStore(bot.trail.pool);
  store = createIncidentStore(bot.trail.pool);
  const alerts = createAlertStore({ pool: bot.trail.pool });
  await alerts.report([firingReport({ rule: 'ServiceDown', labels: { service: 'audit-engine' } })]);
  bot.services.alerts = commandAlerts(alerts, { timezone: 'UTC' });
  bot.services.afterCommand = incidentCommandTimeline(store);
  await bot.deployments!.releases();
  await bot.deployments!.record({
    service: 'policy-engine',
    version: '1.4.2',
    ref: 'v1.4.2',
    commit: 'a'.repeat(40),
    artifact: { kind: 'directory', directory: '/tmp/release-1.4.2' },
    kind: 'deploy',
    runId: '00000000-0000-4000-8000-000000000001',
    requestedBy: APPROVER1,
    outcome: 'live',
  });
  people = channelPeople(bot.t);
}, 120_000);

afterAll(async () => {
  await bot?.close();
});

beforeEach(async () => {
  logged = [];
  seenInOps = new Set(bot.t.standIn.messages(OPS).map((message) => message.ts));
  bot.t.standIn.workspace.setChannelCreationRestricted(false);
  await bot.trail.pool.query(`TRUNCATE ${INCIDENT_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
  wireIncidents({ ...ROLES, oncall: [ONCALL, OTHER_BOT], stakeholders: [STAKEHOLDER, APPROVERS_GROUP] });
});

const channelOf = async (key: string) => (await store.find(key))!.channelId!;
const members = (channel: string) => bot.t.standIn.workspace.findChannel(channel)?.members ?? [];
const textOf = (message: { text: string; blocks?: unknown }) => `${message.text}\n${blockText(message.blocks)}`;
const updatesIn = (channel: string, key: string) => bot.t.standIn.messages(channel).filter((message) => !seenInOps.has(message.ts) && blockText(message.blocks).startsWith(`${key} update`));
const directMessages = (user: string) => bot.t.standIn.messages(bot.t.standIn.workspace.directChannelFor(user).id);

describe('incident declare in Slack', () => {
  it('opens inc-<date>-<slug>, invites on-call, the commander and the matrix people but no bot, and posts the briefing first', async () => {
    const answer = await people.type(APPROVER1, 'incident declare sev2 --type performance Policy Engine p99 above 5 ms', 'INC-1 declared');
    const channel = await channelOf('INC-1');
    const incident = (await store.find('INC-1'))!;
    const name = incidentChannelName('Policy Engine p99 above 5 ms', incident.declaredAt);
    expect(name).toMatch(/^inc-\d{4}-\d\d-\d\d-policy-engine-p99-above-5-ms$/);
    expect(answer.text).toContain(`It runs in its own channel #${name} (${channel}).`);
    expect(answer.text).not.toContain('could not be invited');
    expect(bot.t.standIn.workspace.findChannel(channel)).toMatchObject({ name, isPrivate: false });
    // On-call, the declarer (commander) and the row's approvers and admins are invited; the bot made it and is in it.
    expect(bot.t.standIn.workspace.findChannel(channel)?.botIsMember).toBe(true);
    expect([...members(channel)].sort()).toEqual([ADMIN, APPROVER1, APPROVER2, ONCALL].sort());
    expect(members(channel)).not.toContain(OTHER_BOT);
    expect(members(channel)).not.toContain(SECURITY_LEAD);

    const [briefing, ...rest] = bot.t.standIn.messages(channel);
    expect(rest).toEqual([]);
    const text = textOf(briefing!);
    expect(text).toContain('INC-1 · sev2 · Policy Engine p99 above 5 ms');
    expect(text).toContain(`*Commander*\n<@${APPROVER1}>`);
    // Health as /acgs health sees it: the real Policy Engine answers, the other services do not.
    expect(text).toMatch(/:large_green_circle: \*policy-engine\* healthy · \d+ ms/);
    expect(text).toMatch(/:red_circle: \*audit-engine\* unreachable/);
    expect(text).toContain('ServiceDown on audit-engine');
    expect(text).toMatch(/\*policy-engine\* deployed 1\.4\.2 by <@U0APPROVER1> · live/);
    // The declaration itself, from the trail, with its arguments as `/acgs audit` shows them.
    const declaration = text.split('\n').find((line) => line.includes(`<@${APPROVER1}> \`incident declare `));
    expect(declaration).toBeDefined();
    for (const argument of ['severity=sev2', 'type=performance', 'title=Policy Engine p99 above 5 ms']) expect(declaration).toContain(argument);
    expect(text).toMatch(/First steps: .*/);
    expect(text).toContain(':white_large_square:');
  });

  it("makes a security incident's channel private and asks the security row's people in", async () => {
    await people.type(ONCALL, 'incident declare sev1 --type security Unknown admin token used', 'INC-1 declared');
    const channel = await channelOf('INC-1');
    expect(bot.t.standIn.workspace.findChannel(channel)).toMatchObject({ isPrivate: true });
    expect(members(channel)).toContain(SECURITY_LEAD);
    expect(members(channel)).toContain(ONCALL);
  });

  it('runs the incident in the ops channel and says why when Slack lets only admins create channels', async () => {
    bot.t.standIn.workspace.setChannelCreationRestricted(true);
    const channelsBefore = bot.t.standIn.workspace.listChannels().length;
    const answer = await people.type(ONCALL, 'incident declare sev2 Audit chain head stuck', 'INC-1 declared');
    expect(answer.text).toContain(`It runs in the ops channel (${OPS}): its channel could not be made (Slack lets only workspace admins create channels here).`);
    expect(await channelOf('INC-1')).toBe(OPS);
    expect(bot.t.standIn.workspace.listChannels().length).toBe(channelsBefore);
    // What is known is told where the incident runs.
    const briefings = bot.t.standIn.messages(OPS).filter((message) => !seenInOps.has(message.ts) && message.text === 'INC-1 (sev2, infrastructure): Audit chain head stuck');
    expect(briefings).toHaveLength(1);
    expect(blockText(briefings[0]!.blocks)).toContain('*Current health*');
  });

  it('invites everyone Slack accepts and names who could not be invited, and why', async () => {
    wireIncidents({ ...ROLES, oncall: [ONCALL, GUEST, GONE] });
    const answer = await people.type(ONCALL, 'incident declare sev3 Cache hit rate low', 'INC-1 declared');
    const channel = await channelOf('INC-1');
    expect(answer.text).toContain(`${GUEST} could not be invited: a guest account, which only a workspace admin can add to channels`);
    expect(answer.text).toContain(`${GONE} could not be invited: Slack does not let them be invited (the account may be deactivated)`);
    expect([...members(channel)].sort()).toEqual([ADMIN, APPROVER1, APPROVER2, ONCALL].sort());
  });
});

describe('incident update in Slack', () => {
  it("posts a sev1 update in the incident's channel and in ops, once each, and tells the stakeholders by DM", async () => {
    await people.type(ONCALL, 'incident declare sev1 Policy Engine down', 'INC-1 declared');
    const channel = await channelOf('INC-1');
    const dmsBefore = [STAKEHOLDER, APPROVER1, APPROVER2].map((user) => directMessages(user).length);
    await people.type(ONCALL, 'incident update INC-1 Restarted the policy engine <!channel>, watching p99', 'update posted');
    const [inChannel] = updatesIn(channel, 'INC-1');
    expect(updatesIn(channel, 'INC-1')).toHaveLength(1);
    expect(updatesIn(OPS, 'INC-1')).toHaveLength(1);
    expect(blockText(inChannel!.blocks)).toContain('Restarted the policy engine &lt;!channel&gt;, watching p99');
    expect(blockText(inChannel!.blocks)).toContain(`by <@${ONCALL}>`);
    expect(blockText(updatesIn(OPS, 'INC-1')[0]!.blocks)).toContain(`it runs in <#${channel}>`);
    // The stakeholders: a person and a user group's members, each by DM.
    await bot.t.standIn.waitFor(() => (directMessages(APPROVER2).length > dmsBefore[2]! ? true : undefined), 5000, 'the group member DM');
    expect([STAKEHOLDER, APPROVER1, APPROVER2].map((user) => directMessages(user).length - dmsBefore[[STAKEHOLDER, APPROVER1, APPROVER2].indexOf(user)]!)).toEqual([1, 1, 1]);
    expect(directMessages(STAKEHOLDER).at(-1)!.text).toContain('INC-1 update (sev1): Restarted the policy engine');
    expect(logged).toEqual([]);
  });

  it('tells no stakeholder of a sev3 update, and posts once when the incident runs in ops', async () => {
    bot.t.standIn.workspace.setChannelCreationRestricted(true);
    await people.type(ONCALL, 'incident declare sev3 Cache hit rate low', 'INC-1 declared');
    const dmsBefore = directMessages(STAKEHOLDER).length;
    await people.type(ONCALL, 'incident update INC-1 Warmed the cache', 'update posted');
    expect(updatesIn(OPS, 'INC-1')).toHaveLength(1);
    expect(directMessages(STAKEHOLDER).length).toBe(dmsBefore);
  });

  it('keeps the update when Slack refuses to post it, logs why and posts nothing about it', async () => {
    await people.type(ONCALL, 'incident declare sev2 Sandbox failures', 'INC-1 declared');
    const channel = await channelOf('INC-1');
    await bot.t.bot.webClient.conversations.archive({ channel });
    const answer = await people.type(ONCALL, 'incident update INC-1 Sandboxes back', 'update posted');
    expect(answer.text).not.toMatch(/is_archived|could not be told/);
    expect((await store.statusUpdates('INC-1')).map((update) => update.text)).toEqual(['Sandboxes back']);
    expect(updatesIn(OPS, 'INC-1')).toHaveLength(1);
    expect(logged.some((line) => line.includes(`INC-1's update: not told in ${channel}`) && line.includes('is_archived'))).toBe(true);
    const everywhere = [OPS, ...[STAKEHOLDER, APPROVER1, APPROVER2].map((user) => bot.t.standIn.workspace.directChannelFor(user).id)].flatMap((id) => bot.t.standIn.messages(id, { includeEphemeralFor: ONCALL }));
    expect(everywhere.filter((message) => /is_archived|not told/.test(textOf(message)))).toEqual([]);
  });
});
