/**
 * The console as `npm start` serves it: the stand-in mounted on the real bot's own HTTP server
 * (next to /slack/events, /health, /metrics), the real command registry, seen in Chromium. The
 * services are unreachable here, so `health` must say so rather than hang.
 */
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { createCommandRegistry } from '../../../commands/index.js';
import { createCommandPathDependencies } from '../../command-path/index.js';
import { createSlackBot, type SlackBot } from '../app.js';
import { createSlackStandIn, type SlackStandIn } from '../stand-in/index.js';
import { launchHeadlessChromium, type HeadlessChromium } from './headless-chromium.js';

const BOT_TOKEN = 'xoxb-console-with-bot';
const SIGNING_SECRET = 'console-with-bot-signing-secret';

let standIn: SlackStandIn;
let bot: SlackBot;
let browser: HeadlessChromium;
let page: Page;
let baseUrl: string;

beforeAll(async () => {
  // The bot checks its token against the stand-in while starting, so the URL is needed first.
  baseUrl = await unusedLoopbackUrl();
  standIn = createSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, publicUrl: baseUrl, botEventsUrl: `${baseUrl}/slack/events` });
  const unused = await unusedLoopbackUrl();
  bot = createSlackBot({
    settings: { mode: 'http', botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: standIn.apiUrl, port: Number(new URL(baseUrl).port) },
    registry: createCommandRegistry(),
    services: createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    extraListener: standIn.requestListener,
    upgradeHandler: standIn.upgrade,
  });
  await bot.start();
  browser = await launchHeadlessChromium();
  page = browser.page;
  await page.goto(standIn.consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
  await bot?.stop();
  await standIn?.close();
});

async function send(text: string): Promise<void> {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

describe('the console on the bot’s own port', () => {
  it('shares the port with the bot: /health answers next to the console', async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect(await (await fetch(`${baseUrl}/`)).text()).toContain('ACGS local Slack console');
  });

  it('shows /acgs help from the real registry, listing the commands', async () => {
    await send('/acgs help');
    const reply = page.locator('#messages article.message').last();
    await expect.poll(async () => (await reply.textContent()) ?? '', { timeout: 10_000 }).toContain('health');
    const text = (await reply.textContent()) ?? '';
    for (const command of ['metrics', 'violations', 'audit verify']) expect(text).toContain(command);
  });

  it('answers /acgs health with one line per service, failed because nothing listens', async () => {
    await send('/acgs health');
    await expect
      .poll(async () => (await page.locator('#messages article.message').allTextContents()).join('\n'), { timeout: 15_000 })
      .toMatch(/policy-engine[\s\S]*audit-engine|audit-engine[\s\S]*policy-engine/);
    const rendered = (await page.locator('#messages article.message').allTextContents()).join('\n');
    expect(rendered).toContain('sandbox-controller');
    expect(rendered).toContain('evolution-oversight');
    expect(standIn.calls().filter((call) => !call.ok)).toEqual([]);
  });

  it('ran without a script error in the page', () => {
    expect(browser.pageErrors).toEqual([]);
  });
});
