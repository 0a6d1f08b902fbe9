/**
 * The bot in HTTP mode, driven through Bolt's real HTTPReceiver on our own server by the Slack
 * stand-in: signed slash commands, mentions, button clicks, App Home, retries and bad requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockText, ONCALL, OPS, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

let t: BotUnderTest;

beforeAll(async () => {
  t = await startBotWithStandIn({
    mode: 'http',
    workspace: {
      channels: [
        { id: OPS, name: 'acgs-ops' },
        { id: 'C0NOTMEMBER', name: 'elsewhere', botIsMember: false },
      ],
    },
  });
});

afterAll(async () => {
  await t?.close();
});

const ephemeralFor = (text: string) => () =>
  t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).find((message) => message.visibleTo === ONCALL && blockText(message.blocks).includes(text));

describe('slash commands over HTTP', () => {
  it('acknowledges a signed /acgs help at once and then answers privately through the response_url', async () => {
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'help' });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    const answer = await t.standIn.waitFor(ephemeralFor('ACGS ChatOps commands'), 5000, 'the help reply');
    expect(answer.responseType).toBe('ephemeral');
    expect(blockText(answer.blocks)).toContain('status');
    expect(await t.metric('commands', { command: 'help', origin: 'slash' })).toBeGreaterThanOrEqual(1);
  });

  it('answers in the channel for a document that is not ephemeral', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    const answer = await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('All is well')), 5000, 'the status reply');
    expect(answer.visibleTo).toBeUndefined();
    expect(answer.responseType).toBe('in_channel');
    expect(blockText(answer.blocks)).toContain(`Asked by ${ONCALL} via slash.`);
  });

  it('acks a slow command before the command finishes and answers when it does', async () => {
    const before = t.log.count('slow');
    const started = Date.now();
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'slow 1500' });
    const ackedAfter = Date.now() - started;
    expect(reply.status).toBe(200);
    expect(ackedAfter).toBeLessThan(1500);
    expect(t.standIn.messages(OPS).some((message) => blockText(message.blocks).includes('Slept 1500 ms'))).toBe(false);
    await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('Slept 1500 ms')), 5000, 'the slow reply');
    expect(t.log.count('slow')).toBe(before + 1);
  });

  it('answers an unknown command privately with the closest known one, running nothing', async () => {
    const runs = t.log.runs.length;
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'stauts' });
    const answer = await t.standIn.waitFor(ephemeralFor('`stauts` is not a command.'), 5000, 'the unknown-command reply');
    expect(blockText(answer.blocks)).toContain('Did you mean `status`?');
    expect(t.log.runs.length).toBe(runs);
    expect(await t.metric('commands', { command: 'unknown', outcome: 'rejected' })).toBeGreaterThanOrEqual(1);
  });

  it('decodes what Slack escaped in the text and escapes it again in the answer', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'help &lt;!channel&gt; &amp;' });
    const answer = await t.standIn.waitFor(ephemeralFor('!channel'), 5000, 'the help reply');
    const text = blockText(answer.blocks);
    expect(text).toContain('`&lt;!channel&gt; &amp;` is not a command.');
    expect(text).not.toContain('<!channel>');
  });

  it('shows an argument error privately with the usage line, running nothing', async () => {
    const before = t.log.count('slow');
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'slow forever' });
    const answer = await t.standIn.waitFor(ephemeralFor('Invalid arguments for `slow`'), 5000, 'the usage reply');
    expect(blockText(answer.blocks)).toContain('Usage: `slow &lt;ms&gt;`');
    expect(t.log.count('slow')).toBe(before);
  });

  it.each([
    ['a missing argument', 'slow', 'Invalid arguments for `slow`: ms:'],
    ['an extra argument', 'status now please', '`status` takes no arguments; unexpected `now` `please`.'],
    ['an absurd number', 'slow 99999999', 'Invalid arguments for `slow`: ms:'],
    ['a negative number', 'slow -5', '`-5` is not allowed here: numbers must not be negative.'],
    ['an unknown option', 'status --force', '`--force` is not an option of `status`; it takes no options.'],
    ['a line over the length limit', `status ${'x'.repeat(1200)}`, 'characters long; the limit is 1000.'],
  ])('answers %s privately with what to do, running nothing', async (_what, line, expected) => {
    const runs = t.log.runs.length;
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: line });
    const answer = await t.standIn.waitFor(ephemeralFor(expected), 5000, `the answer to "${line.slice(0, 40)}"`);
    expect(answer.responseType).toBe('ephemeral');
    expect(t.log.runs.length).toBe(runs);
  });

  it('treats an empty /acgs as /acgs help', async () => {
    const helpReplies = () => t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).filter((message) => blockText(message.blocks).includes('ACGS ChatOps commands')).length;
    const before = helpReplies();
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: '' });
    await t.standIn.waitFor(() => helpReplies() === before + 1, 5000, 'another help reply');
  });

  it('shows a command’s refusal privately in its own words', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'refuse' });
    const answer = await t.standIn.waitFor(ephemeralFor('The fixture refuses'), 5000, 'the refusal');
    expect(blockText(answer.blocks)).toContain('The fixture refuses &lt;politely&gt; &amp; firmly.');
  });

  it('shows only a reference for an internal error and logs the cause under it, with its password redacted', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'explode' });
    const answer = await t.standIn.waitFor(ephemeralFor('explode: internal error'), 5000, 'the internal error reply');
    const text = blockText(answer.blocks);
    const reference = /Reference ([0-9a-f]{8})/.exec(text)?.[1];
    expect(reference).toBeDefined();
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    const logged = t.logLines.find((line) => line.reference === reference);
    expect(logged?.msg).toBe('command failed with an internal error');
    // The cause is there to debug (where it failed), its secret is not.
    expect(JSON.stringify(logged)).toContain('postgres://acgs:[redacted]@db:5432/acgs');
    expect(JSON.stringify(t.logLines)).not.toContain('hunter2');
  });
});

describe('requests Slack did not sign correctly', () => {
  it('refuses a bad signature with 401 and runs nothing', async () => {
    const runs = t.log.runs.length;
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { badSignature: true });
    expect(reply.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.log.runs.length).toBe(runs);
  });

  it('refuses a request without a signature with 401', async () => {
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { unsigned: true });
    expect(reply.status).toBe(401);
  });

  it('refuses a correctly signed but stale request (ten minutes old) with 401 and runs nothing', async () => {
    const runs = t.log.runs.length;
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { timestampSkewS: -600 });
    expect(reply.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.log.runs.length).toBe(runs);
  });

  it('refuses a correctly signed request stamped ten minutes in the future with 401 and a message, runs nothing and logs it', async () => {
    const runs = t.log.runs.length;
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { timestampSkewS: 600 });
    expect(reply.status).toBe(401);
    expect((reply.body as { error: string }).error).toMatch(/^X-Slack-Request-Timestamp is 60\d s ahead of this server's clock \(at most 300 s are accepted\)/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.log.runs.length).toBe(runs);
    expect(t.logLines.some((line) => line.msg === 'Slack request refused before Bolt: nothing was run')).toBe(true);
  });

  it('accepts a correctly signed request stamped four minutes ahead (clock skew within the window)', async () => {
    const before = t.log.count('status');
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { timestampSkewS: 240 });
    expect(reply.status).toBe(200);
    await t.standIn.waitFor(() => t.log.count('status') > before || undefined, 5000, 'the status command to run');
  });

  it('refuses a content type Slack never sends with 415 and a message, running nothing', async () => {
    const runs = t.log.runs.length;
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { contentType: 'text/plain' });
    expect(reply.status).toBe(415);
    expect(reply.body).toEqual({ error: 'content type text/plain is not one Slack sends: use application/x-www-form-urlencoded or application/json' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.log.runs.length).toBe(runs);
  });

  it('accepts the right content type with a charset parameter', async () => {
    const before = t.log.count('status');
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' }, { contentType: 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(reply.status).toBe(200);
    await t.standIn.waitFor(() => t.log.count('status') === before + 1, 5000, 'the status command to run');
  });

  it('answers other methods on /slack/events with 405', async () => {
    const response = await fetch(`${t.baseUrl}/slack/events`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('retries and repeated deliveries', () => {
  it('does not run a command again when Slack retries it with X-Slack-Retry-Num', async () => {
    const before = t.log.count('status');
    const duplicates = await t.metric('duplicateDeliveries', { kind: 'command' });
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    await t.standIn.waitFor(() => t.log.count('status') === before + 1, 5000, 'the first run');
    const retry = await reply.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
    expect(retry.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(t.log.count('status')).toBe(before + 1);
    expect(await t.metric('duplicateDeliveries', { kind: 'command' })).toBe(duplicates + 1);
    expect(await t.metric('retriesReceived', { kind: 'command' })).toBeGreaterThanOrEqual(1);
  });

  it('runs the same event envelope once when it arrives twice', async () => {
    const before = t.log.count('status');
    const reply = await t.standIn.mention({ userId: ONCALL, channelId: OPS, text: 'status' });
    expect(reply.status).toBe(200);
    await t.standIn.waitFor(() => t.log.count('status') === before + 1, 5000, 'the mention to run');
    const again = await reply.redeliver();
    expect(again.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(t.log.count('status')).toBe(before + 1);
  });
});

describe('mentions, buttons and the App Home', () => {
  it('runs "@acgs status" and answers in the thread of the mention', async () => {
    const reply = await t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${t.standIn.workspace.bot.userId}> status` });
    const ts = reply.message.ts;
    const answer = await t.standIn.waitFor(() => t.standIn.thread(OPS, ts).find((message) => message.ts !== ts), 5000, 'the threaded answer');
    expect(blockText(answer.blocks)).toContain(`Asked by ${ONCALL} via mention.`);
  });

  it('answers "@acgs help" privately in the thread', async () => {
    const reply = await t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${t.standIn.workspace.bot.userId}> help` });
    const ts = reply.message.ts;
    const answer = await t.standIn.waitFor(() => t.standIn.thread(OPS, ts, ONCALL).find((message) => message.ts !== ts), 5000, 'the private answer');
    expect(answer.visibleTo).toBe(ONCALL);
    expect(blockText(answer.blocks)).toContain('ACGS ChatOps commands');
  });

  it('runs the command a button carries and answers in the thread of the button’s message', async () => {
    const before = t.log.count('status');
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'status' });
    const message = await t.standIn.waitFor(() => t.standIn.messages(OPS).filter((m) => blockText(m.blocks).includes('All is well')).at(-1), 5000, 'the status message');
    await t.standIn.waitFor(() => t.log.count('status') === before + 1, 5000, 'the first run');
    const click = await t.standIn.clickButton({ userId: 'U0APPROVER1', channelId: OPS, messageTs: message.ts, actionId: 'acgs_run_0' });
    expect(click.status).toBe(200);
    const answer = await t.standIn.waitFor(() => t.standIn.thread(OPS, message.ts).find((m) => m.ts !== message.ts), 5000, 'the threaded button answer');
    expect(blockText(answer.blocks)).toContain('Asked by U0APPROVER1 via button.');
    expect(t.log.count('status')).toBe(before + 2);
  });

  it('publishes the App Home with the stack status and the commands', async () => {
    await t.standIn.openHome(ONCALL);
    const home = await t.standIn.waitFor(() => t.standIn.home(ONCALL), 5000, 'the App Home view');
    const text = blockText(home.view.blocks);
    expect(text).toContain('Stack health');
    expect(text).toContain('policy-engine');
    expect(text).toContain('Commands you can run');
    expect(text).toContain('*/acgs slow &lt;ms&gt;*');
  });

  it('waits out a 429 for its Retry-After and still answers, counting the wait', async () => {
    t.standIn.rateLimitNext('chat.postMessage', 1, 1);
    const reply = await t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${t.standIn.workspace.bot.userId}> status` });
    const ts = reply.message.ts;
    await t.standIn.waitFor(() => t.standIn.thread(OPS, ts).find((message) => message.ts !== ts), 8000, 'the answer after the rate limit');
    expect(t.standIn.rateLimitedCount('chat.postMessage')).toBe(1);
    expect(await t.metric('rateLimitWaits', { method: 'chat.postMessage' })).toBe(1);
    expect(await t.metric('rateLimitWaitSeconds', { method: 'chat.postMessage' })).toBe(1);
  });

  it('logs a failed Slack call under a reference, counts it, and keeps serving', async () => {
    await t.standIn.postUserMessage({ userId: ONCALL, channelId: 'C0NOTMEMBER', text: `<@${t.standIn.workspace.bot.userId}> status` });
    const logged = await t.standIn.waitFor(() => t.logLines.find((line) => line.msg === 'Slack listener failed'), 5000, 'the error log line');
    expect(logged.reference).toMatch(/^[0-9a-f]{8}$/);
    expect(await t.metric('slackApiErrors', { method: 'chat.postMessage', error: 'not_in_channel' })).toBe(1);
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'help' });
    expect(reply.status).toBe(200);
  });
});

describe('health and metrics over HTTP mode', () => {
  it('answers GET /health with the mode', async () => {
    const response = await fetch(`${t.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'http' });
  });

  it('serves Prometheus metrics: commands by name and outcome, ack latency, Slack API errors, rate-limit waits', async () => {
    const response = await fetch(`${t.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/acgs_bot_commands_total\{command="help",outcome="info",origin="slash",service="acgs-bot"\} \d+/);
    expect(text).toMatch(/acgs_bot_ack_latency_seconds_count\{service="acgs-bot",kind="command"\} [1-9]\d*/);
    expect(text).toContain('acgs_bot_slack_api_errors_total');
    expect(text).toContain('acgs_bot_slack_rate_limited_total');
  });

  it('answers unknown paths with 404 when no console is mounted', async () => {
    const response = await fetch(`${t.baseUrl}/console/`);
    expect(response.status).toBe(404);
  });
});
