/**
 * The bot's one HTTP server, on PORT in both modes: Slack's `POST /slack/events` (handed to Bolt's
 * HTTPReceiver, which checks the signature), `GET /health`, `GET /metrics`, and Alertmanager's
 * `POST /alerts/alertmanager` when ACGS_ALERTS_TOKEN turns it on. Everything else goes
 * to an optional extra listener, so the local console and Slack stand-in can share the port.
 * Bolt never opens a server of its own.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { ALERTMANAGER_WEBHOOK_PATH, type AlertmanagerWebhook } from '../alerts/alertmanager-webhook.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** The two bodies Slack sends: form-encoded (slash commands, interactivity) and JSON (events). */
const SLACK_MEDIA_TYPES = new Set(['application/x-www-form-urlencoded', 'application/json']);

/**
 * How far ahead of our clock a signed request's X-Slack-Request-Timestamp may be. Bolt refuses
 * requests more than five minutes old but not ones from the future, so a signed request captured
 * with a forged-ahead timestamp (or from a signer whose clock is far off) would stay replayable
 * until that time came; five minutes either way is Slack's own window.
 */
export const MAX_FUTURE_SKEW_S = 5 * 60;

/** The refusal for a request stamped too far ahead, or undefined when the stamp is acceptable (Bolt checks the rest). */
export function futureTimestampProblem(header: string | string[] | undefined, nowMs = Date.now()): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds)) return undefined;
  const ahead = seconds - Math.floor(nowMs / 1000);
  if (ahead <= MAX_FUTURE_SKEW_S) return undefined;
  return `X-Slack-Request-Timestamp is ${ahead} s ahead of this server's clock (at most ${MAX_FUTURE_SKEW_S} s are accepted); check the clocks`;
}

/** When our server received a request; read by the receivers' custom properties for the ack latency. */
export const RECEIVED_AT = Symbol('acgs.receivedAt');
export type TimedRequest = IncomingMessage & { [RECEIVED_AT]?: number };

export interface HealthAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

export interface BotHttpServerOptions {
  /** Bolt's HTTPReceiver.requestListener in HTTP mode; absent in Socket Mode. */
  slackListener?: RequestListener;
  health: () => HealthAnswer;
  metrics: Registry;
  /** Alertmanager's webhook (createAlertmanagerWebhook); absent without ACGS_ALERTS_TOKEN, and its path answers 404. */
  alertmanagerWebhook?: AlertmanagerWebhook;
  /** Serves every path the bot does not own (the console: /, /console/*, /api/*, /response/*). */
  extraListener?: RequestListener;
  /** WebSocket upgrades (the stand-in's /socket). */
  upgradeHandler?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  onError?: (error: unknown, request: IncomingMessage) => void;
  /** A Slack request refused before Bolt saw it (stamped in the future), for the log. */
  onRefused?: (reason: string, request: IncomingMessage) => void;
  /**
   * A Slack request refused for its credentials: stamped in the future (here), or a signature or
   * timestamp Bolt's check refused (its 401, which Bolt only logs), for the bot's trail.
   */
  onAuthFailure?: (attempt: { source: 'slack-signature' | 'slack-timestamp'; reason: string; remoteAddress: string | undefined }) => void;
}

export function createBotHttpServer(options: BotHttpServerOptions): Server {
  const server = createServer((request, response) => {
    (request as TimedRequest)[RECEIVED_AT] = performance.now();
    try {
      route(options, request, response);
    } catch (error) {
      options.onError?.(error, request);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    }
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (options.upgradeHandler) options.upgradeHandler(request, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  return server;
}

function route(options: BotHttpServerOptions, request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0];
  const method = request.method ?? 'GET';

  if (path === SLACK_EVENTS_PATH) {
    if (!options.slackListener) {
      sendJson(response, 404, { error: 'this bot runs in Socket Mode: Slack events arrive over its WebSocket, not on /slack/events' });
      return;
    }
    if (method !== 'POST') {
      response.setHeader('allow', 'POST');
      sendJson(response, 405, { error: `${SLACK_EVENTS_PATH} takes POST requests from Slack` });
      return;
    }
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!SLACK_MEDIA_TYPES.has(mediaType)) {
      request.resume();
      sendJson(response, 415, { error: `content type ${mediaType || '(none)'} is not one Slack sends: use application/x-www-form-urlencoded or application/json` });
      return;
    }
    const future = futureTimestampProblem(request.headers['x-slack-request-timestamp']);
    if (future) {
      request.resume();
      options.onRefused?.(future, request);
      options.onAuthFailure?.({ source: 'slack-timestamp', reason: future, remoteAddress: request.socket.remoteAddress });
      sendJson(response, 401, { error: future });
      return;
    }
    // Bolt answers 401 only when the signature check fails (a missing, stale or wrong signature).
    if (options.onAuthFailure) {
      const remoteAddress = request.socket.remoteAddress;
      response.once('finish', () => {
        if (response.statusCode === 401) options.onAuthFailure!({ source: 'slack-signature', reason: 'Bolt refused the request signature (missing, stale or not made with the signing secret)', remoteAddress });
      });
    }
    // Bolt compares the content type exactly; a charset parameter would make it misread the body.
    request.headers['content-type'] = mediaType;
    options.slackListener(request, response);
    return;
  }
  if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
    const answer = options.health();
    sendJson(response, answer.statusCode, answer.body);
    return;
  }
  if (path === ALERTMANAGER_WEBHOOK_PATH) {
    if (!options.alertmanagerWebhook) {
      request.resume();
      sendJson(response, 404, { error: `the alert webhook is off: set ACGS_ALERTS_TOKEN to receive Alertmanager's alerts at ${ALERTMANAGER_WEBHOOK_PATH}` });
      return;
    }
    options.alertmanagerWebhook(request).then(
      (answer) => sendJson(response, answer.statusCode, answer.body, answer.headers),
      (error: unknown) => {
        options.onError?.(error, request);
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      },
    );
    return;
  }
  if (path === '/metrics' && method === 'GET') {
    options.metrics.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': options.metrics.contentType });
        response.end(text);
      },
      (error: unknown) => {
        options.onError?.(error, request);
        sendJson(response, 500, { error: 'metrics are not available' });
      },
    );
    return;
  }
  if (options.extraListener) {
    options.extraListener(request, response);
    return;
  }
  sendJson(response, 404, { error: `nothing at ${method} ${path}` });
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
