/**
 * An incident's channel against the Slack stand-in over HTTP, through the real WebClient: the
 * name, privacy, topic, invitations (all or nothing in Slack, so the refused are taken out and
 * named), the briefing through the write queue, and every way Slack can say no.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { channelWriteQueue } from './channel-write-queue.js';
import { renderIncidentBriefing } from './incident-briefing.js';
import { channelTopic, openIncidentChannel, type IncidentForChannel } from './incident-channel.js';
import { DEFAULT_USERS, startSlackStandIn, type SlackStandIn } from './stand-in/index.js';

const BOT_TOKEN = 'xoxb-incident-channel-test';
const DECLARED = new Date('2026-12-07T18:30:00Z');
let slack: SlackStandIn;
let client: WebClient;
let counter = 0;

function incident(overrides: Partial<IncidentForChannel> = {}): IncidentForChannel {
  counter += 1;
  return { key: `INC-${counter}`, title: `Policy latency ${counter}`, severity: 'sev2', type: 'performance', private: false, declaredAt: DECLARED, ...overrides };
}
const briefing = { text: 'INC briefing', blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: '*What is known*' } }] };

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: {
      users: [
        ...DEFAULT_USERS,
        { id: 'U0GUEST', name: 'guest', realName: 'Gita Guest', roleLabel: 'guest', restricted: true },
        { id: 'U0GONE', name: 'gone', realName: 'Gone Person', roleLabel: 'left', deleted: true },
      ],
    },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 50 } });
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.workspace.setChannelCreationRestricted(false);
});

describe('openIncidentChannel', () => {
  it('creates the named channel, sets its topic, invites everyone and posts the briefing first', async () => {
    const declared = incident({ title: 'Policy Engine P99 über 5 ms' });
    const writes = channelWriteQueue(client);
    const outcome = await openIncidentChannel({ client, incident: declared, members: ['U0ONCALL', 'U0APPROVER1'], briefing, writes });
    expect(outcome).toMatchObject({ ok: true, name: 'inc-2026-12-07-policy-engine-p99-uber-5-ms', notInvited: [] });
    if (!outcome.ok) throw new Error('unreachable');
    const channel = slack.workspace.findChannel(outcome.channelId)!;
    expect(channel).toMatchObject({ name: outcome.name, isPrivate: false, members: ['U0ONCALL', 'U0APPROVER1'], topic: channelTopic(declared) });
    expect(channel.topic).toBe(`${declared.key} · sev2 · performance · Policy Engine P99 über 5 ms`);
    expect(slack.messages(outcome.channelId).map((message) => [message.ts, message.text])).toEqual([[outcome.briefingTs, 'INC briefing']]);
  });

  it("opens a security incident's private channel with its rendered briefing as the first message", async () => {
    const declared = incident({ title: 'Token leaked in logs', severity: 'sev1', type: 'security', private: true });
    const rendered = renderIncidentBriefing({
      incident: { ...declared, declaredBy: 'U0ONCALL', roles: {} },
      health: [{ service: 'policy-engine', tone: 'ok', detail: '2 ms' }],
      openAlerts: [],
      recentDeploys: { problem: 'the deployment records could not be read' },
      recentCommands: [],
    });
    const outcome = await openIncidentChannel({ client, incident: declared, members: ['U0ONCALL', 'U0APPROVER1'], briefing: rendered, writes: channelWriteQueue(client) });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.name).toBe('inc-2026-12-07-token-leaked-in-logs');
    const [first] = slack.messages(outcome.channelId);
    expect(first).toMatchObject({ ts: outcome.briefingTs, text: rendered.text, blocks: rendered.blocks });
    expect(slack.workspace.findChannel(outcome.channelId)).toMatchObject({ isPrivate: true, members: ['U0ONCALL', 'U0APPROVER1'] });
  });

  it('makes the channel private when the incident is', async () => {
    const outcome = await openIncidentChannel({ client, incident: incident({ type: 'security', private: true }), members: ['U0ONCALL'] });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(slack.workspace.findChannel(outcome.channelId)?.isPrivate).toBe(true);
  });

  it('takes the next suffix when the name is taken', async () => {
    const declared = incident({ title: 'Audit chain broken' });
    await client.conversations.create({ name: 'inc-2026-12-07-audit-chain-broken' });
    await client.conversations.create({ name: 'inc-2026-12-07-audit-chain-broken-2' });
    const outcome = await openIncidentChannel({ client, incident: declared, members: [] });
    expect(outcome).toMatchObject({ ok: true, name: 'inc-2026-12-07-audit-chain-broken-3' });
  });

  it('gives up after the bounded number of names, creating nothing', async () => {
    const declared = incident({ title: 'Redis down' });
    for (const name of ['inc-2026-12-07-redis-down', 'inc-2026-12-07-redis-down-2', 'inc-2026-12-07-redis-down-3']) await client.conversations.create({ name });
    const channelsBefore = slack.workspace.listChannels().length;
    const creates = slack.calls('conversations.create').length;
    const outcome = await openIncidentChannel({ client, incident: declared, members: ['U0ONCALL'], maxNameAttempts: 3 });
    expect(outcome).toEqual({ ok: false, reason: 'names-taken', message: 'The incident channel could not be created: 3 names for it were taken, the last inc-2026-12-07-redis-down-3.' });
    expect(slack.calls('conversations.create').length - creates).toBe(3);
    expect(slack.workspace.listChannels()).toHaveLength(channelsBefore);
  });

  it('says plainly when Slack lets only admins create channels, and posts nothing about it', async () => {
    slack.workspace.setChannelCreationRestricted(true);
    const posts = slack.calls('chat.postMessage').length;
    const invites = slack.calls('conversations.invite').length;
    const channels = slack.workspace.listChannels().length;
    const outcome = await openIncidentChannel({ client, incident: incident(), members: ['U0ONCALL'], briefing, writes: channelWriteQueue(client) });
    expect(outcome).toEqual({ ok: false, reason: 'creation-refused', message: 'Slack does not let the bot create channels in this workspace (only admins may).' });
    expect(slack.calls('chat.postMessage')).toHaveLength(posts);
    expect(slack.calls('conversations.invite')).toHaveLength(invites);
    expect(slack.workspace.listChannels()).toHaveLength(channels);
  });

  it('invites the others when Slack refuses some, and says who was not invited and why', async () => {
    const invites = slack.calls('conversations.invite').length;
    const outcome = await openIncidentChannel({ client, incident: incident(), members: ['U0ONCALL', 'U0GUEST', 'U0NOBODY', 'U0APPROVER2', 'U0GONE'] });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(slack.workspace.findChannel(outcome.channelId)?.members).toEqual(['U0ONCALL', 'U0APPROVER2']);
    expect(outcome.notInvited).toEqual([
      { user: 'U0GUEST', reason: 'a guest account, which only a workspace admin can add to channels' },
      { user: 'U0NOBODY', reason: 'Slack knows no such user in this workspace' },
      { user: 'U0GONE', reason: 'Slack does not let them be invited (the account may be deactivated)' },
    ]);
    // The refused call, then one more without the refused people.
    expect(slack.calls('conversations.invite').slice(invites).map((call) => [call.args.users, call.ok])).toEqual([
      ['U0ONCALL,U0GUEST,U0NOBODY,U0APPROVER2,U0GONE', false],
      ['U0ONCALL,U0APPROVER2', true],
    ]);
  });

  it('names the bot itself as not invited, and ignores repeated and blank IDs', async () => {
    const outcome = await openIncidentChannel({ client, incident: incident(), members: ['U0ONCALL', ' U0ONCALL ', '', 'U0ACGSBOT'] });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.notInvited).toEqual([{ user: 'U0ACGSBOT', reason: 'that is the bot itself' }]);
    expect(slack.workspace.findChannel(outcome.channelId)?.members).toEqual(['U0ONCALL']);
  });

  it('reports everyone as not invited when nobody could be, and still hands back the channel', async () => {
    const outcome = await openIncidentChannel({ client, incident: incident(), members: ['U0NOBODY', 'U0GUEST'] });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.notInvited.map((entry) => entry.user)).toEqual(['U0NOBODY', 'U0GUEST']);
    expect(slack.workspace.findChannel(outcome.channelId)?.members).toEqual([]);
  });

  it('names everyone as not invited, with the reason, when Slack keeps refusing the invitation itself', async () => {
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    slack.rateLimitNext('conversations.invite', 1, 30);
    const outcome = await openIncidentChannel({ client: impatient, incident: incident(), members: ['U0ONCALL', 'U0APPROVER1'] });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.notInvited).toEqual([
      { user: 'U0ONCALL', reason: 'Slack kept answering 429 (rate limited) after the retries' },
      { user: 'U0APPROVER1', reason: 'Slack kept answering 429 (rate limited) after the retries' },
    ]);
    expect(slack.workspace.findChannel(outcome.channelId)?.members).toEqual([]);
  });

  it('waits out a rate limit on conversations.create and creates the channel once', async () => {
    slack.rateLimitNext('conversations.create', 1, 1);
    const limited = slack.rateLimitedCount('conversations.create');
    const started = Date.now();
    const declared = incident({ title: 'Rate limited declaration' });
    const outcome = await openIncidentChannel({ client, incident: declared, members: ['U0ONCALL'] });
    expect(outcome.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(slack.rateLimitedCount('conversations.create')).toBe(limited + 1);
    expect(slack.workspace.listChannels().filter((channel) => channel.name === 'inc-2026-12-07-rate-limited-declaration')).toHaveLength(1);
  });

  it('keeps the channel when Slack refuses the briefing, says why, and posts nothing else', async () => {
    const posts = slack.calls('chat.postMessage').length;
    const badBriefing = { text: 'x', blocks: [{ type: 'header' as const, text: { type: 'plain_text' as const, text: 'h'.repeat(151) } }] };
    const outcome = await openIncidentChannel({ client, incident: incident(), members: [], briefing: badBriefing, writes: channelWriteQueue(client) });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.briefingTs).toBeUndefined();
    expect(outcome.briefingProblem).toBe('The briefing could not be posted: Slack refused it (invalid_blocks).');
    expect(slack.calls('chat.postMessage').slice(posts).map((call) => call.error)).toEqual(['invalid_blocks']);
    expect(slack.messages(outcome.channelId)).toEqual([]);
  });

  it('answers a failure naming the problem when Slack cannot be reached', async () => {
    const offline = new WebClient(BOT_TOKEN, { slackApiUrl: 'http://127.0.0.1:9/api/', retryConfig: { retries: 0 } });
    const outcome = await openIncidentChannel({ client: offline, incident: incident({ title: 'Offline' }), members: ['U0ONCALL'] });
    expect(outcome).toMatchObject({ ok: false, reason: 'slack-error' });
    if (outcome.ok) throw new Error('unreachable');
    expect(outcome.message).toMatch(/^The incident channel #inc-2026-12-07-offline could not be created: Slack could not be reached \(/);
  });
});
