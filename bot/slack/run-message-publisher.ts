/**
 * Keeps each runbook run's Slack message current until the run ends: posts it once, then reads the
 * RunStore about once a second (a run's own changes are few) and edits the message through the
 * channel's write queue whenever what it shows changed, and posts each finished step attempt's
 * detail in the message's thread. The queue paces the edits (about one per second per message)
 * and waits out Retry-After; a burst of step changes between two polls becomes one edit.
 *
 * Several replicas: a run's message is claimed in bot_slack_run_messages (run-message-store.ts),
 * so one replica publishes it and Slack gets it once; a replica that stops or dies lets its lease
 * run out and the next scan of any replica takes the message over, editing the same ts. The final
 * state is never dropped: the message is closed only once an edit showing it has landed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { webApi } from '@slack/bolt';
import type pg from 'pg';
import type { RunbookRegistry } from '../../runbooks/engine/registry.js';
import { FINAL_RUN_STATES, type RunRecord, type RunStore } from '../../runbooks/engine/run-store.js';
import { runnerSilentForMs } from '../../commands/runner-silence.js';
import { leaseAge } from '../../runbooks/engine/lease-age.js';
import { startPeriodicJob, type PeriodicJob } from '../../services/kit/periodic.js';
import { channelWriteQueue, isMessageNotFound, type ChannelWriteQueue } from './channel-write-queue.js';
import { createRunMessageStore, detailKey, type RunMessageClaim, type RunMessageStore } from './run-message-store.js';
import { renderRunMessage, renderStepDetail, type RunStepInfo } from './run-message.js';

export const DEFAULT_POLL_MS = 1000;
export const DEFAULT_SCAN_EVERY_MS = 5000;

/** How a follower stopped: the run ended and its message shows it; another replica took it; this process stopped; the run is gone. */
export type FollowEnd = 'closed' | 'lost' | 'stopped' | 'gone' | 'not-posted';

export interface RunMessagesOptions {
  /** The bot's Web API client; used through `queue` (one is made from it when not given). */
  client: webApi.WebClient;
  /** The process's channel write queue, when the bot shares one between its long-lived messages. */
  queue?: ChannelWriteQueue;
  runs: RunStore;
  /** Where the step titles come from (the version each run started on). */
  registry: RunbookRegistry;
  messages: RunMessageStore;
  pollMs?: number;
  /** How often to look for messages whose publisher's lease ran out (a replica stopped or died). */
  scanEveryMs?: number;
  /**
   * The runners' lease settings (RunExecutor.leaseMs, renewEveryMs): with them, a running run
   * whose runner stopped renewing its lease says so; without, it is not measured.
   */
  lease?: { leaseMs: number; renewEveryMs: number };
  /** A link to a message's thread, when the bot knows its workspace's URL. */
  permalink?(channel: string, ts: string): string | undefined;
  log?(message: string, error?: unknown): void;
  /** Called when a follower stops (tests wait on it). */
  onFollowEnd?(runId: string, end: FollowEnd): void;
}

export interface RunMessages {
  /**
   * Shows the run in `channel` and keeps its message current, from this replica; false (and
   * nothing posted) when another replica publishes it already or its message is closed.
   */
  publish(runId: string, channel: string): Promise<boolean>;
  /** Takes over messages nobody keeps current now, without waiting for the scan. */
  scanNow(): Promise<void>;
  /** Resolves when this process follows no run. */
  idle(): Promise<void>;
  /** Stops following; every message in hand is left for another replica to take over at once. */
  stop(): Promise<void>;
}

/** The options with the store built on the bot's pool: what the lead wires in bot/main.ts. */
export function startRunMessages(options: Omit<RunMessagesOptions, 'messages'> & ({ messages: RunMessageStore } | { pool: pg.Pool; instance: string })): RunMessages {
  const messages = 'messages' in options ? options.messages : createRunMessageStore({ pool: options.pool, instance: options.instance });
  const publisher = createRunMessagePublisher({ ...options, messages });
  publisher.start();
  return publisher;
}

export function createRunMessagePublisher(options: RunMessagesOptions): RunMessages & { start(): void } {
  const { runs, registry, messages } = options;
  const queue = options.queue ?? channelWriteQueue(options.client);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const scanEveryMs = options.scanEveryMs ?? DEFAULT_SCAN_EVERY_MS;
  const log = options.log ?? (() => undefined);
  const following = new Map<string, Promise<void>>();
  const stopSignal = new AbortController();
  let job: PeriodicJob | undefined;

  function stepsOf(run: RunRecord): RunStepInfo[] | undefined {
    const runbook = registry.version(run.runbook, run.version);
    return runbook?.steps.map((step) => ({ id: step.id, title: step.title, kind: step.kind }));
  }

  /** The running run's runner silence in whole seconds (rounded up), so that it changes the message at most once a second. */
  async function silenceOf(run: RunRecord): Promise<number | undefined> {
    if (!options.lease || run.state !== 'running' || !run.leaseOwner) return undefined;
    const silent = runnerSilentForMs(leaseAge(run, { now: await runs.now(), ...options.lease }));
    return silent === undefined ? undefined : Math.ceil(silent / 1000) * 1000;
  }

  async function pause(): Promise<void> {
    await sleep(pollMs, undefined, { signal: stopSignal.signal }).catch(() => undefined);
  }

  async function follow(claim: RunMessageClaim): Promise<FollowEnd> {
    const { runId, channel } = claim;
    let ts = claim.ts;
    const detailsSeen = new Set(claim.detailsPosted);
    // The message as Slack last accepted it (or as it was last asked for, while that edit is on its way).
    let shown: string | undefined;
    let lastEdit: Promise<void> | undefined;
    /** Set when an edit found the message gone from Slack: the next round posts the run again. */
    let vanished = false;

    while (!stopSignal.signal.aborted) {
      try {
        const run = await runs.get(runId);
        if (!run) {
          log(`run message: run ${runId} is not in the RunStore; nothing to show`);
          await messages.release(claim);
          return 'gone';
        }
        if (vanished && ts) {
          // Edited again it would fail forever, and the run would never be shown (nor its message closed).
          if (!(await messages.forgetPost(claim))) return 'lost';
          log(`run message: the message of run ${runId} is gone from ${channel} (deleted, or the workspace started afresh); posting it again`);
          vanished = false;
          ts = undefined;
          shown = undefined;
          lastEdit = undefined;
          detailsSeen.clear();
        }
        const attempts = await runs.attempts(runId);
        const steps = stepsOf(run);
        const link = ts ? options.permalink?.(channel, ts) : undefined;
        const silent = await silenceOf(run);
        const message = renderRunMessage({ run, attempts, steps, ...(link ? { threadLink: link } : {}), ...(silent === undefined ? {} : { runnerSilentForMs: silent }) });
        const rendered = JSON.stringify(message);

        if (!ts) {
          try {
            ts = await queue.post(channel, message);
          } catch (error) {
            // Not posted (not in the channel, Slack down after its retries): give the claim back.
            log(`run message: could not post the message of run ${runId} in ${channel}`, error);
            await messages.release(claim);
            return 'not-posted';
          }
          if (!(await messages.posted(claim, ts))) return 'lost';
          shown = rendered;
        } else if (rendered !== shown) {
          shown = rendered;
          const edit = queue.update(channel, ts, message);
          lastEdit = edit;
          edit.catch((error: unknown) => {
            // Asked again on the next poll: the state it carried must reach Slack.
            if (lastEdit === edit) shown = undefined;
            if (isMessageNotFound(error)) vanished = true;
            log(`run message: an edit of run ${runId}'s message failed; it is tried again`, error);
          });
        }

        for (const attempt of attempts) {
          if (attempt.outcome === 'running') continue;
          const key = detailKey(attempt);
          if (detailsSeen.has(key)) continue;
          // Seen once the store answered: a take that threw (the database away) is tried again next round.
          const taken = await messages.takeDetail(claim, key);
          detailsSeen.add(key);
          if (!taken) continue;
          try {
            await queue.post(channel, renderStepDetail(run, steps?.[attempt.stepIndex], attempt), ts);
          } catch (error) {
            detailsSeen.delete(key);
            await messages.returnDetail(claim, key);
            log(`run message: could not post the detail of run ${runId}'s step ${key}; it is tried again`, error);
          }
        }

        if (FINAL_RUN_STATES.includes(run.state)) {
          await lastEdit?.catch(() => undefined);
          // Closed only once Slack shows the final state; otherwise the next poll sends it again.
          if (shown === rendered) {
            await messages.close(claim, run.state);
            return 'closed';
          }
        } else if (!(await messages.renew(claim))) {
          return 'lost';
        }
      } catch (error) {
        // PostgreSQL away, most likely: try again; if it stays away the lease runs out and another replica goes on.
        log(`run message: following run ${runId} failed; trying again`, error);
      }
      await pause();
    }
    // The edit on its way lands before the message is handed over, so it cannot overwrite a newer
    // state the next publisher shows.
    await lastEdit?.catch(() => undefined);
    return 'stopped';
  }

  function startFollowing(claim: RunMessageClaim): void {
    const done = follow(claim)
      .catch((error: unknown): FollowEnd => {
        log(`run message: following run ${claim.runId} stopped on an error`, error);
        return 'stopped';
      })
      .then(async (end) => {
        if (end === 'stopped') await messages.release(claim).catch((error: unknown) => log(`run message: could not hand run ${claim.runId}'s message back`, error));
        options.onFollowEnd?.(claim.runId, end);
      })
      .finally(() => following.delete(claim.runId));
    following.set(claim.runId, done);
  }

  async function claimAndFollow(runId: string, channel: string): Promise<boolean> {
    if (stopSignal.signal.aborted || following.has(runId)) return following.has(runId);
    const claim = await messages.claim(runId, channel);
    if (!claim) return false;
    startFollowing(claim);
    return true;
  }

  async function scanNow(): Promise<void> {
    for (const row of await messages.orphaned()) {
      if (!following.has(row.runId)) await claimAndFollow(row.runId, row.channel);
    }
  }

  return {
    start() {
      if (job || stopSignal.signal.aborted) return;
      job = startPeriodicJob({ intervalMs: scanEveryMs, firstRunAfterMs: 0, run: scanNow, onError: (error) => log('run message: the scan for messages nobody keeps current failed', error) });
    },
    publish: claimAndFollow,
    scanNow,
    async idle() {
      while (following.size > 0) await Promise.all(following.values());
    },
    async stop() {
      stopSignal.abort();
      await job?.stop();
      job = undefined;
      while (following.size > 0) await Promise.all(following.values());
    },
  };
}
