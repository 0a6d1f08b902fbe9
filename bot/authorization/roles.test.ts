/**
 * Roles from the config file and from Slack user groups, through the real @slack/web-api
 * WebClient against the Slack stand-in's usergroups.users.list: the cache and its TTL, and what
 * happens (and what the decision's reason says) when Slack cannot answer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from '../slack/stand-in/index.js';
import { createCommandAuthorization } from './command-authorization.js';
import { Authorizer } from './policy-authorizer.js';
import { defaultAuthorizationData } from './data.js';
import { RoleResolver, slackUserGroupDirectory } from './roles.js';

const BOT_TOKEN = 'xoxb-roles-test';
const TTL_MS = 60_000;
let slack: SlackStandIn;
let client: WebClient;
let authorizer: Authorizer;

/** A clock the test moves by hand, so TTL expiry is exact. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: {
      userGroups: [
        { id: 'S0ONCALL', handle: 'oncall', name: 'On-call', users: ['U0ONCALL'] },
        { id: 'S0APPROVERS', handle: 'approvers', name: 'Approvers', users: ['U0APPROVER1', 'U0APPROVER2'] },
      ],
    },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  authorizer = await Authorizer.load({ data: defaultAuthorizationData() });
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.workspace.setUserGroupMembers('S0ONCALL', ['U0ONCALL']);
  slack.workspace.setUserGroupMembers('S0APPROVERS', ['U0APPROVER1', 'U0APPROVER2']);
});

const groupCalls = () => slack.calls('usergroups.users.list').length;

describe('roles from the config file', () => {
  it('gives each listed user the roles that list them, and nobody else any role', async () => {
    const roles = new RoleResolver({ roles: { oncall: ['U0ALICE', 'U0BOB'], admins: ['U0ALICE'] } });
    expect(await roles.rolesOf('U0ALICE')).toEqual({ roles: ['admins', 'oncall'] });
    expect(await roles.rolesOf('U0BOB')).toEqual({ roles: ['oncall'] });
    expect(await roles.rolesOf('U0MALLORY')).toEqual({ roles: [] });
    expect(roles.usesGroups).toBe(false);
  });
});

describe('roles from Slack user groups', () => {
  it("grants a group's roles to its members through usergroups.users.list", async () => {
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'], approvers: ['S0APPROVERS', 'U0ALICE'] }, groups: slackUserGroupDirectory(client) });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
    expect(await roles.rolesOf('U0APPROVER2')).toEqual({ roles: ['approvers'] });
    expect(await roles.rolesOf('U0ALICE')).toEqual({ roles: ['approvers'] });
    expect(await roles.rolesOf('U0MALLORY')).toEqual({ roles: [] });
  });

  it('asks Slack once per group within the TTL, and again after it, seeing membership changes', async () => {
    const clock = manualClock();
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'] }, groups: slackUserGroupDirectory(client), ttlMs: TTL_MS, clock });
    const before = groupCalls();
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
    expect(await roles.rolesOf('U0APPROVER1')).toEqual({ roles: [] });
    expect(groupCalls() - before).toBe(1);

    slack.workspace.setUserGroupMembers('S0ONCALL', ['U0APPROVER1']);
    clock.advance(TTL_MS - 1);
    expect(await roles.rolesOf('U0APPROVER1')).toEqual({ roles: [] });
    expect(groupCalls() - before).toBe(1);

    clock.advance(2);
    expect(await roles.rolesOf('U0APPROVER1')).toEqual({ roles: ['oncall'] });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: [] });
    expect(groupCalls() - before).toBe(2);
  });

  it('shares one Slack call among concurrent lookups of the same group', async () => {
    const roles = new RoleResolver({ roles: { approvers: ['S0APPROVERS'] }, groups: slackUserGroupDirectory(client) });
    const before = groupCalls();
    const answers = await Promise.all(Array.from({ length: 10 }, () => roles.rolesOf('U0APPROVER1')));
    expect(answers.every((answer) => answer.roles.includes('approvers'))).toBe(true);
    expect(groupCalls() - before).toBe(1);
  });

  it("does not ask Slack about a role the user already holds from the config file", async () => {
    const roles = new RoleResolver({ roles: { oncall: ['U0ONCALL', 'S0ONCALL'] }, groups: slackUserGroupDirectory(client) });
    const before = groupCalls();
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
    expect(groupCalls() - before).toBe(0);
  });

  it('keeps the last known membership when Slack fails after the TTL, and says how old it is', async () => {
    const clock = manualClock();
    // A client that reports a rate limit instead of waiting it out.
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'] }, groups: slackUserGroupDirectory(impatient), ttlMs: TTL_MS, clock });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
    clock.advance(12 * 60_000);
    slack.rateLimitNext('usergroups.users.list', 1, 30);
    expect(await roles.rolesOf('U0ONCALL')).toEqual({
      roles: ['oncall'],
      note: expect.stringMatching(/^Slack user group S0ONCALL could not be read \(.*rate.?limit.*\), so its membership from 12 min ago was used\.$/i),
    });
    // The next lookup asks Slack again and, now that it answers, the note is gone.
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
  });

  it('grants nothing from a last known membership older than the maximum age while Slack keeps failing, says why, and grants again once Slack answers', async () => {
    const clock = manualClock();
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL', 'U0BOB'] }, groups: slackUserGroupDirectory(impatient), ttlMs: TTL_MS, maxStaleMs: 30 * 60_000, clock });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
    // Within the maximum age the last known membership still counts.
    clock.advance(29 * 60_000);
    slack.rateLimitNext('usergroups.users.list', 1, 30);
    expect((await roles.rolesOf('U0ONCALL')).roles).toEqual(['oncall']);
    // Past it, it does not: the person keeps no role from the group, the note says why.
    clock.advance(2 * 60_000);
    slack.rateLimitNext('usergroups.users.list', 1, 30);
    expect(await roles.rolesOf('U0ONCALL')).toEqual({
      roles: [],
      note: expect.stringMatching(/^Slack user group S0ONCALL could not be read \(.*rate.?limit.*\), and its last known membership, from 31 min ago, is older than the 30 min allowed, so only the user IDs in the config file count for the roles it grants\.$/i),
    });
    expect((await roles.rolesOf('U0BOB')).roles).toEqual(['oncall']);
    // Slack answers again: the fresh membership counts.
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: ['oncall'] });
  });

  it('falls back to the user IDs in the config file when Slack never answered, and says so', async () => {
    const roles = new RoleResolver({ roles: { oncall: ['S0NOSUCH', 'U0BOB'] }, groups: slackUserGroupDirectory(client) });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({
      roles: [],
      note: 'Slack user group S0NOSUCH could not be read (An API error occurred: no_such_subteam), so only the user IDs in the config file count for the roles it grants.',
    });
    expect(await roles.rolesOf('U0BOB')).toEqual({ roles: ['oncall'] });
  });

  it('counts a Slack that does not answer within the timeout as a failure', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const stuck = new WebClient(BOT_TOKEN, { slackApiUrl: `http://127.0.0.1:${port}/api/`, retryConfig: { retries: 0 } });
      const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL', 'U0BOB'] }, groups: slackUserGroupDirectory(stuck, 200) });
      const started = performance.now();
      expect(await roles.rolesOf('U0ONCALL')).toEqual({
        roles: [],
        note: 'Slack user group S0ONCALL could not be read (no answer within 200 ms), so only the user IDs in the config file count for the roles it grants.',
      });
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('without a Slack connection, group entries grant nothing and the resolution says why', async () => {
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'] } });
    expect(await roles.rolesOf('U0ONCALL')).toEqual({ roles: [], note: expect.stringContaining('could not be read (no Slack connection)') });
  });

  it('when Slack is unreachable, the decision refuses what the config file alone does not allow and its reason says why', async () => {
    const gone = await startSlackStandIn({ botToken: BOT_TOKEN, console: false });
    const goneClient = new WebClient(BOT_TOKEN, { slackApiUrl: gone.apiUrl, retryConfig: { retries: 0 }, timeout: 2000 });
    await gone.close();
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'] }, groups: slackUserGroupDirectory(goneClient) });
    const authorize = createCommandAuthorization(authorizer, roles);
    const { decision, input } = await authorize({
      userId: 'U0ONCALL',
      command: { name: 'restart', level: 1 },
      args: { service: 'policy-engine' },
      channelId: 'C0ACGSOPS01',
      modes: { strict: false, lockdown: false },
      now: new Date('2026-03-02T10:00:00Z'),
    });
    expect(input.user).toEqual({ id: 'U0ONCALL', roles: [] });
    expect(decision).toMatchObject({ allow: false, code: 'role' });
    expect(decision.reason).toMatch(
      /^"restart" is a Level 1 \(automatic\) action that the oncall or admins role may request; you hold no role\. Slack user group S0ONCALL could not be read \(.+\), so only the user IDs in the config file count for the roles it grants\.$/,
    );
  });

  it('with Slack answering, the same request is allowed through the group and the reason has no note', async () => {
    const roles = new RoleResolver({ roles: { oncall: ['S0ONCALL'] }, groups: slackUserGroupDirectory(client) });
    const { decision } = await createCommandAuthorization(authorizer, roles)({
      userId: 'U0ONCALL',
      command: { name: 'restart', level: 1 },
      args: {},
      modes: { strict: false, lockdown: false },
      now: new Date(),
    });
    expect(decision).toMatchObject({ allow: true, code: 'allowed', reason: '"restart" is a Level 1 (automatic) action that your role oncall may run at once.' });
  });
});
