/**
 * Slack's side of Socket Mode: apps.connections.open hands out a one-time WebSocket URL; the
 * connection gets `hello`, then envelopes, and the app answers each with `{envelope_id, payload?}`.
 * Pings go out periodically like Slack's, so the client's keep-alive logic runs for real.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { slackId } from './payloads.js';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketAck {
  envelopeId: string;
  /** The payload the app put in its ack (a slash command's immediate reply, for instance). */
  payload?: Record<string, unknown>;
}

export interface EnvelopeOptions {
  retryAttempt?: number;
  retryReason?: string;
  /** Reuse an envelope ID to resend the identical envelope. */
  envelopeId?: string;
  ackTimeoutMs?: number;
}

export interface SentEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: unknown;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
}

export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly waiting = new Map<string, { resolve: (ack: SocketAck) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly connectionWaiters = new Set<() => void>();
  /** Every envelope sent, in order, for tests that resend one or check what went out. */
  readonly sent: SentEnvelope[] = [];

  constructor(private readonly appId: string, pingIntervalMs = 10_000) {
    // A fixed-rate keep-alive write, not a periodic job: nothing to wait for, nothing that can fail.
    this.pingTimer = setInterval(() => {
      for (const client of this.wss.clients) if (client.readyState === WebSocket.OPEN) client.ping(`ping ${Date.now()}`);
    }, pingIntervalMs);
    this.pingTimer.unref();
  }

  /** A fresh URL for apps.connections.open; each ticket admits one connection. */
  issueUrl(baseWsUrl: string): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.add(ticket);
    return `${baseWsUrl}/socket?ticket=${ticket}&app_id=${this.appId}`;
  }

  get connectionCount(): number {
    return [...this.wss.clients].filter((client) => client.readyState === WebSocket.OPEN).length;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(req.url ?? '/', 'http://stand-in').searchParams.get('ticket');
    if (ticket === null || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (client) => {
      client.on('message', (data, isBinary) => {
        if (!isBinary) this.onAck(data.toString());
      });
      client.send(JSON.stringify({ type: 'hello', num_connections: this.connectionCount, debug_info: { host: 'stand-in', approximate_connection_time: 18060 }, connection_info: { app_id: this.appId } }));
      for (const notify of this.connectionWaiters) notify();
    });
  }

  /** Resolves when at least one app connection is open, or rejects after `timeoutMs`. */
  async waitForConnection(timeoutMs: number): Promise<void> {
    if (this.connectionCount > 0) return;
    await new Promise<void>((resolve, reject) => {
      const notify = () => {
        clearTimeout(timer);
        this.connectionWaiters.delete(notify);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectionWaiters.delete(notify);
        reject(new Error(`no Socket Mode connection within ${timeoutMs} ms: is the app started with the stand-in's app token and API URL?`));
      }, timeoutMs);
      this.connectionWaiters.add(notify);
    });
  }

  /** Sends an envelope to the newest connection and resolves with the app's ack. */
  async send(type: EnvelopeType, payload: unknown, options: EnvelopeOptions = {}): Promise<SocketAck> {
    await this.waitForConnection(options.ackTimeoutMs ?? 5000);
    const client = [...this.wss.clients].filter((candidate) => candidate.readyState === WebSocket.OPEN).at(-1)!;
    const envelope: SentEnvelope = {
      envelope_id: options.envelopeId ?? slackId('env-'),
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      retry_attempt: options.retryAttempt ?? 0,
      retry_reason: options.retryReason ?? '',
    };
    this.sent.push(envelope);
    const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(envelope.envelope_id);
        reject(new Error(`the app did not ack envelope ${envelope.envelope_id} (${type}) within ${ackTimeoutMs} ms`));
      }, ackTimeoutMs);
      this.waiting.set(envelope.envelope_id, { resolve, reject, timer });
      client.send(JSON.stringify(envelope));
    });
  }

  /** Asks every connected app to reconnect, as Slack does before recycling a server. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const client of this.wss.clients) client.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'stand-in' } }));
  }

  private onAck(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return; // Slack ignores frames it cannot parse; so does the stand-in.
    }
    if (typeof message.envelope_id !== 'string') return;
    const waiter = this.waiting.get(message.envelope_id);
    if (!waiter) return;
    this.waiting.delete(message.envelope_id);
    clearTimeout(waiter.timer);
    const payload = message.payload;
    const hasPayload = typeof payload === 'object' && payload !== null && Object.keys(payload).length > 0;
    waiter.resolve({ envelopeId: message.envelope_id, ...(hasPayload ? { payload: payload as Record<string, unknown> } : {}) });
  }

  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`the stand-in closed before envelope ${id} was acked`));
    }
    this.waiting.clear();
    // A closing handshake first, so apps see a normal close rather than a broken socket.
    const open = [...this.wss.clients].filter((client) => client.readyState !== WebSocket.CLOSED);
    await Promise.all(
      open.map(
        (client) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              client.terminate();
              resolve();
            }, 1000);
            client.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            client.close(1001, 'stand-in closing');
          }),
      ),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
