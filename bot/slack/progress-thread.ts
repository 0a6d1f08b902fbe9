/**
 * Where a multi-step command's steps go in Slack (commands/progress.ts), in the order they happen.
 *
 * A slash command: the first step is posted in the channel as the command's reply, under who ran
 * which command (Slack attributes a response_url reply, not the bot's own post), the next ones
 * as replies in a thread under it. When the command finishes, its full answer is the last reply in
 * the thread, and the first message is edited to show the outcome in one line under the first
 * step. Why: at 3 a.m. the channel shows at a glance what was started and how it ended, and the
 * thread reads top to bottom as what happened, ending with the answer and its buttons.
 *
 * A mention, a button in a thread, an approval: the conversation already has a thread (the
 * mention's, the approval request's), so every step is a reply there and the answer comes as it
 * always does.
 *
 * The command never waits for Slack to take a step: steps are queued in order, and whoever answers
 * waits for the queue first (`finish` does; the other paths await `settled`), so the steps still
 * come before the answer. The posts and the edit go through the bot's channel write queue, so a
 * long command keeps to Slack's pace in its channel like every other message the bot keeps.
 *
 * A command with no steps posts nothing here and answers exactly as before. If the first step
 * cannot be posted (the bot is not in the channel), the steps are dropped and the answer goes the
 * usual way (the response_url).
 *
 * An ephemeral answer (a refusal, an internal error after a step) is for the person who asked
 * only: it never goes in the thread, the first message is closed without saying how it ended, and
 * the caller answers privately as it would without steps. An answer the thread refuses (the bot
 * removed from the channel mid-command, Slack failing after its retries) also goes the usual way,
 * so the person learns how a command that did run ended instead of "something went wrong".
 */
import type { ChannelWriteQueue } from './channel-write-queue.js';
import type { ProgressReporter, ProgressStep } from '../../commands/progress.js';
import type { ResultDocument } from '../../commands/result.js';
import { renderProgressParent, renderProgressParentElsewhere, renderProgressStep, type ProgressAttribution, type SlackMessage } from './render.js';

export interface ProgressThread {
  /**
   * Queues the step and returns at once: a slow Slack (retries after a 429 take up to a minute)
   * must not hold the command between its steps, e.g. restart's lock between two replicas. A step
   * that cannot be posted goes to `onError`.
   */
  report: ProgressReporter;
  /** Resolves when every step told so far is posted (or given up on); never rejects. Await it before any answer. */
  settled(): Promise<void>;
  /**
   * Sends the answer into the thread the steps started, after every step. False when the caller
   * must answer as it would without steps: no step was posted as a new thread's parent, the answer
   * is ephemeral, or the thread refused it. Never throws.
   */
  finish(document: ResultDocument, message: SlackMessage): Promise<boolean>;
}

export interface ThreadPlace {
  channel: string;
  /** The thread to reply in, when the conversation already has one; a new one otherwise. */
  threadTs?: string;
  /** Who ran what, shown on the message that starts a new thread (a slash command's first step). */
  ranBy?: ProgressAttribution;
}

/** `onError` hears what could not be posted: a step, or what `finish` tried (the caller still answers, or has answered). */
export function progressThread(writes: Pick<ChannelWriteQueue, 'post' | 'update'>, place: ThreadPlace, onError: (error: unknown) => void): ProgressThread {
  let parent: { ts: string; first: ProgressStep } | undefined;
  let gaveUp = false;
  let count = 0;
  // Steps are posted one after another, so they appear in the order they were told.
  let queue: Promise<void> = Promise.resolve();

  const post = async (step: ProgressStep, number: number): Promise<void> => {
    if (gaveUp) return;
    const threadTs = place.threadTs ?? parent?.ts;
    if (threadTs) {
      await writes.post(place.channel, renderProgressStep(step, number), threadTs);
      return;
    }
    try {
      const ts = await writes.post(place.channel, renderProgressStep(step, number, place.ranBy));
      if (ts) parent = { ts, first: step };
      else gaveUp = true;
    } catch (error) {
      gaveUp = true;
      throw error;
    }
  };

  return {
    report(step) {
      const number = (count += 1);
      queue = queue.then(() => post(step, number)).catch(onError);
    },
    settled: () => queue,
    async finish(document, message) {
      await queue;
      if (!parent) return false;
      const { ts, first } = parent;
      // The answer is delivered by now (or goes the usual way): a failed edit only leaves step 1 showing.
      const closeParent = (closed: SlackMessage) => writes.update(place.channel, ts, closed).then(() => undefined, onError);
      if (document.ephemeral) {
        await closeParent(renderProgressParentElsewhere(first, 'private', place.ranBy));
        return false;
      }
      try {
        await writes.post(place.channel, message, ts);
      } catch (error) {
        // Slack may have taken it before failing (a timeout): a second answer beats none.
        onError(error);
        await closeParent(renderProgressParentElsewhere(first, 'reply', place.ranBy));
        return false;
      }
      await closeParent(renderProgressParent(first, document, place.ranBy));
      return true;
    },
  };
}
