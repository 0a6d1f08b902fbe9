/**
 * Builds the real Bolt app from settings: the receiver the settings ask for, our own HTTP server
 * (Slack events in HTTP mode, /health and /metrics in both modes, the console beside them when it
 * is given), the listeners, the delivery ledger, metrics, and one error boundary.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { App, HTTPReceiver, SocketModeReceiver, type AuthorizeResult, type Receiver, webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger as PinoLogger } from 'pino';
import type { Registry } from '../../commands/registry.js';
import type { CommandPathDependencies } from '../command-path/index.js';
import { boltLogger } from './bolt-logger.js';
import { memoryLedger, redisLedger, type DeliveryLedger } from './delivery-ledger.js';
import type { EvictedDeliveries } from './delivery-store.js';
import type { MayRun } from './home.js';
import { createBotHttpServer, RECEIVED_AT, type BotHttpServerOptions, type HealthAnswer, type TimedRequest } from './http-server.js';
import type { AlertmanagerWebhook } from '../alerts/alertmanager-webhook.js';
import type { AlertStore } from '../alerts/alert-store.js';
import type { IncidentStore } from '../incidents/incident-store.js';
import { DEFAULT_MARK_EMOJI } from '../incidents/marked-messages.js';
import { registerMarkedMessages } from './marked-messages.js';
import { registerAlertActions } from './alert-actions.js';
import type { ApprovalRequest } from '../approvals/index.js';
import { announceOutcomeUnknown, DEFAULT_SLASH_COMMAND, registerListeners, updateApprovalMessages } from './listeners.js';
import type { ReviewCardPublisher, ReviewCardStore } from '../evolution-reviews/index.js';
import { slackReviewCardPublisher } from './evolution-review-card.js';
import { registerEvolutionReviewListener } from './evolution-review-listener.js';
import { registerRunActions } from './run-actions.js';
import { registerChecklistActions } from './checklist-actions.js';
import { createBotMetrics, type BotMetrics } from './metrics.js';
import type { SlackSettings } from './settings.js';
import { responseUrlPoster } from './response-url.js';
import { instrumentedSlackFetch } from './slack-fetch.js';
import { channelWriteQueue, type ChannelWriteQueue } from './channel-write-queue.js';

export interface SlackBotOptions {
  settings: SlackSettings;
  registry: Registry;
  services: CommandPathDependencies;
  logger: PinoLogger;
  /** Shares the delivery ledger between replicas; without it the ledger lives in this process. */
  redis?: Redis;
  /** Key prefix of the ledger in Redis (tests give each file its own). */
  ledgerPrefix?: string;
  /** Keys the in-memory ledger keeps before evicting the least recent (default 50 000). */
  ledgerMax?: number;
  /** Where the in-memory ledger keeps the keys it evicts (the bot's PostgreSQL, delivery-store.ts). */
  evictedDeliveries?: EvictedDeliveries;
  /** Interface to listen on; 127.0.0.1 unless the deployment says otherwise (0.0.0.0 in a container). */
  host?: string;
  /** The slash command as configured in the Slack app; `/acgs` by default. */
  slashCommand?: string;
  mayRun?: MayRun;
  /** The config's `channels.approvals`: approval requests are posted there as well. */
  approvalsChannel?: string;
  /** Where evolution review cards are recorded; a card its button decided is closed there. */
  reviewCards?: ReviewCardStore;
  /** The alert store: the buttons of alert messages look their alert up in it, and note in it what a response ran (alert-actions.ts). */
  alerts?: Pick<AlertStore, 'get' | 'note' | 'events'>;
  /** Issue 16's incidents: an alert's "Declare incident" links the alert on the incident's timeline; a marked message goes on it. */
  incidents?: Pick<IncidentStore, 'addToTimeline' | 'inChannel'>;
  /** The reaction that marks a message for its incident's timeline (config incidents.mark_emoji); default pushpin. */
  markEmoji?: string;
  /** Alertmanager's webhook at POST /alerts/alertmanager (createAlertmanagerWebhook), when ACGS_ALERTS_TOKEN is set. */
  alertmanagerWebhook?: AlertmanagerWebhook;
  /** Slack requests refused for their signature or timestamp, for the bot's trail (bot/audit-trail/auth-failures.ts). */
  onAuthFailure?: BotHttpServerOptions['onAuthFailure'];
  /** Mounts the local console and Slack stand-in on the bot's port. */
  extraListener?: RequestListener;
  upgradeHandler?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The config's `slack.team_ids`: the workspaces served; without it, the bot token's own (team-allow-list.ts). */
  teamIds?: readonly string[];
  /** Node's default process metrics; tests that build many bots turn them off. */
  defaultMetrics?: boolean;
}

export interface SlackBot {
  app: App;
  metrics: BotMetrics;
  server: Server;
  mode: SlackSettings['mode'];
  /** Brings every Slack message of the request up to date (the expiry scheduler calls it). */
  updateApprovalMessages(request: ApprovalRequest): Promise<void>;
  /** Says in Slack that a run left executing by a crash has an unknown outcome (its messages lose their buttons). */
  announceOutcomeUnknown(request: ApprovalRequest): Promise<void>;
  /** Posts and updates evolution review cards (the poster in bot/evolution-reviews calls it). */
  reviewCardPublisher: ReviewCardPublisher;
  /** A Web API client with the bot's token, for the messages the bot keeps current (runbook runs). */
  webClient: webApi.WebClient;
  /**
   * The process's one channel write queue (on webClient): run messages, checklists, alerts,
   * notices and commands' progress threads, paced inside Slack's rate limits together.
   */
  writeQueue: ChannelWriteQueue;
  /** Checks the bot token, listens on the port, and in Socket Mode opens the WebSocket. */
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/** Web API retries: a few, with backoff; a 429 is waited out for its Retry-After first. */
const RETRY_CONFIG = { retries: 4, factor: 2, minTimeout: 250, maxTimeout: 8000, randomize: true };
const WEB_API_TIMEOUT_MS = 10_000;

type WebClient = webApi.WebClient;

export function createSlackBot(options: SlackBotOptions): SlackBot {
  const { settings, logger } = options;
  const metrics = createBotMetrics({ defaultMetrics: options.defaultMetrics ?? true, ...(options.services.trail ? { auditTrail: options.services.trail } : {}) });
  const slackLogger = boltLogger(logger);
  const slackFetch = instrumentedSlackFetch(settings.apiUrl, metrics);
  const postToResponseUrl = responseUrlPoster(metrics, WEB_API_TIMEOUT_MS);
  const clientOptions = { slackApiUrl: settings.apiUrl, fetch: slackFetch, retryConfig: RETRY_CONFIG, timeout: WEB_API_TIMEOUT_MS, logger: slackLogger };
  const webClient = new webApi.WebClient(settings.botToken, clientOptions);
  const writeQueue = channelWriteQueue(webClient);
  const startedAt = Date.now();
  let socketConnected = false;

  const receiver: Receiver =
    settings.mode === 'http'
      ? new HTTPReceiver({
          signingSecret: settings.signingSecret,
          logger: slackLogger,
          customPropertiesExtractor: (request) => ({ receivedAt: (request as unknown as TimedRequest)[RECEIVED_AT] ?? performance.now() }),
        })
      : new SocketModeReceiver({
          appToken: settings.appToken,
          logger: slackLogger,
          installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: 10, factor: 1.3 } } },
          customPropertiesExtractor: (args: { envelope_id?: string }) => ({ receivedAt: performance.now(), envelopeId: args.envelope_id }),
        });
  if (receiver instanceof SocketModeReceiver) {
    receiver.client.on('connected', () => (socketConnected = true));
    receiver.client.on('disconnected', () => (socketConnected = false));
    receiver.client.on('reconnecting', () => (socketConnected = false));
  }

  const authorize = memoizedAuthorize(settings.botToken, () => app.client);
  const app = new App({
    receiver,
    authorize: () => authorize(),
    logger: slackLogger,
    clientOptions,
    convoStore: false,
    extendedErrorHandler: true,
  });

  const ledger: DeliveryLedger = options.redis
    ? redisLedger(options.redis, {
        ...(options.ledgerPrefix ? { prefix: options.ledgerPrefix } : {}),
        ...(options.evictedDeliveries ? { evicted: options.evictedDeliveries } : {}),
        onError: (error) => {
          metrics.dedupeStoreErrors.inc();
          logger.warn({ err: error }, 'delivery ledger: Redis failed, de-duplicating in memory for now');
        },
      })
    : memoryLedger({
        ...(options.ledgerMax ? { max: options.ledgerMax } : {}),
        ...(options.evictedDeliveries ? { evicted: options.evictedDeliveries } : {}),
        onError: (error) => {
          metrics.dedupeStoreErrors.inc();
          logger.warn({ err: error }, 'delivery ledger: the store of evicted keys failed; this delivery is served');
        },
      });

  const execution = {
    registry: options.registry,
    services: options.services,
    logError: (reference: string, error: unknown, request: { origin: string; actor: { id: string } }) =>
      logger.error({ reference, err: error, origin: request.origin, actor: request.actor.id }, 'command failed with an internal error'),
  };
  registerListeners(app, {
    execution,
    ledger,
    metrics,
    logger,
    slashCommand: options.slashCommand ?? DEFAULT_SLASH_COMMAND,
    postToResponseUrl,
    writeQueue,
    ...(options.mayRun ? { mayRun: options.mayRun } : {}),
    ...(options.approvalsChannel ? { approvalsChannel: options.approvalsChannel } : {}),
    ...(options.teamIds ? { teamIds: options.teamIds } : {}),
  });
  registerEvolutionReviewListener(app, { execution, metrics, logger, ...(options.reviewCards ? { cards: options.reviewCards } : {}) });
  // Abort / Retry / Skip on a runbook run's message: the command lines, through the one command path.
  registerRunActions(app, { execution, metrics, logger });
  // Tick / Untick / Re-run checks on a checklist's message: the same, as `checklist ...` lines.
  registerChecklistActions(app, { execution, metrics, logger });
  // Acknowledge / Snooze / Resolve / the response on an alert's message: `alerts ...` lines and the rule's response.
  if (options.incidents) registerMarkedMessages(app, { incidents: options.incidents, emoji: options.markEmoji ?? DEFAULT_MARK_EMOJI, logger });
  if (options.alerts) registerAlertActions(app, { execution, metrics, logger, alerts: options.alerts, ...(options.incidents ? { incidents: options.incidents } : {}) });

  // The one error boundary: the cause goes to the log under a reference, the person sees only the reference.
  const boundary: Parameters<App['error']>[0] = async ({ error, body }) => {
    const reference = randomUUID().slice(0, 8);
    const cause = (error as { original?: unknown }).original ?? error;
    logger.error({ reference, err: cause, code: (error as { code?: string }).code }, 'Slack listener failed');
    const responseUrl = (body as { response_url?: unknown } | undefined)?.response_url;
    if (typeof responseUrl === 'string') {
      await postToResponseUrl(responseUrl, {
        response_type: 'ephemeral',
        replace_original: false,
        text: `Something went wrong inside the bot. Reference ${reference}: the bot's log has the cause.`,
      }).catch(() => undefined);
    }
  };
  app.error(boundary);

  const health = (): HealthAnswer => {
    const ready = settings.mode === 'http' || socketConnected;
    return {
      statusCode: ready ? 200 : 503,
      body: {
        status: ready ? 'ok' : 'disconnected',
        mode: settings.mode === 'http' ? 'http' : 'socket',
        ...(settings.mode === 'socket' ? { socket_connected: socketConnected } : {}),
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      },
    };
  };

  const server = createBotHttpServer({
    ...(receiver instanceof HTTPReceiver ? { slackListener: receiver.requestListener } : {}),
    health,
    metrics: metrics.registry,
    ...(options.alertmanagerWebhook ? { alertmanagerWebhook: options.alertmanagerWebhook } : {}),
    ...(options.extraListener ? { extraListener: options.extraListener } : {}),
    ...(options.upgradeHandler ? { upgradeHandler: options.upgradeHandler } : {}),
    onError: (error, request) => logger.error({ err: error, url: request.url?.split('?')[0] }, 'bot HTTP request failed'),
    onRefused: (reason) => logger.warn({ reason }, 'Slack request refused before Bolt: nothing was run'),
    ...(options.onAuthFailure ? { onAuthFailure: options.onAuthFailure } : {}),
  });

  let started = false;
  return {
    app,
    metrics,
    server,
    mode: settings.mode,
    // Outside a delivery the app's client has no token (authorize gives one per delivery).
    updateApprovalMessages: (request) => updateApprovalMessages(new webApi.WebClient(settings.botToken, clientOptions), request),
    announceOutcomeUnknown: (request) => announceOutcomeUnknown(new webApi.WebClient(settings.botToken, clientOptions), request),
    reviewCardPublisher: slackReviewCardPublisher(new webApi.WebClient(settings.botToken, clientOptions)),
    webClient,
    writeQueue,
    async start() {
      // Listen first: a stand-in mounted on this server must answer auth.test below.
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.port, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      started = true;
      try {
        try {
          await authorize();
        } catch (error) {
          throw new Error(`Slack refused SLACK_BOT_TOKEN at ${settings.apiUrl}auth.test: ${describeSlackError(error)}`);
        }
        if (settings.mode === 'socket') {
          try {
            await app.start();
          } catch (error) {
            throw new Error(`Socket Mode could not connect with SLACK_APP_TOKEN at ${settings.apiUrl}apps.connections.open: ${describeSlackError(error)}`);
          }
        }
      } catch (error) {
        await this.stop();
        throw error;
      }
      return { port: (server.address() as AddressInfo).port };
    },
    async stop() {
      if (settings.mode === 'socket') await app.stop().catch(() => undefined);
      if (!started) return;
      started = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** auth.test once (again after a failure): the bot's identity for Bolt's ignoreSelf and for mentions. */
function memoizedAuthorize(botToken: string, client: () => WebClient) {
  let pending: Promise<AuthorizeResult> | undefined;
  return (): Promise<AuthorizeResult> => {
    pending ??= client()
      .auth.test({ token: botToken })
      .then((identity) => ({
        botToken,
        ...(identity.bot_id ? { botId: identity.bot_id } : {}),
        ...(identity.user_id ? { botUserId: identity.user_id } : {}),
        ...(identity.team_id ? { teamId: identity.team_id } : {}),
        ...(identity.enterprise_id ? { enterpriseId: identity.enterprise_id } : {}),
      }))
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    return pending;
  };
}

function describeSlackError(error: unknown): string {
  const data = (error as { data?: { error?: unknown } }).data;
  if (data && typeof data.error === 'string') return data.error;
  return (error as Error).message ?? String(error);
}
