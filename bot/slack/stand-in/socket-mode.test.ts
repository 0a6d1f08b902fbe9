/**
 * Socket Mode against the real clients: @slack/socket-mode's SocketModeClient (hello, envelopes,
 * acks) and a Bolt app with socketMode on, both finding the stand-in through apps.connections.open.
 */
import { App, LogLevel } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSlackStandIn, type SlackStandIn } from './index.js';

const BOT_TOKEN = 'xoxb-socket-mode-test';
const APP_TOKEN = 'xapp-1-socket-mode-test';
const OPS = 'C0ACGSOPS01';

describe('the raw SocketModeClient', () => {
  let slack: SlackStandIn;
  let client: SocketModeClient;
  const received: { type: string; body: unknown; retryNum?: number; retryReason?: string }[] = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: APP_TOKEN, console: false, ackTimeoutMs: 3000 });
    client = new SocketModeClient({ appToken: APP_TOKEN, clientOptions: { slackApiUrl: slack.apiUrl }, logLevel: LogLevel.ERROR, autoReconnectEnabled: false });
    client.on('slack_event', async ({ ack, type, body, retry_num, retry_reason }: { ack: (payload?: Record<string, unknown>) => Promise<void>; type: string; body: { text?: string }; retry_num?: number; retry_reason?: string }) => {
      received.push({ type, body, ...(retry_num ? { retryNum: retry_num } : {}), ...(retry_reason ? { retryReason: retry_reason } : {}) });
      if (type === 'slash_commands') await ack({ text: `ack for ${body.text ?? ''}` });
      else await ack();
    });
    await client.start();
  });
  afterAll(async () => {
    await client.disconnect();
    await slack.close();
  });

  it('connects through apps.connections.open with the app token and receives hello', () => {
    expect(slack.socketMode.connectionCount).toBe(1);
    expect(slack.calls('apps.connections.open').at(-1)).toMatchObject({ ok: true });
  });

  it('sends a slash command envelope and resolves with the ack and its payload', async () => {
    const reply = await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'health' });
    expect(reply).toMatchObject({ transport: 'socket', status: 200, body: { text: 'ack for health' } });
    expect(received.at(-1)).toMatchObject({ type: 'slash_commands', body: { command: '/acgs', text: 'health', user_id: 'U0ONCALL', channel_id: OPS } });
    const envelope = slack.socketMode.sent.at(-1)!;
    expect(envelope).toMatchObject({ envelope_id: reply.envelopeId, type: 'slash_commands', accepts_response_payload: true, retry_attempt: 0 });
    expect(reply.immediateReply).toMatchObject({ text: 'ack for health', visibleTo: 'U0ONCALL' });
  });

  it('resends the identical envelope with retry_attempt and retry_reason', async () => {
    const first = await slack.openHome('U0ONCALL');
    const again = await first.redeliver({ retry: { num: 1, reason: 'timeout' } });
    expect(again.envelopeId).toBe(first.envelopeId);
    const [original, retried] = slack.socketMode.sent.slice(-2);
    expect(retried!.payload).toEqual(original!.payload);
    expect(retried).toMatchObject({ type: 'events_api', accepts_response_payload: false, retry_attempt: 1, retry_reason: 'timeout' });
    expect(received.at(-1)).toMatchObject({ type: 'events_api', retryNum: 1, retryReason: 'timeout' });
  });

  it('refuses a WebSocket connection without a ticket from apps.connections.open', async () => {
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${slack.url.replace('http', 'ws')}/socket?ticket=forged`);
      socket.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => {
        resolve(101);
        socket.close();
      });
      socket.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });
});

describe('a Bolt app in Socket Mode', () => {
  let slack: SlackStandIn;
  let app: App;
  const seen: string[] = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: APP_TOKEN, console: false });
    app = new App({ token: BOT_TOKEN, appToken: APP_TOKEN, socketMode: true, clientOptions: { slackApiUrl: slack.apiUrl }, installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } }, logLevel: LogLevel.ERROR });
    app.command('/acgs', async ({ command, ack, respond }) => {
      seen.push(`command:${command.text}`);
      await ack();
      await respond({ response_type: 'in_channel', text: `ran ${command.text}`, blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'again', text: { type: 'plain_text', text: 'Again' }, value: command.text }] }] });
    });
    app.action('again', async ({ ack, body }) => {
      await ack();
      seen.push(`click:${(body as { user: { id: string } }).user.id}`);
    });
    app.event('app_mention', async ({ event }) => {
      seen.push(`mention:${event.text}`);
    });
    await app.start();
  });
  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  it('runs a slash command, a button click and a mention through the real Socket Mode receiver', async () => {
    const command = await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'metrics' });
    expect(command.status).toBe(200);
    const posted = await slack.waitFor(() => slack.messages(OPS).find((message) => message.text === 'ran metrics'), 5000, 'the in-channel reply');
    const click = await slack.clickButton({ userId: 'U0APPROVER2', channelId: OPS, actionId: 'again', messageTs: posted.ts });
    expect(click.status).toBe(200);
    await slack.mention({ userId: 'U0ONCALL', channelId: OPS, text: 'hi' });
    await slack.waitFor(() => seen.length >= 3, 5000, 'three listener runs');
    expect(seen).toEqual(['command:metrics', 'click:U0APPROVER2', 'mention:<@U0ACGSBOT> hi']);
  });

  it('reconnects with a fresh ticket when Slack asks it to', async () => {
    const opened = slack.calls('apps.connections.open').length;
    slack.socketMode.requestReconnect();
    await slack.waitFor(() => slack.calls('apps.connections.open').length > opened && slack.socketMode.connectionCount === 1, 15_000, 'the reconnection');
    const reply = await slack.slashCommand({ text: 'health' });
    expect(reply.status).toBe(200);
  });
});
