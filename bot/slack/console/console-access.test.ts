/**
 * Who gets into the local console: only a browser that opened the link with this process's token,
 * talking to the console's own loopback address from the console's own page. Every refused request
 * answers 403 and reaches neither the bot nor the workspace. A web page in the operator's browser
 * (a cross-site form, a "simple" fetch, a DNS-rebinding page, a page on another local port) must
 * not be able to drive the console or read its messages.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsoleSession, startDeliveryRecorder, type ConsoleSession, type DeliveryRecorder } from '../../../test/testing/console-session.js';
import { startSlackStandIn, type SlackStandIn } from '../stand-in/index.js';

let slack: SlackStandIn;
let bot: DeliveryRecorder;
let session: ConsoleSession;
let delivered: string[];

beforeAll(async () => {
  // A recorder in place of the bot: what reaches it is what the console delivered.
  bot = await startDeliveryRecorder();
  delivered = bot.delivered;
  slack = await startSlackStandIn({ botToken: 'xoxb-console-access', signingSecret: 'secret', botEventsUrl: bot.eventsUrl });
  session = await openConsoleSession(slack.consoleUrl);
});
afterAll(async () => {
  await slack.close();
  await bot.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request with exactly these headers (fetch would not let a test forge Host). */
function raw(options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawAnswer> {
  const { port } = new URL(slack.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {}, setHost: options.headers?.host === undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const host = () => new URL(slack.url).host;
const BREAK_GLASS = JSON.stringify({ as: 'U0APPROVER1', channel: 'C0ACGSOPS01', text: '/acgs break-glass "web page says so" lockdown' });
const PLAIN_MESSAGE = JSON.stringify({ as: 'U0ONCALL', channel: 'C0ACGSOPS01', text: 'posted by a web page' });

/** Sends a request that must be refused, and checks that nothing reached the bot or the workspace. */
async function expectRefused(options: Parameters<typeof raw>[0], reason: RegExp): Promise<RawAnswer> {
  const deliveredBefore = delivered.length;
  const messagesBefore = slack.messages('C0ACGSOPS01').length;
  const answer = await raw(options);
  expect(answer.status, `${options.method ?? 'GET'} ${options.path}`).toBe(403);
  if (options.path.startsWith('/console/api/')) {
    const json = JSON.parse(answer.text) as { ok: boolean; error: string };
    expect(json.ok).toBe(false);
    expect(json.error).toMatch(reason);
  } else {
    expect(answer.text).toMatch(reason);
  }
  expect(answer.headers['set-cookie']).toBeUndefined();
  // Give a wrongly accepted delivery the time to arrive before saying none did.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(delivered).toHaveLength(deliveredBefore);
  expect(slack.messages('C0ACGSOPS01')).toHaveLength(messagesBefore);
  return answer;
}

describe('getting into the console', () => {
  it('opens from the printed link, setting an HttpOnly, SameSite=Strict cookie named for its port', async () => {
    const answer = await raw({ path: `/?token=${slack.consoleToken}`, headers: { host: host(), 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<script type="module" src="/console/app.js"></script>');
    const cookie = String(answer.headers['set-cookie']);
    expect(cookie).toBe(`acgs_console_${new URL(slack.url).port}=${slack.consoleToken}; Path=/; HttpOnly; SameSite=Strict`);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(slack.consoleUrl).toBe(`${slack.url}/?token=${slack.consoleToken}`);
  });

  it('keeps a browser with the cookie in: the bare address then serves the console', async () => {
    const answer = await raw({ path: '/', headers: { host: host(), cookie: session.cookie } });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('ACGS local Slack console');
    expect(answer.headers['set-cookie']).toBeUndefined();
  });

  it('answers a bookmark of the bare address with a page that says to open the link npm start printed', async () => {
    const answer = await expectRefused({ path: '/', headers: { host: host(), 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } }, /the link <code>npm start<\/code> printed/);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.text).toContain('new at every start');
    expect(answer.text).not.toContain(slack.consoleToken);
  });

  it('answers a link from an earlier start (another token) with the same page and no cookie', async () => {
    await expectRefused({ path: '/?token=an-earlier-start', headers: { host: host() } }, /open it; this browser then stays signed in/);
    await expectRefused({ path: '/', headers: { host: host(), cookie: `acgs_console_${new URL(slack.url).port}=an-earlier-start` } }, /the link <code>npm start<\/code> printed/);
  });

  it('lets a link followed from another site open the console, since only the token can open it', async () => {
    const answer = await raw({ path: `/?token=${slack.consoleToken}`, headers: { host: host(), 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(answer.status).toBe(200);
    expect(answer.headers['set-cookie']).toBeDefined();
  });

  it('accepts localhost as the console’s own name too', async () => {
    const port = new URL(slack.url).port;
    const answer = await raw({ method: 'POST', path: '/console/api/compose', headers: { host: `localhost:${port}`, origin: `http://localhost:${port}`, cookie: session.cookie, 'content-type': 'application/json' }, body: JSON.stringify({ as: 'U0ONCALL', channel: 'C0ACGSALERT', text: 'from localhost' }) });
    expect(answer.status).toBe(200);
    expect(slack.messages('C0ACGSALERT').at(-1)?.text).toBe('from localhost');
  });
});

describe('what a web page in the operator’s browser cannot do', () => {
  it('cannot post the issue’s forged break-glass: text/plain, foreign Origin and Host, no token', async () => {
    await expectRefused(
      { method: 'POST', path: '/console/api/compose', headers: { host: `rebound.example:${new URL(slack.url).port}`, origin: `http://rebound.example:${new URL(slack.url).port}`, 'content-type': 'text/plain' }, body: BREAK_GLASS },
      /Forbidden: this console answers only at http:\/\/127\.0\.0\.1:\d+/,
    );
  });

  it.each([
    ['compose', BREAK_GLASS],
    ['compose', PLAIN_MESSAGE],
    ['click', JSON.stringify({ as: 'U0APPROVER1', actionId: 'acgs_approval_approve', channel: 'C0ACGSOPS01' })],
    ['open-home', JSON.stringify({ as: 'U0ONCALL' })],
  ])('refuses a POST to %s without the token cookie, even from the console’s own origin', async (path, body) => {
    await expectRefused({ method: 'POST', path: `/console/api/${path}`, headers: { host: host(), origin: slack.url, 'content-type': 'application/json' }, body }, /Forbidden: the console token is missing or belongs to an earlier start: open the URL npm start printed/);
  });

  it('refuses a POST whose cookie holds another token (an earlier start)', async () => {
    await expectRefused({ method: 'POST', path: '/console/api/compose', headers: { host: host(), origin: slack.url, cookie: `acgs_console_${new URL(slack.url).port}=an-earlier-start`, 'content-type': 'application/json' }, body: BREAK_GLASS }, /console token is missing or belongs to an earlier start/);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''])('refuses a POST with the content type "%s" (what a form or a simple fetch sends), even with the cookie', async (type) => {
    await expectRefused({ method: 'POST', path: '/console/api/compose', headers: { host: host(), origin: slack.url, cookie: session.cookie, ...(type ? { 'content-type': type } : {}) }, body: BREAK_GLASS }, /takes Content-Type: application\/json only/);
  });

  it.each([['http://evil.example'], ['null'], [`http://127.0.0.1:${1}`], ['https://127.0.0.1']])('refuses a POST from the Origin %s, even with the cookie and JSON', async (origin) => {
    await expectRefused({ method: 'POST', path: '/console/api/compose', headers: { host: host(), origin, cookie: session.cookie, 'content-type': 'application/json' }, body: BREAK_GLASS }, /Forbidden: requests from .* are refused: only the console's own page/);
  });

  it('refuses a page on another port of this machine: same-site for cookies, so its Origin is checked', async () => {
    const otherPort = `http://127.0.0.1:${Number(new URL(slack.url).port) === 65535 ? 65534 : Number(new URL(slack.url).port) + 1}`;
    await expectRefused({ method: 'POST', path: '/console/api/compose', headers: { host: host(), origin: otherPort, cookie: session.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-site' }, body: BREAK_GLASS }, /are refused/);
    // Without an Origin (an image or script tag): Sec-Fetch-Site tells.
    await expectRefused({ path: '/console/api/messages?channel=C0ACGSOPS01&as=U0ONCALL', headers: { host: host(), cookie: session.cookie, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' } }, /a same-site request is refused/);
  });

  it('refuses a foreign Host (a DNS-rebinding page) even with the cookie: the API, the page and its files', async () => {
    const rebound = `rebound.example:${new URL(slack.url).port}`;
    await expectRefused({ method: 'POST', path: '/console/api/compose', headers: { host: rebound, cookie: session.cookie, 'content-type': 'application/json' }, body: BREAK_GLASS }, /this console answers only at/);
    for (const path of ['/', `/?token=${slack.consoleToken}`, '/console/app.js']) {
      const answer = await expectRefused({ path, headers: { host: rebound, cookie: session.cookie } }, /this console answers only at/);
      expect(answer.text).not.toContain(slack.consoleToken);
    }
    // The right name on another port is another server: not this console's.
    await expectRefused({ path: '/console/api/workspace', headers: { host: '127.0.0.1:1', cookie: session.cookie } }, /this console answers only at/);
  });

  it('refuses to read messages, threads, the App Home, the workspace or the live stream without the token cookie', async () => {
    slack.workspace.post({ channel: 'C0ACGSOPS01', user: 'U0ONCALL', text: 'a private word' });
    const ts = slack.messages('C0ACGSOPS01').at(-1)!.ts;
    for (const path of ['workspace', 'messages?channel=C0ACGSOPS01&as=U0ONCALL', `thread?channel=C0ACGSOPS01&ts=${ts}&as=U0ONCALL`, 'home?as=U0ONCALL', 'events']) {
      const answer = await expectRefused({ path: `/console/api/${path}`, headers: { host: host() } }, /console token is missing/);
      expect(answer.text).not.toContain('a private word');
    }
    // A rebinding page reads under its own name, which never has the cookie: refused before that.
    const answer = await expectRefused({ path: '/console/api/messages?channel=C0ACGSOPS01&as=U0ONCALL', headers: { host: `rebound.example:${new URL(slack.url).port}` } }, /this console answers only at/);
    expect(answer.text).not.toContain('a private word');
  });

  it('serves the messages to the console’s own page, which holds the cookie', async () => {
    slack.workspace.post({ channel: 'C0ACGSDEPLY', user: 'U0ONCALL', text: 'seen by the page' });
    const { messages } = await session.get<{ messages: { text: string }[] }>('messages?channel=C0ACGSDEPLY&as=U0ONCALL');
    expect(messages.map((message) => message.text)).toContain('seen by the page');
  });
});

describe('where the console may listen', () => {
  it.each(['0.0.0.0', '::'])('refuses to serve the console on %s, saying why', async (address) => {
    await expect(startSlackStandIn({ botToken: 'xoxb-exposed', signingSecret: 'secret', host: address })).rejects.toThrow(/listens on loopback only and will not serve on .*act as every user of its workspace/);
  });
});
