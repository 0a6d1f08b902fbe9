/**
 * The bot process of `npm run bench:authz`'s click-to-action phase, in a process of its own as
 * deployed: wired as bot/main.ts wires it (the audit trail and the approval store on one pool of
 * the database, the delivery ledger and approval signals in Redis, the authorization gate reading
 * the Policy Engine's modes), with createSlackBot's HTTP receiver talking to the parent's Slack
 * stand-in. Started with `fork` and its settings as JSON in argv[2]; tells the parent its port, and
 * for every `cache clear` run as approved, the moment its handler started (wall clock in ms with
 * fractions: performance.timeOrigin + performance.now(), comparable across processes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApprovalStore, migrateApprovalStore, redisApprovalSignals } from '../bot/approvals/index.js';
import { createSlackBot } from '../bot/slack/app.js';
import type { CommandDefinition } from '../commands/command.js';
import { loadCommandGate, openCommandTrail } from '../bot/command-path/index.js';
import { createCommandRegistry } from '../commands/index.js';
import { createRegistry } from '../commands/registry.js';
import { createCommandPathDependencies } from '../bot/command-path/index.js';

export interface ClickBotSettings {
  apiUrl: string;
  botToken: string;
  signingSecret: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  policyEngineUrl: string;
  adminToken: string;
  roles: Record<string, string[]>;
  poolMax: number;
}

export type ClickBotMessage = { ready: { port: number } } | { runStarted: number };

const settings = JSON.parse(process.argv[2] ?? '{}') as ClickBotSettings;
const send = (message: ClickBotMessage) => process.send?.(message);

/** The full registry; `cache clear` reports when its handler starts as approved. */
function registry() {
  return createRegistry(
    createCommandRegistry()
      .list()
      .map((command): CommandDefinition => {
        if (command.name !== 'cache clear') return command;
        return {
          ...command,
          run: (context, args) => {
            if (context.origin === 'approval') send({ runStarted: performance.timeOrigin + performance.now() });
            return command.run(context, args);
          },
        } as CommandDefinition;
      }),
  );
}

const stateDir = mkdtempSync(join(tmpdir(), 'acgs-bench-click-bot-'));
const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 2 });
const trail = await openCommandTrail({ databaseUrl: settings.databaseUrl, poolMax: settings.poolMax, stateDir, instances: ['bench'], applicationName: 'acgs-bench-click-bot' });
await migrateApprovalStore(trail.pool);
const signals = redisApprovalSignals(redis, { channel: `${settings.redisPrefix}approvals` });
const approvals = createApprovalStore({ pool: trail.pool, signals });
const base = createCommandPathDependencies({
  endpoints: { 'policy-engine': settings.policyEngineUrl, 'audit-engine': 'http://127.0.0.1:9', 'evolution-oversight': 'http://127.0.0.1:9', 'sandbox-controller': 'http://127.0.0.1:9' },
  adminToken: settings.adminToken,
});
const { gate } = await loadCommandGate({ config: { roles: settings.roles }, services: base });
const bot = createSlackBot({
  settings: { mode: 'http', botToken: settings.botToken, signingSecret: settings.signingSecret, apiUrl: settings.apiUrl, port: 0 },
  registry: registry(),
  services: { ...base, authorization: gate, trail: trail.trail, approvals },
  logger: pino({ level: 'warn' }),
  redis,
  ledgerPrefix: `${settings.redisPrefix}delivery:`,
  defaultMetrics: false,
});
const { port } = await bot.start();
send({ ready: { port } });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await bot.stop().catch(() => undefined);
  await signals.close().catch(() => undefined);
  await trail.close();
  redis.disconnect();
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
