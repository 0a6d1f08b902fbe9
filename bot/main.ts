/**
 * `npm start`: the bot, always; the local stack when no Docker stack is found (ACGS_STACK forces
 * one); the local Slack console on the bot's port when no Slack settings are given.
 */
import { randomBytes } from 'node:crypto';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { createCommandRegistry } from '../commands/index.js';
import { mayRunInterim, roleDirectoryFromConfig } from '../commands/roles.js';
import { commandServicesFromEnv } from '../commands/services-env.js';
import { SERVICE_NAMES } from '../services/kit/constitution.js';
import { startLocalServices, type LocalServices } from '../services/local-services.js';
import { createLocalStack } from '../services/stack/local-stack.js';
import { selectStack } from '../services/stack/select-stack.js';
import { loadBotConfig } from './config.js';
import { createSlackBot } from './slack/app.js';
import { DEFAULT_BOT_PORT, parseSlackSettings, slackRequested, type SlackSettings } from './slack/settings.js';
import { createSlackStandIn, type SlackStandIn } from './slack/stand-in/index.js';

const env = process.env;
const logger = pino({ name: 'acgs-bot', level: env.LOG_LEVEL ?? 'info' });
const say = (line: string) => console.log(`[acgs] ${line}`);

/**
 * Roles of the console's people when no config file names any: the on-call engineer and two
 * approvers, one of whom administers, so that every command can be tried locally.
 */
const CONSOLE_ROLES = { oncall: ['U0ONCALL'], approvers: ['U0APPROVER1', 'U0APPROVER2'], admins: ['U0APPROVER1'] };

/** The console plays a workspace whose tokens exist only in this process. */
function consoleSettings(port: number): { settings: SlackSettings; standIn: SlackStandIn } {
  const botToken = `xoxb-local-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(24).toString('hex');
  const publicUrl = `http://127.0.0.1:${port}`;
  const standIn = createSlackStandIn({ botToken, signingSecret, publicUrl, botEventsUrl: `${publicUrl}/slack/events` });
  return { settings: { mode: 'http', botToken, signingSecret, apiUrl: `${publicUrl}/api/`, port }, standIn };
}

function consolePort(): number {
  const port = Number(env.PORT ?? DEFAULT_BOT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number (got "${env.PORT}")`);
  return port;
}

let local: LocalServices | undefined;

async function main(): Promise<void> {
  // Validated before anything starts, so that a bad file stops the start.
  const config = loadBotConfig(env.ACGS_CONFIG);
  const useConsole = !slackRequested(env);
  const roles = roleDirectoryFromConfig(useConsole && Object.keys(config.roles).length === 0 ? CONSOLE_ROLES : config.roles);
  const { settings, standIn } = useConsole ? consoleSettings(consolePort()) : { settings: parseSlackSettings(env), standIn: undefined };

  const { stack, reason } = await selectStack({
    env,
    local: async () => {
      say('starting the local stack (four supervised processes)');
      local = await startLocalServices({ log: say });
      return createLocalStack({ processes: local.processes });
    },
  });
  say(`stack: ${stack.kind}, because ${reason}`);
  // After the stack: the local one writes the admin token file these services read.
  const { services: fromEnv, close: closeServices } = commandServicesFromEnv(env);
  const services = { ...fromEnv, stack, roles };
  const redis = services.redis;

  const bot = createSlackBot({
    settings,
    registry: createCommandRegistry(),
    services,
    logger,
    ...(redis ? { redis } : {}),
    ...(env.BOT_HOST ? { host: env.BOT_HOST } : {}),
    ...(standIn ? { extraListener: standIn.requestListener, upgradeHandler: standIn.upgrade } : {}),
    mayRun: (userId, command) => mayRunInterim(command, roles.rolesOf(userId)),
  });

  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else say(`${signal}: stopping`);
    await bot.stop().catch((error: unknown) => logger.warn({ err: error }, 'bot stop failed'));
    await standIn?.close().catch(() => undefined);
    await stack.close().catch(() => undefined);
    await local?.stop();
    await closeServices();
  });

  const { port } = await bot.start();
  if (local) {
    for (const service of SERVICE_NAMES) say(`  ${local.ready[service] ? 'up  ' : 'DOWN'}  ${service.padEnd(20)} ${local.endpoints[service]}`);
    say(`admin token: ${local.adminTokenFile ?? 'from ACGS_ADMIN_TOKEN'}`);
  }
  say(`bot: ${settings.mode === 'socket' ? 'Socket Mode' : 'HTTP'} on http://127.0.0.1:${port} (/health, /metrics${settings.mode === 'http' ? ', /slack/events' : ''})`);
  if (standIn) say(`local Slack console: http://127.0.0.1:${port}  (type /acgs help)`);
}

main().catch(async (error: unknown) => {
  console.error(`[acgs] could not start: ${(error as Error).message}`);
  await local?.stop().catch(() => undefined);
  process.exit(1);
});
