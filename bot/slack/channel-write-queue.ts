/**
 * Every Slack write of a long-lived message (a runbook run's message and its thread, alerts,
 * notices) goes through one queue per channel, paced to stay inside Slack's rate limits rather
 * than running into them:
 *
 * - writes to a channel go one at a time, in the order they were asked for, so a 429 on that
 *   channel (the WebClient waits out its Retry-After and retries) holds back the writes behind it
 *   instead of letting them run into the same limit;
 * - posts to one channel keep to Slack's one a second per channel, with a small burst
 *   (`postsPerChannel`, 60 a minute, 10 at once: half the burst Slack lets through, so other
 *   posters in the channel have room);
 * - edits of one message are coalesced: an edit asked for while an earlier one of the same message
 *   still waits replaces it (both callers learn when the newer one landed), and one message is
 *   edited at most once per `minEditIntervalMs` (about one per second); the last state asked for is
 *   always the one sent, never dropped;
 * - all edits, whatever the channel, share one budget (`editsPerWorkspace`, 30 a minute, 10 at
 *   once): chat.update is Tier 3, about 50 a minute for the whole workspace, and a storm's summary
 *   growing by the second must not take all of it;
 * - a write that is not yet due does not hold up the others: an edit waiting for its pace lets
 *   posts go, a post waiting for the channel's pace lets due edits go (posts keep their order).
 */
import type { webApi } from '@slack/bolt';
import type { SlackMessage } from './render.js';
import { checkAllowance, TokenBucket, type RateAllowance } from './token-bucket.js';

export interface ChannelWriteQueueOptions {
  /** The shortest time between two edits of one message. */
  minEditIntervalMs?: number;
  /** Posts into one channel (thread replies included); default 60 a minute, 10 at once. */
  postsPerChannel?: RateAllowance;
  /** Edits of all messages together; default 30 a minute, 10 at once. */
  editsPerWorkspace?: RateAllowance;
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
export const DEFAULT_POSTS_PER_CHANNEL: RateAllowance = { perMinute: 60, burst: 10 };
export const DEFAULT_EDITS_PER_WORKSPACE: RateAllowance = { perMinute: 30, burst: 10 };

/** Slack's answer to an edit of a message it does not have (deleted, or a workspace that started afresh). */
export function isMessageNotFound(error: unknown): boolean {
  return (error as { data?: { error?: unknown } } | undefined)?.data?.error === 'message_not_found';
}

export function channelWriteQueue(client: webApi.WebClient, options: ChannelWriteQueueOptions = {}): ChannelWriteQueue {
  const minEditIntervalMs = options.minEditIntervalMs ?? DEFAULT_MIN_EDIT_INTERVAL_MS;
  const postsPerChannel = options.postsPerChannel ?? DEFAULT_POSTS_PER_CHANNEL;
  checkAllowance('postsPerChannel', postsPerChannel);
  const editsPerWorkspace = options.editsPerWorkspace ?? DEFAULT_EDITS_PER_WORKSPACE;
  checkAllowance('editsPerWorkspace', editsPerWorkspace);
  const lanes = new Map<string, Lane>();
  // These outlive their lane: a write asked for just after a lane went idle still keeps the pace.
  const lastEditAt = new Map<string, number>();
  const postBuckets = new Map<string, TokenBucket>();
  const editBucket = new TokenBucket(editsPerWorkspace, performance.now());
  const editKey = (channel: string, ts: string) => `${channel} ${ts}`;
  const postBucketOf = (channel: string, now: number): TokenBucket => {
    let bucket = postBuckets.get(channel);
    if (!bucket) {
      bucket = new TokenBucket(postsPerChannel, now);
      postBuckets.set(channel, bucket);
    }
    return bucket;
  };
  const forgetOldPaces = () => {
    const now = performance.now();
    for (const [key, at] of lastEditAt) if (now - at >= minEditIntervalMs) lastEditAt.delete(key);
    for (const [channel, bucket] of postBuckets) if (!lanes.has(channel) && bucket.isFull(now)) postBuckets.delete(channel);
  };

  const laneOf = (channel: string): Lane => {
    let lane = lanes.get(channel);
    if (!lane) {
      lane = { tasks: [], pendingEdits: new Map(), running: undefined, wake: undefined };
      lanes.set(channel, lane);
    }
    return lane;
  };

  /** The first task that may go now, or how long until one may. Only the first post may go: posts keep their order. */
  const nextTask = (channel: string, lane: Lane): { task: Task; index: number } | { waitMs: number } => {
    const now = performance.now();
    let waitMs = Infinity;
    let postSeen = false;
    for (const [index, task] of lane.tasks.entries()) {
      let due: number;
      if (task.kind === 'post') {
        if (postSeen) continue;
        postSeen = true;
        due = postBucketOf(channel, now).waitMs(now);
      } else {
        due = Math.max((lastEditAt.get(editKey(channel, task.ts)) ?? -Infinity) + minEditIntervalMs - now, editBucket.waitMs(now));
      }
      if (due <= 0) return { task, index };
      waitMs = Math.min(waitMs, due);
    }
    return { waitMs };
  };

  const send = async (channel: string, lane: Lane, task: Task): Promise<void> => {
    // Counted when sent, not when Slack answers: that is when Slack counts it.
    if (task.kind === 'post') {
      const now = performance.now();
      postBucketOf(channel, now).take(now);
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
    editBucket.take(performance.now());
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
    forgetOldPaces();
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
