/**
 * The bot wired the way `npm start` wires it (bot/main.ts), through the real Bolt HTTP receiver and
 * the Slack stand-in: the full command registry, the authorization policy (wasm) reading the real
 * Policy Engine's modes, the bot's audit trail and the approval store on one pool of a fresh
 * database of the real PostgreSQL (optionally behind a TCP proxy a test can cut), the delivery
 * ledger and approval signals in the real Redis under this run's own prefix, and the real Policy
 * Engine in-process with its Redis L2 cache under that prefix too. Used by the approval tests that
 * go through Slack and by `npm run bench:authz`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { openBotDeployments, startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import type { DeploymentRecords, NoticesPort, StepPorts } from '../../runbooks/engine/ports.js';
import type { Stack } from '../../services/stack/stack.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { noticeGroupDirectory, slackNoticeChat } from '../../bot/slack/deployment-notice-chat.js';
import { startRunMessages, type RunMessages } from '../../bot/slack/run-message-publisher.js';
import { migrateRunMessageStore } from '../../bot/slack/run-message-store.js';
import { createDeploymentNotices } from '../../bot/notices/index.js';
import { slackGateRequests } from '../../bot/slack/gate-requests.js';
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import { createApprovalStore, migrateApprovalStore, redisApprovalSignals, type ApprovalSignals, type ApprovalStore } from '../../bot/approvals/index.js';
import type { AuthorizationOverrides } from '../../bot/authorization/index.js';
import type { StandInUser } from '../../bot/slack/stand-in/workspace.js';
import { DEFAULT_USERS } from '../../bot/slack/stand-in/workspace.js';
import { policyEngineModes } from '../../bot/command-path/index.js';
import { loadCommandGate, openCommandTrail, stackModesOf, type OpenedTrail } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { Registry } from '../../commands/registry.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { createPolicyEngineClient, type PolicyEngineClient } from '../../services/clients/policy-engine.js';
import type { Service } from '../../services/kit/service.js';
import { compliantInput } from '../../services/policy-engine/testing/policy-fixtures.js';
import { blockText, OPS, type BotUnderTest, type RunLog, startBotWithStandIn } from './slack-harness.js';
import type { SlackBotOptions } from '../../bot/slack/app.js';
import { unusedLoopbackUrl } from './loopback.js';
import { POLICY_ADMIN_TOKEN, startPolicyEngine } from './policy-engine.js';
import { startPostgresProxy, type PostgresProxy } from './postgres-proxy.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { requireRedis } from './redis.js';

export interface GovernanceBotOptions {
  roles: Record<string, string[]>;
  /** The config file's `authorization:` section. */
  authorization?: AuthorizationOverrides;
  /** A TCP proxy in front of the bot's database, so that a test can cut it (test/testing/postgres-proxy.ts). */
  proxied?: boolean;
  /** People in the stand-in's workspace besides the default on-call engineer and two approvers. */
  extraUsers?: StandInUser[];
  /** The registry; the full command registry by default. */
  registry?: (log: RunLog) => Registry;
  /**
   * How long the gate may reuse the engine's modes: 0 (read on every decision) so that a test sees
   * a mode change at once; undefined keeps the bot's own cache (3 s), as the bench does.
   */
  modesTtlMs?: number;
  /** Connections of the trail's and approval store's pool (npm start: 4). */
  poolMax?: number;
  prefix?: string;
  /**
   * Runbooks for a runbook engine on the bot's database (as bot/main.ts starts it), given the
   * trail's pool (scripted runbooks write their marks there); without, the bot has no engine.
   */
  runbooks?: (pool: pg.Pool) => Promise<readonly AnyRunbook[]>;
  /** The deployment records and deploy lock on the bot's database (as bot/main.ts opens them), for this stack. */
  deploymentsFor?: Pick<Stack, 'kind' | 'description'>;
  /**
   * The stack the bot controls, as bot/main.ts with its local stack: commands, the authorization
   * gate's modes, the deployment records and the runbooks' steps talk to these services instead of
   * the in-process Policy Engine (which then only stands by).
   */
  controls?: { stack: Stack; endpoints: Record<ServiceName, string>; adminToken: string; releaseRepo?: string };
  /** The runbooks' other ports (backup, releases, deploy settings), given what commands call and the bot's database. */
  stepPorts?: (commands: NonNullable<StepPorts['commands']>, botDatabase: { pool: pg.Pool; url: string }) => Omit<StepPorts, 'commands' | 'notices' | 'deployments' | 'gates'>;
  /** Where deployment notices go through the bot's client, as bot/main.ts sends them (channels.deploys). */
  deploysChannel?: string;
  /** One message per run in the channel it was started from, kept current (bot/main.ts's run messages). */
  runMessages?: boolean;
  /** The runbook engine's onStepRecorded (bot/main.ts: the incident timeline's runs). */
  onStepRecorded?(runId: string): Promise<void>;
  /** More of the Slack bot's options (an alert store for alert buttons, the incident store). */
  botOverrides?: Partial<SlackBotOptions>;
}

export interface GovernanceBot {
  t: BotUnderTest;
  services: CommandPathDependencies;
  engine: { url: string; app: Service };
  /** The engine's client with the admin token, for reading its modes back. */
  engineClient: PolicyEngineClient;
  trail: OpenedTrail;
  approvals: ApprovalStore;
  database: TestDatabase;
  proxy: PostgresProxy | undefined;
  /** The runbook engine, when `runbooks` were given. */
  runEngine: RunbookEngine | undefined;
  /** The run messages' publisher, when `runMessages` was asked for. */
  runMessages: RunMessages | undefined;
  /** The deployment records, when `deploymentsFor` was given. */
  deployments: DeploymentRecords | undefined;
  close(): Promise<void>;
}

export async function startGovernanceBot(options: GovernanceBotOptions): Promise<GovernanceBot> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    while (cleanups.length > 0) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  };
  try {
    const redisCheck = await requireRedis();
    cleanups.push(() => redisCheck.cleanup());
    const redis = new Redis(redisCheck.url, { maxRetriesPerRequest: 2 });
    cleanups.push(() => redis.disconnect());

    const engine = await startPolicyEngine({ redis: redisCheck });
    cleanups.push(() => engine.close());
    const engineUrl = engine.url;
    const engineApp = engine.app;
    const engineClient = createPolicyEngineClient({ baseUrl: engineUrl, adminToken: POLICY_ADMIN_TOKEN, actor: 'governance-bot-test' });

    const database = await createTestDatabase(options.prefix ?? 'acgs_slack_approvals');
    cleanups.push(() => database.drop());
    let proxy: PostgresProxy | undefined;
    if (options.proxied) {
      proxy = await startPostgresProxy();
      const opened = proxy;
      cleanups.push(() => opened.close());
    }
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-governance-bot-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const trail = await openCommandTrail({
      databaseUrl: proxy ? proxy.urlFor(database.name) : database.url,
      poolMax: options.poolMax ?? 4,
      stateDir,
      instances: ['bot'],
      applicationName: 'acgs-governance-bot-test',
    });
    cleanups.push(() => trail.close());

    // As bot/main.ts: the approval store beside the trail, in the same database and pool.
    await migrateApprovalStore(trail.pool);
    const signals: ApprovalSignals = redisApprovalSignals(redis, { channel: `${redisCheck.prefix}approvals` });
    cleanups.push(() => signals.close());
    const approvals = createApprovalStore({ pool: trail.pool, signals });

    const unused = await unusedLoopbackUrl();
    const base = createCommandPathDependencies({
      endpoints: options.controls?.endpoints ?? { 'policy-engine': engineUrl, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused },
      adminToken: options.controls?.adminToken ?? POLICY_ADMIN_TOKEN,
      checkTimeoutMs: 2000,
    });
    const modes = options.modesTtlMs === undefined ? stackModesOf(base) : policyEngineModes(async () => (await base.policyEngine.metrics()).mode, { ttlMs: options.modesTtlMs });
    const { gate } = await loadCommandGate({
      config: { roles: options.roles, ...(options.authorization ? { authorization: options.authorization } : {}) },
      services: base,
      modes,
    });
    let runEngine: RunbookEngine | undefined;
    // Set once the bot is up: gate steps ask through its command path and post with its client.
    let services: CommandPathDependencies | undefined;
    let slack: BotUnderTest | undefined;
    let runMessages: RunMessages | undefined;
    let notices: NoticesPort | undefined;
    // Before the engine: its deploy steps and the commands share the records, as in bot/main.ts.
    const deploymentsStack = options.controls?.stack ?? options.deploymentsFor;
    const deployments = deploymentsStack ? await openBotDeployments({ pool: trail.pool, stack: deploymentsStack, services: base, env: { ACGS_RELEASE_REPO: options.controls?.releaseRepo } }) : undefined;
    if (options.runMessages) await migrateRunMessageStore(trail.pool);
    if (options.runbooks) {
      const commands = options.controls ? { ...base, stack: options.controls.stack } : base;
      const started = await startRunbookEngine({
        pool: trail.pool,
        trail: trail.trail,
        runbooks: await options.runbooks(trail.pool),
        ports: {
          commands,
          ...options.stepPorts?.(commands, { pool: trail.pool, url: database.url }),
          ...(deployments ? { deployments } : {}),
          ...(options.deploysChannel
            ? {
                notices: {
                  deploymentNotice: async (notice) => {
                    if (!notices) throw new Error('deployment notices are not ready: the bot is still starting');
                    return notices.deploymentNotice(notice);
                  },
                },
              }
            : {}),
        },
        ...(options.runMessages ? { onStartedInChannel: async (runId: string, channel: string) => runMessages?.publish(runId, channel) } : {}),
        ...(options.onStepRecorded ? { onStepRecorded: options.onStepRecorded } : {}),
        // A lease that outlasts the event loop's longest stall on a loaded machine: a deploy's validate
        // step starts PGlite in this process, and a 2 s lease was lost there under a loaded full run
        // ("interrupted: its runner stopped holding the run"). Takeover tests run their own executors.
        executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 },
        gateApprovals: slackGateRequests({
          execution: {
            registry: createCommandRegistry(),
            get services() {
              if (!services) throw new Error('the bot is not started yet');
              return services;
            },
          },
          approvals,
          client: () => slack?.bot.webClient,
          updateMessages: async (request) => slack?.bot.updateApprovalMessages(request),
          places: async () => [{ channel: OPS }],
        }),
      });
      runEngine = started;
      cleanups.push(() => started.stop());
    }
    services = {
      ...base,
      authorization: gate,
      trail: trail.trail,
      approvals,
      ...(runEngine ? { runs: runEngine.runs } : {}),
      ...(deployments ? { deployments } : {}),
    };

    const t = await startBotWithStandIn({
      mode: 'http',
      registry: options.registry ?? (() => createCommandRegistry()),
      redis,
      ledgerPrefix: `${redisCheck.prefix}delivery:`,
      workspace: { users: [...DEFAULT_USERS, ...(options.extraUsers ?? [])] },
      botOverrides: { ...options.botOverrides, services },
    });
    slack = t;
    cleanups.push(() => t.close());
    if (options.deploysChannel) {
      const client = t.bot.webClient;
      notices = createDeploymentNotices({ chat: slackNoticeChat(client, channelWriteQueue(client)), channels: { deploys: options.deploysChannel }, stakeholders: [], groups: noticeGroupDirectory(client) });
    }
    if (options.runMessages && runEngine) {
      const engineStarted = runEngine;
      const publisher = startRunMessages({ client: t.bot.webClient, pool: trail.pool, instance: 'bot', runs: engineStarted.store, registry: engineStarted.registry, pollMs: 200 });
      runMessages = publisher;
      // First of all cleanups: its last edits need the bot and the stand-in still up.
      cleanups.push(() => publisher.stop());
    }

    return { t, services, engine: { url: engineUrl, app: engineApp }, engineClient, trail, approvals, database, proxy, runEngine, runMessages, deployments, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The Policy Engine's own decision on an input it allows in normal operation (deny under a lockdown). */
export async function engineAllows(engineUrl: string): Promise<boolean> {
  const response = await fetch(`${engineUrl}/v1/data/acgs/main/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: compliantInput({ action: 'data.write' }) }),
  });
  if (response.status !== 200) throw new Error(`the Policy Engine answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { result: { allow: boolean } }).result.allow;
}

/** Drives the bot as people in a channel would, through the stand-in. */
export function channelPeople(t: Pick<BotUnderTest, 'standIn'>, channel = OPS) {
  const everything = (user: string) => t.standIn.messages(channel, { includeEphemeralFor: user });
  // As a person reads it: mrkdwn's escapes undone.
  const textOf = (message: { text: string; blocks?: unknown }) =>
    `${message.text}\n${blockText(message.blocks)}`.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const seenBeforeClick = new Map<string, Set<string>>();
  return {
    messageText: (ts: string) => blockText(t.standIn.workspace.find(channel, ts)?.blocks),
    buttonsOf: (ts: string) => [...JSON.stringify(t.standIn.workspace.find(channel, ts)?.blocks ?? []).matchAll(/"action_id":"(acgs_approval_\w+)"/g)].map((match) => match[1]),

    /** Types `/acgs <line>` and returns the approval request it posted: its message ts and request id. */
    async request(user: string, line: string): Promise<{ ts: string; id: string }> {
      const before = new Set(t.standIn.messages(channel).map((message) => message.ts));
      await t.standIn.slashCommand({ userId: user, channelId: channel, text: line });
      const posted = await t.standIn.waitFor(
        () => t.standIn.messages(channel).find((message) => !before.has(message.ts) && blockText(message.blocks).includes(`Approval: ${line}`)),
        10_000,
        `the approval request for ${line}`,
      );
      const id = /Request `([0-9a-f-]{36})`/.exec(blockText(posted.blocks))?.[1];
      if (!id) throw new Error(`no request id in the approval message: ${blockText(posted.blocks)}`);
      return { ts: posted.ts, id };
    },

    /** Types `/acgs <line>` as `user` and returns the first new answer (in the channel or only to them) containing `text`. */
    async type(user: string, line: string, text: string): Promise<{ text: string; visibleTo: string | undefined }> {
      const before = new Set(everything(user).map((message) => message.ts));
      await t.standIn.slashCommand({ userId: user, channelId: channel, text: line });
      const answer = await t.standIn.waitFor(
        () => everything(user).find((message) => !before.has(message.ts) && textOf(message).includes(text)),
        10_000,
        `an answer to "${line}" saying "${text}"`,
      );
      return { text: textOf(answer), visibleTo: answer.visibleTo };
    },

    /** Clicks a button of the request message; what the person saw before it no longer counts as an answer to it. */
    click(user: string, vote: 'approve' | 'deny' | 'cancel', ts: string) {
      seenBeforeClick.set(user, new Set(everything(user).map((message) => message.ts)));
      return t.standIn.clickButton({ userId: user, actionId: `acgs_approval_${vote}`, channelId: channel, messageTs: ts });
    },

    /** Waits until the request message (updated in place) says `text`. */
    async untilMessage(ts: string, text: string): Promise<string> {
      const message = await t.standIn.waitFor(
        () => (blockText(t.standIn.workspace.find(channel, ts)?.blocks).includes(text) ? t.standIn.workspace.find(channel, ts) : undefined),
        10_000,
        `message ${ts} to say "${text}"`,
      );
      return blockText(message.blocks);
    },

    /** Waits for an answer only `user` sees, containing `text`, since their last click. */
    async toldOnly(user: string, text: string): Promise<string> {
      const seen = seenBeforeClick.get(user) ?? new Set<string>();
      const answer = await t.standIn.waitFor(
        () => everything(user).find((message) => !seen.has(message.ts) && message.visibleTo === user && textOf(message).includes(text)),
        10_000,
        `an answer only to ${user} saying "${text}"`,
      );
      return textOf(answer);
    },
  };
}
