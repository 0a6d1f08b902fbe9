/**
 * The bot in Socket Mode: Bolt's real SocketModeReceiver connects to the stand-in's WebSocket
 * (apps.connections.open through SLACK_API_URL) and answers envelopes; our server still serves
 * /health and /metrics, and can carry the stand-in and console on the same port.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackBot } from '../../bot/slack/app.js';
import { createSlackStandIn } from '../../bot/slack/stand-in/index.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { APP_TOKEN, BOT_TOKEN, blockText, fixtureRegistry, ONCALL, OPS, RunLog, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

let t: BotUnderTest;

beforeAll(async () => {
  t = await startBotWithStandIn({ mode: 'socket' });
});

afterAll(async () => {
  await t?.close();
});

describe('Socket Mode', () => {
  it('acks a /acgs help envelope over the WebSocket and answers through the response_url', async () => {
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'help' });
    expect(reply.transport).toBe('socket');
    expect(reply.envelopeId).toBeDefined();
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).find((message) => blockText(message.blocks).includes('ACGS ChatOps commands')),
      5000,
      'the help reply',
    );
    expect(answer.visibleTo).toBe(ONCALL);
    expect(await t.metric('ackLatency', { kind: 'command' })).toBeGreaterThanOrEqual(1);
  });

  it('runs an envelope once when the same envelope arrives again, with or without retry_attempt', async () => {
    const before = t.log.count('status');
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    await t.standIn.waitFor(() => t.log.count('status') === before + 1, 5000, 'the first run');
    const replay = await reply.redeliver();
    expect(replay.envelopeId).toBe(reply.envelopeId);
    const retry = await reply.redeliver({ retry: { num: 1, reason: 'timeout' } });
    expect(retry.envelopeId).toBe(reply.envelopeId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(t.log.count('status')).toBe(before + 1);
    expect(await t.metric('duplicateDeliveries', { kind: 'command' })).toBe(2);
    expect(await t.metric('retriesReceived', { kind: 'command' })).toBe(1);
  });

  it('runs a clicked button’s command and answers in the message’s thread', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    const message = await t.standIn.waitFor(() => t.standIn.messages(OPS).filter((m) => blockText(m.blocks).includes('All is well')).at(-1), 5000, 'the status message');
    await t.standIn.clickButton({ userId: 'U0APPROVER2', channelId: OPS, messageTs: message.ts, actionId: 'acgs_run_0' });
    const answer = await t.standIn.waitFor(() => t.standIn.thread(OPS, message.ts).find((m) => m.ts !== message.ts), 5000, 'the threaded answer');
    expect(blockText(answer.blocks)).toContain('Asked by U0APPROVER2 via button.');
  });

  it('answers a mention in its thread', async () => {
    const { message } = await t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${t.standIn.workspace.bot.userId}>   status` });
    const answer = await t.standIn.waitFor(() => t.standIn.thread(OPS, message.ts).find((m) => m.ts !== message.ts), 5000, 'the threaded answer');
    expect(blockText(answer.blocks)).toContain('via mention');
  });

  it('reports the WebSocket as connected on GET /health', async () => {
    const response = await fetch(`${t.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'socket', socket_connected: true });
  });

  it('serves GET /metrics in Socket Mode too', async () => {
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toMatch(/acgs_bot_commands_total\{command="status",outcome="ok",origin="slash",service="acgs-bot"\} \d+/);
  });

  it('says that Slack events come over the WebSocket when something posts to /slack/events', async () => {
    const response = await fetch(`${t.baseUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(404);
    expect((await response.json()) as object).toEqual({ error: 'this bot runs in Socket Mode: Slack events arrive over its WebSocket, not on /slack/events' });
  });
});

describe('start-up against a Slack that refuses the tokens', () => {
  it('stops with a clear error when Slack refuses the bot token', async () => {
    await expect(startBotWithStandIn({ mode: 'socket', botToken: 'xoxb-9999-not-the-token' })).rejects.toThrow(/^Slack refused SLACK_BOT_TOKEN at http:\/\/127\.0\.0\.1:\d+\/api\/auth\.test: invalid_auth$/);
  });

  it('stops with a clear error when Slack refuses the app token', async () => {
    await expect(startBotWithStandIn({ mode: 'socket', appToken: 'xapp-1-A0WRONG-0000-nope' })).rejects.toThrow(/^Socket Mode could not connect with SLACK_APP_TOKEN at .*apps\.connections\.open: invalid_auth$/);
  });
});

describe('the stand-in mounted on the bot’s own port', () => {
  it('serves the stand-in’s paths and WebSocket beside /health, and the bot works through them', async () => {
    const url = await unusedLoopbackUrl();
    const port = Number(new URL(url).port);
    const standIn = createSlackStandIn({ botToken: BOT_TOKEN, appToken: APP_TOKEN, transport: 'socket', console: false, publicUrl: url });
    const log = new RunLog();
    const unused = await unusedLoopbackUrl();
    const bot = createSlackBot({
      settings: { mode: 'socket', botToken: BOT_TOKEN, appToken: APP_TOKEN, apiUrl: standIn.apiUrl, port },
      registry: fixtureRegistry(log),
      services: createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused } }),
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      extraListener: standIn.requestListener,
      upgradeHandler: standIn.upgrade,
    });
    try {
      await bot.start();
      expect(standIn.socketMode.connectionCount).toBe(1);
      const auth = await fetch(`${url}/api/auth.test`, { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } });
      expect(await auth.json()).toMatchObject({ ok: true });
      expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ mode: 'socket', socket_connected: true });
      await standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
      await standIn.waitFor(() => standIn.messages(OPS).find((message) => blockText(message.blocks).includes('All is well')), 5000, 'the reply');
      expect(log.count('status')).toBe(1);
    } finally {
      await bot.stop();
      await standIn.close();
    }
  });
});
