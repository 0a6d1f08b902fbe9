/**
 * Starts the real bot (createSlackBot, real Bolt receivers) against the Slack stand-in, in HTTP or
 * Socket Mode, on loopback ports chosen by the system; the test files of bot/slack share it.
 */
import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createBotLogger } from '../../bot/logger.js';
import { createSlackBot, type SlackBot, type SlackBotOptions } from '../../bot/slack/app.js';
import type { SlackSettings } from '../../bot/slack/settings.js';
import { startSlackStandIn, type SlackStandIn, type WorkspaceSeed } from '../../bot/slack/stand-in/index.js';
import { CommandError, defineCommand, type CommandDefinition } from '../../commands/command.js';
import { help } from '../../commands/help.js';
import { createRegistry, type Registry } from '../../commands/registry.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { unusedLoopbackUrl } from './loopback.js';

export const BOT_TOKEN = 'xoxb-1000-2000-standin';
export const APP_TOKEN = 'xapp-1-A0STANDIN-3000-standin';
export const SIGNING_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const ONCALL = 'U0ONCALL';
export const OPS = 'C0ACGSOPS01';

/** Counts how often the fixture commands really ran, whatever Slack sent. */
export class RunLog {
  readonly runs: string[] = [];
  count(name: string): number {
    return this.runs.filter((run) => run === name).length;
  }
}

/**
 * `help` plus small commands that exist only here: one that answers in the channel with a
 * button, one that takes its time, one that fails inside.
 */
export function fixtureRegistry(log: RunLog, extra: CommandDefinition[] = []): Registry {
  const commands = [
    help,
    defineCommand({
      name: 'status',
      summary: 'Says all is well, in the channel, with a button that asks again',
      examples: ['status'],
      level: 'read',
      args: z.object({}),
      async run(context) {
        log.runs.push('status');
        return {
          title: 'All is well',
          tone: 'ok',
          summary: `Asked by ${context.actor.id} via ${context.origin}.`,
          blocks: [{ type: 'checks', items: [{ name: 'fixture', tone: 'ok', text: 'fine' }] }],
          actions: [
            { label: 'Ask again', command: 'status', style: 'primary' },
            { label: 'Help', command: 'help' },
          ],
        };
      },
    }),
    defineCommand({
      name: 'slow',
      summary: 'Answers after the number of milliseconds it is given',
      usage: '<ms>',
      examples: ['slow 1500'],
      level: 'read',
      positionals: ['ms'],
      args: z.object({ ms: z.coerce.number().int().min(0).max(10_000) }),
      async run(_context, { ms }) {
        log.runs.push('slow');
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { title: `Slept ${ms} ms`, tone: 'ok', blocks: [] };
      },
    }),
    defineCommand({
      name: 'explode',
      summary: 'Fails inside, as a bug would',
      examples: ['explode'],
      level: 'read',
      args: z.object({}),
      async run() {
        log.runs.push('explode');
        throw new Error('connecting to postgres://acgs:hunter2@db:5432/acgs failed (PGPASSWORD=hunter2)');
      },
    }),
    defineCommand({
      name: 'refuse',
      summary: 'Fails with a message meant for people',
      examples: ['refuse'],
      level: 'read',
      args: z.object({}),
      async run() {
        log.runs.push('refuse');
        throw new CommandError('The fixture refuses <politely> & firmly.', 'Try `status`.', 'refused');
      },
    }),
    ...extra,
  ] as CommandDefinition[];
  return createRegistry(commands);
}

/** The bot's token on the stand-in's Web API, retrying briefly as the bot's own writers do. */
export function standInClient(standIn: SlackStandIn): WebClient {
  return new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 2, minTimeout: 50, maxTimeout: 1000 } });
}

export interface BotUnderTest {
  bot: SlackBot;
  standIn: SlackStandIn;
  port: number;
  baseUrl: string;
  log: RunLog;
  logLines: Array<Record<string, unknown>>;
  /** A counter's value for the given labels (0 when never incremented). */
  metric(name: keyof SlackBot['metrics'], labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface StartOptions {
  mode: 'http' | 'socket';
  registry?: (log: RunLog) => Registry;
  redis?: Redis;
  ledgerPrefix?: string;
  workspace?: WorkspaceSeed;
  /** Overrides the bot's tokens, for start-up failures. */
  botToken?: string;
  appToken?: string;
  botOverrides?: Partial<SlackBotOptions>;
}

export async function startBotWithStandIn(options: StartOptions): Promise<BotUnderTest> {
  const standIn = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    ...(options.mode === 'socket' ? { appToken: APP_TOKEN, transport: 'socket' as const } : { signingSecret: SIGNING_SECRET, transport: 'http' as const }),
    ...(options.workspace ? { workspace: options.workspace } : {}),
  });
  const log = new RunLog();
  const logLines: Array<Record<string, unknown>> = [];
  const logger = createBotLogger({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const common = { botToken: options.botToken ?? BOT_TOKEN, apiUrl: standIn.apiUrl, port: 0 };
  const settings: SlackSettings =
    options.mode === 'socket' ? { ...common, mode: 'socket', appToken: options.appToken ?? APP_TOKEN } : { ...common, mode: 'http', signingSecret: SIGNING_SECRET };
  const unused = await unusedLoopbackUrl();
  const bot = createSlackBot({
    settings,
    registry: (options.registry ?? ((runLog) => fixtureRegistry(runLog)))(log),
    services: createCommandPathDependencies({
      endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused },
      checkTimeoutMs: 500,
    }),
    logger,
    defaultMetrics: false,
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.ledgerPrefix ? { ledgerPrefix: options.ledgerPrefix } : {}),
    ...options.botOverrides,
  });
  let port: number;
  try {
    ({ port } = await bot.start());
  } catch (error) {
    await standIn.close();
    throw error;
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  if (options.mode === 'http') standIn.setBotEventsUrl(`${baseUrl}/slack/events`);
  return {
    bot,
    standIn,
    port,
    baseUrl,
    log,
    logLines,
    async metric(name, labels = {}) {
      const metric = bot.metrics[name] as { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number; metricName?: string }> }> };
      const { values } = await metric.get();
      const matching = values.filter((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted));
      // Histograms: the _count series tells how many observations.
      const counts = matching.filter((value) => value.metricName?.endsWith('_count'));
      return (counts.length > 0 ? counts : matching.filter((value) => !value.metricName || !/_(bucket|sum)$/.test(value.metricName))).reduce((total, value) => total + value.value, 0);
    },
    async close() {
      await bot.stop();
      await standIn.close();
    },
  };
}

/** Plain text of every text object in some blocks, for assertions about what a person reads. */
export function blockText(blocks: unknown): string {
  const texts: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') texts.push(inner);
        else walk(inner);
      }
    }
  };
  walk(blocks);
  return texts.join('\n');
}
