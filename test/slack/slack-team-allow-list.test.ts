/**
 * Requests from another Slack workspace: Slack signs them with the same signing secret, so only
 * the team they name tells them apart. Through the real HTTP receiver, with a second stand-in
 * playing the other workspace and the trail on the real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBotConfig } from '../../bot/config.js';
import { startSlackStandIn, type SlackStandIn } from '../../bot/slack/stand-in/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { openTestTrail, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { BOT_TOKEN, ONCALL, OPS, SIGNING_SECRET, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const OWN_TEAM = 'T0ACGS';
const PARTNER_TEAM = 'T0PARTNER';
const OTHER_TEAM = 'T0OTHER';

describe('slack.team_ids in the config', () => {
  it('accepts a list of team IDs and leaves the key out by default', () => {
    expect(parseBotConfig({ slack: { team_ids: ['T012ABCDEF', 'T0PARTNER'] } }).slack?.team_ids).toEqual(['T012ABCDEF', 'T0PARTNER']);
    expect(parseBotConfig({}).slack).toBeUndefined();
  });

  it('names the key of a malformed team ID, an empty list and an unknown key under slack', () => {
    expect(() => parseBotConfig({ slack: { team_ids: ['T012ABCDEF', 'acme'] } })).toThrow('config: slack.team_ids[1]: must be a Slack team (workspace) ID such as T012ABCDEF');
    expect(() => parseBotConfig({ slack: { team_ids: [] } })).toThrow('config: slack.team_ids: must list at least one team ID, or leave slack.team_ids out');
    expect(() => parseBotConfig({ slack: { teams: ['T012ABCDEF'] } })).toThrow('config: unknown key slack.teams');
    expect(() => parseBotConfig({ slack: { team_ids: 'T012ABCDEF' } })).toThrow(/^config: slack\.team_ids: /);
  });
});

let trail: TestTrail;
const bots: BotUnderTest[] = [];
const others: SlackStandIn[] = [];

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_team_allow' });
}, 30_000);

afterAll(async () => {
  for (const bot of bots) await bot.close();
  for (const standIn of others) await standIn.close();
  await trail?.close();
});

async function botFor(teamIds?: string[]): Promise<BotUnderTest> {
  const unused = await unusedLoopbackUrl();
  const services = {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    trail: trail.trail,
  };
  const bot = await startBotWithStandIn({ mode: 'http', botOverrides: { services, ...(teamIds ? { teamIds } : {}) } });
  bots.push(bot);
  return bot;
}

/** Another workspace where the same app is installed: same signing secret, its own team ID. */
async function workspaceOf(teamId: string, bot: BotUnderTest): Promise<SlackStandIn> {
  const standIn = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, transport: 'http', console: false, workspace: { teamId } });
  standIn.setBotEventsUrl(`${bot.baseUrl}/slack/events`);
  others.push(standIn);
  return standIn;
}

async function refusalsRecorded(team: string): Promise<number> {
  const { rows } = await trail.pool.query<{ n: string }>(`SELECT count(*) AS n FROM bot_audit_trail WHERE outcome = 'refused' AND details->>'team_id' = $1`, [team]);
  return Number(rows[0]!.n);
}

describe('a bot without slack.team_ids', () => {
  it("serves its own workspace (the bot token's team) and refuses another one's slash command before it runs, saying so, logging and recording it", async () => {
    const bot = await botFor();
    const own = await bot.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    expect(own.status).toBe(200);
    await bot.standIn.waitFor(() => bot.log.count('status') === 1 || undefined, 5000, 'the own workspace\'s status to run');

    const other = await workspaceOf(OTHER_TEAM, bot);
    const reply = await other.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('This ACGS bot serves only its own Slack workspace; nothing was run.');
    await expect.poll(() => refusalsRecorded(OTHER_TEAM), { timeout: 5000 }).toBe(1);
    expect(bot.log.count('status')).toBe(1);
    expect(bot.logLines.find((line) => line.msg === 'Slack request from a workspace outside slack.team_ids refused: nothing was run')).toMatchObject({ team: OTHER_TEAM, user: ONCALL, kind: 'command' });
    expect(await bot.metric('foreignTeamRefusals', { kind: 'command' })).toBe(1);
  });
});

describe('a bot with slack.team_ids', () => {
  it('serves every listed workspace and refuses a button click and a mention from one not listed, running nothing', async () => {
    const bot = await botFor([OWN_TEAM, PARTNER_TEAM]);
    const partner = await workspaceOf(PARTNER_TEAM, bot);
    await partner.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    await bot.standIn.waitFor(() => bot.log.count('status') === 1 || undefined, 5000, 'the partner workspace\'s status to run');

    const stranger = await workspaceOf(OTHER_TEAM, bot);
    const posted = stranger.workspace.post({ channel: OPS, user: stranger.workspace.bot.userId, text: 'status', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'acgs_run_0', text: { type: 'plain_text', text: 'Ask again' }, value: 'status' }] }] });
    const click = await stranger.clickButton({ userId: ONCALL, actionId: 'acgs_run_0', channelId: OPS, messageTs: posted.ts });
    expect(click.status).toBe(200);
    await stranger.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${stranger.workspace.bot.userId}> status` });
    await expect.poll(() => refusalsRecorded(OTHER_TEAM), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bot.log.count('status')).toBe(1);
    expect(await bot.metric('foreignTeamRefusals', { kind: 'action' })).toBe(1);
    expect(await bot.metric('foreignTeamRefusals', { kind: 'event' })).toBe(1);
  });
});
