/**
 * Wake-ups between bot replicas: "a request was created, it expires at T" and "a request no longer
 * waits for votes".
 * PostgreSQL stays the source of truth; a lost signal only makes another replica learn of a
 * request at its next resync instead of at once. In-process by default; over Redis pub/sub when
 * the bot has Redis, so that a request created on a replica that then dies still expires on time.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const ApprovalSignal = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('created'), id: z.string(), expiresAt: z.iso.datetime() }),
  /** No longer waiting for votes (approved, denied, cancelled, expired, superseded). */
  z.strictObject({ type: z.literal('settled'), id: z.string() }),
]);
export type ApprovalSignal = z.infer<typeof ApprovalSignal>;

export interface ApprovalSignals {
  /** Never throws: a signal is a hint, and the operation that sends it has already committed. */
  publish(signal: ApprovalSignal): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: (signal: ApprovalSignal) => void): () => void;
  /** Resolves once subscriptions are live (Redis: SUBSCRIBE acknowledged). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** One process: listeners hear this process's own signals. */
export function localApprovalSignals(): ApprovalSignals {
  const emitter = new EventEmitter();
  return {
    async publish(signal) {
      emitter.emit('signal', signal);
    },
    subscribe(listener) {
      emitter.on('signal', listener);
      return () => emitter.off('signal', listener);
    },
    async ready() {},
    async close() {
      emitter.removeAllListeners();
    },
  };
}

export interface RedisSignalsOptions {
  /** The pub/sub channel; replicas of one bot share it. */
  channel?: string;
  /** Redis failures and malformed messages; the signals then simply do not arrive. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_SIGNAL_CHANNEL = 'acgs:bot:approvals';

/**
 * Over Redis pub/sub. `redis` publishes; a duplicate connection subscribes (a subscribed
 * connection can do nothing else). Listeners also hear this replica's own signals, through Redis.
 */
export function redisApprovalSignals(redis: Redis, options: RedisSignalsOptions = {}): ApprovalSignals {
  const channel = options.channel ?? DEFAULT_SIGNAL_CHANNEL;
  const onError = options.onError ?? (() => undefined);
  const emitter = new EventEmitter();
  const subscriber = redis.duplicate();
  subscriber.on('error', onError);
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let parsed: ReturnType<typeof ApprovalSignal.safeParse>;
    try {
      parsed = ApprovalSignal.safeParse(JSON.parse(message));
    } catch (error) {
      onError(error);
      return;
    }
    if (parsed.success) emitter.emit('signal', parsed.data);
    else onError(new Error(`ignored a malformed approval signal on ${channel}: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
  });
  // ioredis re-subscribes by itself after a reconnect; the first SUBSCRIBE tells us we are live.
  const subscribed = subscriber.subscribe(channel).then(
    () => undefined,
    (error: unknown) => onError(error),
  );
  return {
    async publish(signal) {
      try {
        await redis.publish(channel, JSON.stringify(signal));
      } catch (error) {
        onError(error);
      }
    },
    subscribe(listener) {
      emitter.on('signal', listener);
      return () => emitter.off('signal', listener);
    },
    ready: () => subscribed,
    async close() {
      emitter.removeAllListeners();
      subscriber.disconnect();
    },
  };
}
