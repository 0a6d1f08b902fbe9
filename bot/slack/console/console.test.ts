/**
 * The local Slack console in a real headless Chromium (Debian's chromium, driven by
 * playwright-core), against the stand-in and a real Bolt app behind its HTTP receiver. The app
 * here is a minimal one written for this test, so the console is checked on its own terms: it
 * renders what any app sends and passes on what a person does.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latencyChart, renderChart } from '../../reports/charts/index.js';
import { minutesOfDay } from '../../reports/charts/testing/chart-data.js';
import { uploadFile } from '../file-upload.js';
import { startSlackStandIn, type SlackStandIn } from '../stand-in/index.js';
import { launchHeadlessChromium, type HeadlessChromium } from './headless-chromium.js';

const BOT_TOKEN = 'xoxb-console-test';
const SIGNING_SECRET = 'console-test-signing-secret';
/** What a hostile service name looks like after the bot escaped it, as Slack text must be. */
const HOSTILE = '&lt;img src=x onerror="document.body.dataset.owned=1"&gt;';

let slack: SlackStandIn;
let app: App;
let browser: HeadlessChromium;
let page: Page;
const commandsSeen: string[] = [];

function healthBlocks() {
  return [
    { type: 'header', text: { type: 'plain_text', text: 'Stack health' } },
    { type: 'section', text: { type: 'mrkdwn', text: `*All services up* for <@U0ONCALL> in <#C0ACGSOPS01>, service ${HOSTILE}` }, fields: [{ type: 'mrkdwn', text: '*policy-engine*\n:white_check_mark: 2 ms' }, { type: 'mrkdwn', text: '*audit-engine*\n:warning: 90 ms' }] },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'hash `cdd01ef066bc6cf2`' }] },
    { type: 'divider' },
    {
      type: 'actions',
      block_id: 'health_actions',
      elements: [
        { type: 'button', action_id: 'recheck', text: { type: 'plain_text', text: 'Re-check' }, style: 'primary', value: 'health' },
        {
          type: 'button',
          action_id: 'restart',
          text: { type: 'plain_text', text: 'Restart policy-engine' },
          style: 'danger',
          value: 'restart policy-engine',
          confirm: { title: { type: 'plain_text', text: 'Restart policy-engine?' }, text: { type: 'mrkdwn', text: 'It drops *in-flight* decisions.' }, confirm: { type: 'plain_text', text: 'Restart' }, deny: { type: 'plain_text', text: 'Keep running' }, style: 'danger' },
        },
      ],
    },
  ];
}

beforeAll(async () => {
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET });
  app = new App({ token: BOT_TOKEN, signingSecret: SIGNING_SECRET, clientOptions: { slackApiUrl: slack.apiUrl }, logLevel: LogLevel.ERROR });
  app.command('/acgs', async ({ command, ack, respond }) => {
    commandsSeen.push(command.text);
    if (command.text === 'health') {
      await ack();
      await respond({ response_type: 'in_channel', text: 'Stack health', blocks: healthBlocks() });
    } else {
      await ack({ text: `Usage: \`/acgs health\` (you typed _${command.text}_)` });
    }
  });
  app.action('recheck', async ({ ack, body, respond }) => {
    await ack();
    await respond({ replace_original: true, text: `Re-checked by <@${body.user.id}>: all services up` });
  });
  app.action('restart', async ({ ack, body, client }) => {
    await ack();
    const click = body as unknown as { user: { id: string }; channel?: { id: string }; container: { message_ts: string } };
    await client.chat.postMessage({ channel: click.channel!.id, thread_ts: click.container.message_ts, text: `Restart requested by <@${click.user.id}>` });
  });
  app.event('app_mention', async ({ event, say }) => {
    await say({ text: `Hello <@${event.user}>`, thread_ts: event.ts });
  });
  app.event('app_home_opened', async ({ event, client }) => {
    await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'ACGS home' } }, { type: 'section', text: { type: 'mrkdwn', text: `Welcome <@${event.user}>` } }] } });
  });
  const server = (await app.start(0)) as Server;
  slack.setBotEventsUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);

  // No skip when the browser is missing: launching fails and says where it looked.
  browser = await launchHeadlessChromium();
  page = browser.page;
  // As a person does: the link the start printed, which sets the console's cookie.
  await page.goto(slack.consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await slack?.close();
});

async function send(text: string): Promise<void> {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

describe('the local Slack console', () => {
  it('opened from the printed link, keeps the token out of the address bar and the history', async () => {
    expect(page.url()).toBe(`${slack.url}/`);
    const cookies = await browser.context.cookies(slack.url);
    expect(cookies.map(({ name, value, httpOnly, sameSite }) => ({ name, value, httpOnly, sameSite }))).toEqual([{ name: `acgs_console_${new URL(slack.url).port}`, value: slack.consoleToken, httpOnly: true, sameSite: 'Strict' }]);
  });

  it('lists the four channels and the App Home, acting as the on-call engineer', async () => {
    expect(await page.locator('#channel-list .nav-item').allTextContents()).toEqual(['# acgs-ops', '# acgs-alerts', '# acgs-deploys', '# acgs-approvals']);
    await expect.poll(() => page.locator('#home-entry').textContent()).toContain('App Home');
    expect(await page.locator('#user-switch option').allTextContents()).toEqual(['Olivia Oncall (on-call engineer)', 'Amir Approver (approver 1)', 'Beatriz Approver (approver 2)']);
    expect(await page.inputValue('#user-switch')).toBe('U0ONCALL');
    expect(await page.locator('#thread-pane').isVisible()).toBe(false);
    expect(await page.locator('#home').isVisible()).toBe(false);
  });

  it('sends a typed /acgs command to the bot and renders its Block Kit reply', async () => {
    await send('/acgs health');
    const message = page.locator('article.message', { has: page.locator('.block-header') }).last();
    await message.waitFor();
    expect(await message.locator('.block-header h3').textContent()).toBe('Stack health');
    expect(await message.locator('.block-section strong').first().textContent()).toBe('All services up');
    expect(await message.locator('.mention').allTextContents()).toEqual(['@oncall', '#acgs-ops']);
    expect(await message.locator('.section-fields > div').allTextContents()).toEqual(['policy-engine✅ 2 ms', 'audit-engine⚠️ 90 ms']);
    expect(await message.locator('.block-context code').textContent()).toBe('cdd01ef066bc6cf2');
    expect(await message.locator('.block-divider hr').count()).toBe(1);
    expect(await message.locator('button.button-primary').textContent()).toBe('Re-check');
    expect(await message.locator('button.button-danger').textContent()).toBe('Restart policy-engine');
  });

  it('shows markup in text as text: an escaped tag stays visible and never becomes an element', async () => {
    const section = page.locator('.block-section').last();
    expect(await section.textContent()).toContain('<img src=x onerror="document.body.dataset.owned=1">');
    expect(await page.locator('#messages img').count()).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.owned)).toBeUndefined();
  });

  it('asks for confirmation in a dialog, then sends the click and shows the threaded answer', async () => {
    await page.locator('button.button-danger', { hasText: 'Restart policy-engine' }).last().click();
    const dialog = page.locator('#confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-title').textContent()).toBe('Restart policy-engine?');
    expect(await page.locator('#confirm-text strong').textContent()).toBe('in-flight');
    await page.click('#confirm-deny');
    expect(slack.calls('chat.postMessage')).toHaveLength(0);

    await page.locator('button.button-danger', { hasText: 'Restart policy-engine' }).last().click();
    await page.click('#confirm-ok');
    const replies = page.locator('.reply-link');
    await replies.waitFor();
    expect(await replies.textContent()).toBe('1 reply');
    await replies.click();
    await page.locator('#thread-messages article').nth(1).waitFor();
    expect(await page.locator('#thread-messages article').nth(1).locator('.message-text').textContent()).toBe('Restart requested by @oncall');
    expect(await page.locator('#thread-pane').isVisible()).toBe(true);
  });

  it('acts as another user after the switch: the click reaches the bot as approver 1 and the edit shows live', async () => {
    await page.selectOption('#user-switch', 'U0APPROVER1');
    await page.locator('button.button-primary', { hasText: 'Re-check' }).last().click();
    const edited = page.locator('#messages article.message', { hasText: 'Re-checked by' });
    await edited.waitFor();
    expect(await edited.locator('.message-text').textContent()).toBe('Re-checked by @approver1: all services up');
    expect(await edited.locator('.edited').textContent()).toBe('(edited)');
  });

  it("marks an ephemeral reply as only visible to you and hides it from everyone else", async () => {
    await send('/acgs nonsense');
    const ephemeral = page.locator('article.message.ephemeral').last();
    await ephemeral.waitFor();
    expect(await ephemeral.locator('.ephemeral-note').textContent()).toBe('Only visible to you');
    expect(await ephemeral.locator('.message-text code').textContent()).toBe('/acgs health');
    expect(await ephemeral.locator('.message-text em').textContent()).toBe('nonsense');
    await page.selectOption('#user-switch', 'U0ONCALL');
    await expect.poll(() => page.locator('article.message.ephemeral').count()).toBe(0);
  });

  it('turns a typed @mention of the bot into app_mention and shows the answer in a thread', async () => {
    await send('@acgs are you there?');
    const mention = page.locator('article.message', { hasText: '@acgs are you there?' });
    await mention.waitFor();
    await mention.locator('.reply-link').waitFor();
    expect(slack.calls('chat.postMessage').at(-1)).toMatchObject({ ok: true });
    expect(slack.messages('C0ACGSOPS01').some((message) => message.text === '<@U0ACGSBOT> are you there?')).toBe(true);
  });

  it('shows an uploaded chart inline with its title, served only to the console', async () => {
    const chart = await renderChart(latencyChart({ p50: minutesOfDay(() => 1), p95: minutesOfDay(() => 2), p99: minutesOfDay((minute) => (minute % 400 < 30 ? 6 : 4)) }));
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    await uploadFile(client, { channelId: 'C0ACGSOPS01', filename: chart.filename, title: chart.title, bytes: chart.png, initialComment: 'Daily report' });
    await uploadFile(client, { channelId: 'C0ACGSOPS01', filename: 'notes.txt', title: 'Notes', bytes: Buffer.from('not a picture') });

    const figure = page.locator('#messages figure.message-image').last();
    await figure.waitFor();
    const image = figure.locator('img');
    // Loaded through the console's route, at the PNG's own size.
    const loaded = await page.waitForFunction(
      "(() => { const images = document.querySelectorAll('#messages figure.message-image img'); const last = images[images.length - 1]; return last && last.complete && last.naturalWidth > 0 ? last.naturalWidth : false; })()",
      undefined,
      { timeout: 10_000 },
    );
    expect(await loaded.jsonValue()).toBe(chart.width);
    expect(await image.getAttribute('alt')).toBe('Policy Engine latency');
    expect(await figure.locator('figcaption').textContent()).toBe('Policy Engine latency');
    const message = page.locator('#messages article.message', { has: page.locator('figure.message-image') }).last();
    expect(await message.locator('.message-text').textContent()).toBe('Daily report');

    const notes = page.locator('#messages .message-file').last();
    await notes.waitFor();
    expect(await notes.textContent()).toBe('📎 Notes (notes.txt, 1 KB)');
    expect(await page.locator('#messages article.message', { has: page.locator('.message-file') }).last().locator('img').count()).toBe(0);

    // The picture is the console's like its API: not for a request without the console's cookie.
    const source = (await image.getAttribute('src'))!;
    expect((await fetch(`${slack.url}${source}`)).status).toBe(403);
    expect((await page.request.get(`${slack.url}/console/api/files/F0NOSUCH`)).status()).toBe(404);
  });

  it('answers an unknown slash command the way Slack does, without bothering the bot', async () => {
    const before = commandsSeen.length;
    await send('/deploy now');
    await page.locator('#composer-error').waitFor({ state: 'visible' });
    expect(await page.locator('#composer-error').textContent()).toContain('/deploy is not a valid command');
    expect(commandsSeen).toHaveLength(before);
  });

  it('opens the App Home, which the bot publishes on app_home_opened', async () => {
    await page.click('#home-entry');
    await page.locator('#home .block-header h3').waitFor();
    expect(await page.locator('#home .block-header h3').textContent()).toBe('ACGS home');
    expect(await page.locator('#home .mention').textContent()).toBe('@oncall');
  });

  it('renders the mrkdwn subset and refuses links that are not http(s) or mailto', async () => {
    // A string, so that the test runner's module transform leaves the browser-side import alone.
    const rendered = (await page.evaluate(`(async () => {
      const { renderMrkdwn } = await import('/console/mrkdwn.js');
      const names = { user: (id) => (id === 'U0ONCALL' ? 'oncall' : undefined), channel: (id) => (id === 'C0ACGSOPS01' ? 'acgs-ops' : undefined) };
      const html = (text) => {
        const holder = document.createElement('div');
        holder.append(renderMrkdwn(text, names));
        return holder.innerHTML;
      };
      return {
        styles: html('*bold* _italic_ ~strike~ \`code\`'),
        pre: html('\`\`\`a &lt; b\\nc\`\`\`'),
        link: html('<https://example.test/docs?a=1&amp;b=2|the docs>'),
        script: html('<javascript:alert(1)|click>'),
        mentions: html('<@U0ONCALL> <#C0ACGSOPS01> <#C0UNKNOWN|elsewhere> <!here>'),
        escaped: html('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more'),
        emoji: html(':white_check_mark: done :not_an_emoji:'),
        arithmetic: html('2*3*4 and snake_case_name'),
        lines: html('one\\ntwo'),
      };
    })()`)) as Record<string, string>;
    expect(rendered).toEqual({
      styles: '<strong>bold</strong> <em>italic</em> <del>strike</del> <code class="mrkdwn-code">code</code>',
      pre: '<pre class="mrkdwn-pre">a &lt; b\nc</pre>',
      link: '<a href="https://example.test/docs?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">the docs</a>',
      script: '&lt;javascript:alert(1)|click&gt;',
      mentions: '<span class="mention">@oncall</span> <span class="mention channel-mention">#acgs-ops</span> <span class="mention channel-mention">#elsewhere</span> <span class="mention">@here</span>',
      escaped: '&lt;script&gt;alert(1)&lt;/script&gt; &amp; more',
      emoji: '✅ done :not_an_emoji:',
      arithmetic: '2*3*4 and snake_case_name',
      lines: 'one<br>two',
    });
  });

  it('lists a channel the bot creates at once, a private one only to the people invited to it, an archived one as such', async () => {
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const navItems = () => page.locator('#channel-list .nav-item').allTextContents();
    await client.conversations.create({ name: 'inc-2026-12-07-policy-latency' });
    await expect.poll(navItems).toContain('# inc-2026-12-07-policy-latency');
    const secret = await client.conversations.create({ name: 'inc-2026-12-07-token-leak', is_private: true });
    await client.conversations.invite({ channel: secret.channel!.id!, users: 'U0APPROVER1' });
    await page.selectOption('#user-switch', 'U0APPROVER1');
    await expect.poll(navItems).toContain('🔒 inc-2026-12-07-token-leak');
    await page.selectOption('#user-switch', 'U0ONCALL');
    await expect.poll(navItems).not.toContain('🔒 inc-2026-12-07-token-leak');
    expect(await navItems()).toContain('# inc-2026-12-07-policy-latency');
    const created = slack.workspace.findChannel('inc-2026-12-07-policy-latency')!;
    await client.conversations.archive({ channel: created.id });
    await expect.poll(navItems).toContain('# inc-2026-12-07-policy-latency (archived)');
  });

  it('ran without a script error or a refused resource in the page', () => {
    expect(browser.pageErrors).toEqual([]);
  });

  // Last: these forget the cookie, as a browser does after the bot restarted with a new token.
  it('says on the open page, when its token no longer works, to open the link npm start printed', async () => {
    await page.locator('#channel-list .nav-item').first().click();
    await browser.context.clearCookies();
    await send('/acgs health');
    const problem = page.locator('#access-problem');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('open the URL npm start printed');
    expect(commandsSeen.filter((text) => text === 'health')).toHaveLength(1);
  });

  it('shows a browser without the cookie a page that says how to get in, not a bare 403', async () => {
    const response = await page.goto(slack.url);
    expect(response?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('Open the console with the link npm start printed');
    expect(await page.locator('pre').textContent()).toContain('/?token=');
    expect(await page.locator('#composer-input').count()).toBe(0);
  });
});
