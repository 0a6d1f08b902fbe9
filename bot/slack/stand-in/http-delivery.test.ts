/**
 * What the stand-in sends a bot over HTTP: first captured by a bare server and checked with
 * Bolt's own verification and an independent HMAC, then received by a real Bolt app (HTTP
 * receiver) that must see exactly what Slack would send.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, verifySlackRequest } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './index.js';

const BOT_TOKEN = 'xoxb-http-delivery-test';
const SIGNING_SECRET = 'http-delivery-signing-secret';
const OPS = 'C0ACGSOPS01';

interface Captured {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('signed requests as a bare server receives them', () => {
  let slack: SlackStandIn;
  let server: Server;
  const captured: Captured[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        captured.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"pong"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, botEventsUrl: `http://127.0.0.1:${port}/slack/events`, console: false });
  });
  afterAll(async () => {
    await slack.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const last = () => captured.at(-1)!;
  const verify = (request: Captured, nowMilliseconds?: number) =>
    verifySlackRequest({
      signingSecret: SIGNING_SECRET,
      body: request.body,
      headers: { 'x-slack-signature': String(request.headers['x-slack-signature']), 'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']) },
      ...(nowMilliseconds === undefined ? {} : { nowMilliseconds }),
    });

  it('signs a slash command so that Bolt verifies it and an independent HMAC matches', async () => {
    await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'health' });
    const request = last();
    expect(() => verify(request)).not.toThrow();
    const timestamp = String(request.headers['x-slack-request-timestamp']);
    const expected = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${request.body}`).digest('hex')}`;
    expect(request.headers['x-slack-signature']).toBe(expected);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('sends a slash command as a form with every field Slack sends', async () => {
    await slack.slashCommand({ userId: 'U0APPROVER1', channelId: 'C0ACGSAPPRV', text: 'help health' });
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = Object.fromEntries(new URLSearchParams(last().body));
    expect(form).toMatchObject({ team_id: 'T0ACGS', channel_id: 'C0ACGSAPPRV', channel_name: 'acgs-approvals', user_id: 'U0APPROVER1', user_name: 'approver1', command: '/acgs', text: 'help health', api_app_id: 'A0ACGSAPP' });
    expect(form.response_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/response\/[0-9a-f]+$/);
    expect(form.trigger_id).toBeTruthy();
    expect(form.token).toBeTruthy();
  });

  it('marks a retry with X-Slack-Retry-Num and X-Slack-Retry-Reason and resends the identical body', async () => {
    const first = await slack.mention({ userId: 'U0ONCALL', channelId: OPS, text: 'health' });
    const original = last();
    expect(original.headers['x-slack-retry-num']).toBeUndefined();
    await first.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
    const retried = last();
    expect(retried.body).toBe(original.body);
    expect(retried.headers).toMatchObject({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    expect(() => verify(retried)).not.toThrow();
  });

  it('can send a bad signature, a stale timestamp, no signature or the wrong content type on request', async () => {
    await slack.slashCommand({ text: 'health' }, { badSignature: true });
    expect(() => verify(last())).toThrow(/signature mismatch/);
    await slack.slashCommand({ text: 'health' }, { timestampSkewS: -600 });
    expect(() => verify(last())).toThrow(/stale/);
    await slack.slashCommand({ text: 'health' }, { unsigned: true });
    expect(last().headers['x-slack-signature']).toBeUndefined();
    await slack.slashCommand({ text: 'health' }, { contentType: 'text/plain' });
    expect(last().headers['content-type']).toBe('text/plain');
    expect(() => verify(last())).not.toThrow();
  });

  it('wraps events in an event_callback envelope with a fresh event_id and the bot authorization', async () => {
    await slack.openHome('U0ONCALL');
    const envelope = JSON.parse(last().body) as Record<string, unknown>;
    expect(last().headers['content-type']).toBe('application/json');
    expect(envelope).toMatchObject({ type: 'event_callback', team_id: 'T0ACGS', api_app_id: 'A0ACGSAPP', event: { type: 'app_home_opened', user: 'U0ONCALL', tab: 'home' }, authorizations: [{ user_id: 'U0ACGSBOT', is_bot: true }] });
    await slack.openHome('U0ONCALL');
    expect((JSON.parse(last().body) as { event_id: string }).event_id).not.toBe(envelope.event_id);
  });

  it('shows a slash command ack body as an ephemeral reply to the person who typed it', async () => {
    const reply = await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'ping' });
    expect(reply).toMatchObject({ transport: 'http', status: 200, body: { text: 'pong' } });
    expect(reply.immediateReply).toMatchObject({ text: 'pong', visibleTo: 'U0ONCALL', channel: OPS });
    expect(slack.messages(OPS, { includeEphemeralFor: 'U0APPROVER1' }).map((message) => message.text)).not.toContain('pong');
  });
});

describe('a real Bolt app behind the HTTP receiver', () => {
  let slack: SlackStandIn;
  let app: App;
  let server: Server;
  const commands: { text: string; userId: string; retryNum?: number }[] = [];
  const clicks: { actionId: string; value?: string; userId: string; messageTs?: string }[] = [];
  const mentions: string[] = [];

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, console: false });
    app = new App({ token: BOT_TOKEN, signingSecret: SIGNING_SECRET, clientOptions: { slackApiUrl: slack.apiUrl }, logLevel: LogLevel.ERROR });
    app.command('/acgs', async ({ command, ack, respond, context }) => {
      commands.push({ text: command.text, userId: command.user_id, ...(context.retryNum === undefined ? {} : { retryNum: context.retryNum }) });
      if (command.text === 'approve') {
        await ack();
        await respond({
          response_type: 'in_channel',
          text: 'Approval needed',
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: '*Restart policy-engine?*' } },
            { type: 'actions', block_id: 'decision', elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: 'req-1' }] },
          ],
        });
        return;
      }
      await ack({ text: `you said ${command.text}` });
    });
    app.action('approve', async ({ ack, body, action, respond }) => {
      await ack();
      const click = body as { user: { id: string }; container?: { message_ts?: string } };
      clicks.push({ actionId: 'approve', value: (action as { value?: string }).value, userId: click.user.id, messageTs: click.container?.message_ts });
      await respond({ replace_original: true, text: `Approved by <@${click.user.id}>` });
    });
    app.event('app_mention', async ({ event, say }) => {
      mentions.push(event.text);
      await say({ text: 'on it', thread_ts: event.ts });
    });
    app.event('app_home_opened', async ({ event, client }) => {
      await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Hello <@${event.user}>` } }] } });
    });
    server = (await app.start(0)) as Server;
    const { port } = server.address() as AddressInfo;
    slack.setBotEventsUrl(`http://127.0.0.1:${port}/slack/events`);
  });
  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  it('delivers a slash command that the listener receives and answers in its ack', async () => {
    const reply = await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'health' });
    expect(reply.status).toBe(200);
    expect(commands.at(-1)).toEqual({ text: 'health', userId: 'U0ONCALL' });
    expect(reply.immediateReply?.text).toBe('you said health');
  });

  it('gets 401 from Bolt for a bad signature and for a stale timestamp, and the listener never runs', async () => {
    const before = commands.length;
    expect((await slack.slashCommand({ text: 'health' }, { badSignature: true })).status).toBe(401);
    expect((await slack.slashCommand({ text: 'health' }, { timestampSkewS: -600 })).status).toBe(401);
    expect((await slack.slashCommand({ text: 'health' }, { unsigned: true })).status).toBe(401);
    expect(commands).toHaveLength(before);
  });

  it("passes Slack's retry number through to the listener's context", async () => {
    const first = await slack.slashCommand({ text: 'metrics' });
    await first.redeliver({ retry: { num: 2, reason: 'timeout' } });
    expect(commands.slice(-2)).toEqual([
      { text: 'metrics', userId: 'U0ONCALL' },
      { text: 'metrics', userId: 'U0ONCALL', retryNum: 2 },
    ]);
  });

  it('turns a button click into a block_actions payload whose response_url replaces the message', async () => {
    await slack.slashCommand({ userId: 'U0ONCALL', channelId: OPS, text: 'approve' });
    const request = await slack.waitFor(() => slack.messages(OPS).find((message) => message.text === 'Approval needed'), 5000, 'the approval request');
    const reply = await slack.clickButton({ userId: 'U0APPROVER1', channelId: OPS, actionId: 'approve' });
    expect(reply.status).toBe(200);
    expect(clicks.at(-1)).toEqual({ actionId: 'approve', value: 'req-1', userId: 'U0APPROVER1', messageTs: request.ts });
    const replaced = await slack.waitFor(() => slack.thread(OPS, request.ts)[0]?.edited && slack.thread(OPS, request.ts)[0], 5000, 'the replaced message');
    expect(replaced.text).toBe('Approved by <@U0APPROVER1>');
    expect(replaced.blocks).toEqual([]);
  });

  it('delivers an app_mention whose reply goes into a thread under the mention', async () => {
    const reply = await slack.mention({ userId: 'U0ONCALL', channelId: OPS, text: 'status please' });
    expect(reply.status).toBe(200);
    expect(mentions.at(-1)).toBe('<@U0ACGSBOT> status please');
    const mention = slack.messages(OPS).find((message) => message.text === '<@U0ACGSBOT> status please')!;
    await slack.waitFor(() => slack.thread(OPS, mention.ts).length === 2, 5000, 'the threaded answer');
    expect(slack.thread(OPS, mention.ts).map((message) => message.text)).toEqual(['<@U0ACGSBOT> status please', 'on it']);
  });

  it('delivers app_home_opened and stores the view the app publishes for that person', async () => {
    await slack.openHome('U0APPROVER2');
    const home = await slack.waitFor(() => slack.home('U0APPROVER2'), 5000, 'the home view');
    expect(home.view.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'Hello <@U0APPROVER2>' } }]);
  });

  it('refuses to click a button nobody can see, naming it', async () => {
    await expect(slack.clickButton({ userId: 'U0ONCALL', channelId: OPS, actionId: 'launch_missiles' })).rejects.toThrow(/no button launch_missiles/);
  });
});
