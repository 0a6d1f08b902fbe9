/** response_url semantics as Slack has them, driven the way a bot uses them: POSTing JSON. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_URL_LIFETIME_MS, startSlackStandIn, type SlackStandIn } from './index.js';

const OPS = 'C0ACGSOPS01';
let slack: SlackStandIn;
let bot: Server;
const forms: Record<string, string>[] = [];

beforeAll(async () => {
  // A bare bot that only acks and remembers what it got, so each test can use the response_url.
  bot = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const form = Object.fromEntries(new URLSearchParams(body));
      forms.push(form.payload ? (JSON.parse(form.payload) as Record<string, string>) : form);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
  const { port } = bot.address() as AddressInfo;
  slack = await startSlackStandIn({ botToken: 'xoxb-response-url-test', signingSecret: 'secret', botEventsUrl: `http://127.0.0.1:${port}/slack/events`, console: false });
});
afterAll(async () => {
  await slack.close();
  await new Promise<void>((resolve) => bot.close(() => resolve()));
});

async function commandResponseUrl(userId = 'U0ONCALL'): Promise<string> {
  await slack.slashCommand({ userId, channelId: OPS, text: 'health' });
  return forms.at(-1)!.response_url!;
}

async function respond(url: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const texts = (viewer?: string) => slack.messages(OPS, viewer ? { includeEphemeralFor: viewer } : {}).map((message) => message.text);

describe('response_url', () => {
  it('posts an ephemeral reply for the person who ran the command by default', async () => {
    const url = await commandResponseUrl('U0ONCALL');
    expect(await respond(url, { text: 'only you see this' })).toEqual({ status: 200, json: { ok: true } });
    expect(texts('U0ONCALL')).toContain('only you see this');
    expect(texts('U0APPROVER1')).not.toContain('only you see this');
  });

  it('posts for everyone with response_type in_channel', async () => {
    const url = await commandResponseUrl();
    await respond(url, { response_type: 'in_channel', text: 'everyone sees this' });
    expect(texts()).toContain('everyone sees this');
    expect(slack.messages(OPS).find((message) => message.text === 'everyone sees this')?.user).toBe('U0ACGSBOT');
  });

  it('posts into a thread with thread_ts', async () => {
    const url = await commandResponseUrl();
    await respond(url, { response_type: 'in_channel', text: 'parent' });
    const parent = slack.messages(OPS).find((message) => message.text === 'parent')!;
    await respond(url, { response_type: 'in_channel', text: 'child', thread_ts: parent.ts });
    expect(slack.thread(OPS, parent.ts).map((message) => message.text)).toEqual(['parent', 'child']);
  });

  it('replaces the clicked message with replace_original and deletes it with delete_original', async () => {
    const first = await commandResponseUrl();
    await respond(first, { response_type: 'in_channel', text: 'pick one', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'pick', text: { type: 'plain_text', text: 'Pick' } }] }] });
    const original = slack.messages(OPS).find((message) => message.text === 'pick one')!;

    await slack.clickButton({ userId: 'U0APPROVER1', channelId: OPS, actionId: 'pick', messageTs: original.ts });
    const click = forms.at(-1) as unknown as { response_url: string; container: { message_ts: string } };
    expect(click.container.message_ts).toBe(original.ts);
    await respond(click.response_url, { replace_original: true, text: 'picked' });
    expect(slack.thread(OPS, original.ts)[0]).toMatchObject({ text: 'picked', blocks: [] });

    await respond(click.response_url, { delete_original: true });
    expect(slack.messages(OPS).map((message) => message.ts)).not.toContain(original.ts);
  });

  it('works five times, then answers used_url and posts nothing', async () => {
    const url = await commandResponseUrl();
    for (let use = 1; use <= 5; use += 1) expect((await respond(url, { text: `use ${use}` })).status).toBe(200);
    expect(await respond(url, { text: 'use 6' })).toEqual({ status: 404, json: { ok: false, error: 'used_url' } });
    expect(texts('U0ONCALL')).not.toContain('use 6');
  });

  it('expires after thirty minutes', async () => {
    const url = await commandResponseUrl();
    const realNow = slack.responseUrls.now;
    slack.responseUrls.now = () => realNow() + RESPONSE_URL_LIFETIME_MS + 1000;
    try {
      expect(await respond(url, { text: 'too late' })).toEqual({ status: 404, json: { ok: false, error: 'expired_url' } });
    } finally {
      slack.responseUrls.now = realNow;
    }
    expect(texts('U0ONCALL')).not.toContain('too late');
  });

  it('refuses invalid blocks with 400 invalid_blocks and posts nothing', async () => {
    const url = await commandResponseUrl();
    const answer = await respond(url, { text: 'bad', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ ok: false, error: 'invalid_blocks', errors: [expect.stringContaining('header text must be at most 150 characters')] });
    expect(texts('U0ONCALL')).not.toContain('bad');
  });

  it('refuses a body that is not JSON, and a URL it never issued', async () => {
    const url = await commandResponseUrl();
    expect(await respond(url, 'text=hello', 'application/x-www-form-urlencoded')).toEqual({ status: 400, json: { ok: false, error: 'invalid_payload' } });
    expect(await respond(`${slack.url}/response/0000`, { text: 'x' })).toEqual({ status: 404, json: { ok: false, error: 'invalid_url' } });
  });
});
