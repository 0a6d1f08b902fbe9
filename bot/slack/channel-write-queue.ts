/**
 * Every Slack write of a long-lived message (a runbook run's message and its thread, alerts,
 * notices) goes through one queue per channel:
 *
 * - writes to a channel go one at a time, in the order they were asked for, so a 429 on that
 *   channel (the WebClient waits out its Retry-After and retries) holds back the writes behind it
 *   instead of letting them run into the same limit;
 * - edits of one message are coalesced: an edit asked for while an earlier one of the same message
 *   still waits replaces it (both callers learn when the newer one landed), and one message is
 *   edited at most once per `minEditIntervalMs` (about one per second, Slack's own pace for a
 *   channel); the last state asked for is always the one sent, never dropped;
 * - an edit that is not yet due does not hold up posts to the channel.
 */
import type { webApi } from '@slack/bolt';
import type { SlackMessage } from './render.js';

export interface ChannelWriteQueueOptions {
  /** The shortest time between two edits of one message. */
  minEditIntervalMs?: number;
}

export interface ChannelWriteQueue {
  /** Posts a message (a thread reply with `threadTs`); resolves with its ts. */
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<string>;
  /** Edits a message; resolves once this state, or a newer one asked for meanwhile, is in Slack. */
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
  /** Resolves when every write asked for so far has landed or failed. */
  drain(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

type Task =
  | { kind: 'post'; message: SlackMessage; threadTs?: string; resolve(ts: string): void; reject(error: unknown): void }
  | { kind: 'edit'; ts: string };

interface PendingEdit {
  message: SlackMessage;
  waiters: Waiter[];
}

interface Lane {
  tasks: Task[];
  pendingEdits: Map<string, PendingEdit>;
  running: Promise<void> | undefined;
  wake: (() => void) | undefined;
}

const DEFAULT_MIN_EDIT_INTERVAL_MS = 1000;

/** Slack's answer to an edit of a message it does not have (deleted, or a workspace that started afresh). */
export function isMessageNotFound(error: unknown): boolean {
  return (error as { data?: { error?: unknown } } | undefined)?.data?.error === 'message_not_found';
}

export function channelWriteQueue(client: webApi.WebClient, options: ChannelWriteQueueOptions = {}): ChannelWriteQueue {
  const minEditIntervalMs = options.minEditIntervalMs ?? DEFAULT_MIN_EDIT_INTERVAL_MS;
  const lanes = new Map<string, Lane>();
  // Outlives its lane: an edit asked for just after a lane went idle still keeps the pace.
  const lastEditAt = new Map<string, number>();
  const editKey = (channel: string, ts: string) => `${channel} ${ts}`;
  const forgetOldEdits = () => {
    const now = performance.now();
    for (const [key, at] of lastEditAt) if (now - at >= minEditIntervalMs) lastEditAt.delete(key);
  };

  const laneOf = (channel: string): Lane => {
    let lane = lanes.get(channel);
    if (!lane) {
      lane = { tasks: [], pendingEdits: new Map(), running: undefined, wake: undefined };
      lanes.set(channel, lane);
    }
    return lane;
  };

  /** The first task that may go now, or how long until one may. */
  const nextTask = (channel: string, lane: Lane): { task: Task; index: number } | { waitMs: number } => {
    let waitMs = Infinity;
    for (const [index, task] of lane.tasks.entries()) {
      if (task.kind === 'post') return { task, index };
      const due = (lastEditAt.get(editKey(channel, task.ts)) ?? -Infinity) + minEditIntervalMs - performance.now();
      if (due <= 0) return { task, index };
      waitMs = Math.min(waitMs, due);
    }
    return { waitMs };
  };

  const send = async (channel: string, lane: Lane, task: Task): Promise<void> => {
    if (task.kind === 'post') {
      try {
        const posted = await client.chat.postMessage({ channel, ...task.message, ...(task.threadTs ? { thread_ts: task.threadTs } : {}) });
        task.resolve(posted.ts!);
      } catch (error) {
        task.reject(error);
      }
      return;
    }
    // Taken out before sending: an edit asked for while this one is in flight queues anew.
    const edit = lane.pendingEdits.get(task.ts)!;
    lane.pendingEdits.delete(task.ts);
    try {
      await client.chat.update({ channel, ts: task.ts, ...edit.message });
      for (const waiter of edit.waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of edit.waiters) waiter.reject(error);
    } finally {
      // Counted from when Slack answered: a slow edit does not let the next one follow at once.
      lastEditAt.set(editKey(channel, task.ts), performance.now());
    }
  };

  const run = async (channel: string, lane: Lane): Promise<void> => {
    while (lane.tasks.length > 0) {
      const next = nextTask(channel, lane);
      if ('waitMs' in next) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, next.waitMs);
          function done() {
            clearTimeout(timer);
            lane.wake = undefined;
            resolve();
          }
          lane.wake = done;
        });
        continue;
      }
      lane.tasks.splice(next.index, 1);
      await send(channel, lane, next.task);
    }
    lane.running = undefined;
    lanes.delete(channel);
    forgetOldEdits();
  };

  const enqueue = (channel: string, task: Task): void => {
    const lane = laneOf(channel);
    lane.tasks.push(task);
    lane.wake?.();
    lane.running ??= run(channel, lane);
  };

  return {
    post(channel, message, threadTs) {
      return new Promise<string>((resolve, reject) => enqueue(channel, { kind: 'post', message, ...(threadTs ? { threadTs } : {}), resolve, reject }));
    },
    update(channel, ts, message) {
      return new Promise<void>((resolve, reject) => {
        const lane = laneOf(channel);
        const waiting = lane.pendingEdits.get(ts);
        if (waiting) {
          waiting.message = message;
          waiting.waiters.push({ resolve, reject });
          return;
        }
        lane.pendingEdits.set(ts, { message, waiters: [{ resolve, reject }] });
        enqueue(channel, { kind: 'edit', ts });
      });
    },
    async drain() {
      while (lanes.size > 0) await Promise.all([...lanes.values()].map((lane) => lane.running));
    },
  };
}
