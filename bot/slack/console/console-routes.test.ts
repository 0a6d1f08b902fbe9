/**
 * The console's HTTP side without a browser: what it serves, how it refuses bad input (with a
 * message and without bothering the bot), and what it turns typed text into.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsoleSession, startDeliveryRecorder, type ConsoleSession, type DeliveryRecorder } from '../../../test/testing/console-session.js';
import { startSlackStandIn, type SlackStandIn } from '../stand-in/index.js';
import { encodeMentions } from './console-routes.js';

let slack: SlackStandIn;
let bot: DeliveryRecorder;
let session: ConsoleSession;
let delivered: string[];

beforeAll(async () => {
  // A recorder in place of the bot: what reaches it is what the console delivered.
  bot = await startDeliveryRecorder();
  delivered = bot.delivered;
  slack = await startSlackStandIn({ botToken: 'xoxb-console-routes', signingSecret: 'secret', botEventsUrl: bot.eventsUrl });
  session = await openConsoleSession(slack.consoleUrl);
});
afterAll(async () => {
  await slack.close();
  await bot.close();
});

const post = (path: string, body: unknown) => session.post(path, body);

describe('console pages', () => {
  it('serves the page at / with a content security policy that allows only its own files', async () => {
    const response = await fetch(`${slack.url}/`, { headers: { cookie: session.cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await response.text()).toContain('<script type="module" src="/console/app.js"></script>');
  });

  it('serves only the files of its public folder', async () => {
    expect((await fetch(`${slack.url}/console/mrkdwn.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    // The pages only through / (which checks the token), never as files.
    for (const path of ['/console/%2e%2e%2fconsole-routes.ts', '/console/..%2F..%2Fpackage.json', '/console/public/app.js', '/console/nothing.js', '/console/index.html', '/console/sign-in.html']) {
      expect((await fetch(`${slack.url}${path}`)).status, path).toBe(404);
    }
  });

  it('describes the workspace: four channels, three people and the bot', async () => {
    const workspace = await session.get<{ channels: { name: string }[]; users: { id: string; isBot: boolean }[] }>('workspace');
    expect(workspace.channels.map((channel) => channel.name)).toEqual(['acgs-ops', 'acgs-alerts', 'acgs-deploys', 'acgs-approvals']);
    expect(workspace.users.filter((user) => !user.isBot).map((user) => user.id)).toEqual(['U0ONCALL', 'U0APPROVER1', 'U0APPROVER2']);
  });
});

describe('console input', () => {
  it.each([
    ['an empty message', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: '   ' }, 'text: type a message or /acgs ...'],
    ['a malformed user ID', { as: 'oncall', channel: 'C0ACGSOPS01', text: '/acgs health' }, 'as: must be a user ID'],
    ['a malformed channel ID', { as: 'U0ONCALL', channel: '#ops', text: '/acgs health' }, 'channel: must be a channel ID'],
    ['an unknown field', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: '/acgs health', admin: true }, 'admin'],
    ['a body that is not JSON', 'text=/acgs health', 'body:'],
  ])('refuses %s with a message and delivers nothing', async (_name, body, message) => {
    const before = delivered.length;
    const answer = await post('compose', body);
    expect(answer.status).toBe(400);
    expect(answer.json.ok).toBe(false);
    expect(answer.json.error).toContain(message);
    expect(delivered).toHaveLength(before);
  });

  it('delivers a typed /acgs command as a signed slash command with the rest as its text', async () => {
    const answer = await post('compose', { as: 'U0APPROVER2', channel: 'C0ACGSDEPLY', text: '/acgs  violations 5' });
    expect(answer.json).toEqual({ ok: true });
    const form = Object.fromEntries(new URLSearchParams(delivered.at(-1)));
    expect(form).toMatchObject({ command: '/acgs', text: 'violations 5', user_id: 'U0APPROVER2', channel_id: 'C0ACGSDEPLY' });
  });

  it('says which button it could not find instead of blaming the bot', async () => {
    const answer = await post('click', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', actionId: 'nothing_here' });
    expect(answer.json.ok).toBe(false);
    expect(answer.json.error).toContain('no button nothing_here');
  });

  it('tells the person when the bot answers with an error status', async () => {
    const down = await startSlackStandIn({ botToken: 'xoxb-x', signingSecret: 'secret', botEventsUrl: `${slack.url}/not-a-bot` });
    try {
      const downSession = await openConsoleSession(down.consoleUrl);
      const answer = await downSession.post('compose', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: '/acgs health' });
      expect(answer.json).toEqual({ ok: false, error: 'the bot answered HTTP 404' });
    } finally {
      await down.close();
    }
  });

  it('stores a plain message escaped, with @names and #channels turned into Slack mentions', async () => {
    const answer = await post('compose', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: 'ping @approver1 in #acgs-alerts <b>&</b>' });
    expect(answer.json).toEqual({ ok: true });
    expect(slack.messages('C0ACGSOPS01').at(-1)?.text).toBe('ping <@U0APPROVER1> in <#C0ACGSALERT|acgs-alerts> &lt;b&gt;&amp;&lt;/b&gt;');
  });

  it('leaves unknown @names and #channels as typed', () => {
    expect(encodeMentions(slack.workspace, '@nobody #nowhere email@example.test')).toBe('@nobody #nowhere email@example.test');
  });
});

describe('live updates', () => {
  it('announces a new message on the event stream', async () => {
    const controller = new AbortController();
    const response = await fetch(`${slack.url}/console/api/events`, { signal: controller.signal, headers: { cookie: session.cookie } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    await post('compose', { as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: 'hello stream' });
    let text = '';
    while (!text.includes('event: change')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    const data = JSON.parse(/data: (.*)/.exec(text)![1]!) as { kind: string; channel: string };
    expect(data).toMatchObject({ kind: 'message', channel: 'C0ACGSOPS01' });
  });
});
