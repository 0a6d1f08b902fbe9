/**
 * Keeps each checklist started in a channel shown there as one message: posted when it starts,
 * edited through the channel's write queue after every change (a tick, an untick, a re-run),
 * whichever replica made the change. Changes are few and come from people, so there is no polling:
 * the replica that changed a checklist edits its message, and after each edit it reads the
 * checklist again and edits once more if it changed meanwhile (another replica's edit may have
 * landed before its own), so the newest state is the last one shown. A message Slack no longer
 * has (deleted, or a workspace that started afresh) is posted again at the next change, as a run's
 * message is: the replica that forgets the lost one (compare-and-set on its ts) posts the new one.
 */
import type { ChecklistInfo } from '../../commands/ports.js';
import { isMessageNotFound, type ChannelWriteQueue } from './channel-write-queue.js';
import { renderChecklistMessage } from './checklist-message.js';

export interface ChecklistMessageStore {
  get(id: string): Promise<ChecklistInfo | undefined>;
  /** Records the posted message; false when one was recorded already. */
  setMessage(id: string, ts: string): Promise<boolean>;
  /** Forgets the message `ts` that Slack no longer has; false when another replica forgot or replaced it first. */
  forgetMessage(id: string, ts: string): Promise<boolean>;
}

export interface ChecklistMessagesOptions {
  queue: ChannelWriteQueue;
  store: ChecklistMessageStore;
  log?(message: string, error?: unknown): void;
}

export interface ChecklistMessages {
  /** Shows the checklist's current state in its channel (posts it the first time); never throws. */
  show(checklist: ChecklistInfo): Promise<void>;
  /** Resolves when every message change asked for so far is done. */
  idle(): Promise<void>;
}

/** Edits after which the message still lags are left to the next change: a checklist that changes this fast is being clicked by a script. */
const MAX_CATCH_UP_EDITS = 5;

export function createChecklistMessages(options: ChecklistMessagesOptions): ChecklistMessages {
  const { queue, store } = options;
  const log = options.log ?? (() => undefined);
  // One chain per checklist in this process: its post lands before any edit of it is asked for.
  const chains = new Map<string, Promise<void>>();

  async function post(id: string, channel: string, message: ReturnType<typeof renderChecklistMessage>): Promise<void> {
    const ts = await queue.post(channel, message);
    if (!(await store.setMessage(id, ts))) log(`checklist ${id}: another message was recorded first; this one (${ts}) is not kept current`);
  }

  /** `fromStart`: this call shows the checklist's start (revision 1), so this replica posts its message. */
  async function bringUpToDate(id: string, fromStart: boolean): Promise<void> {
    let shownRevision: number | undefined;
    for (let round = 0; round < MAX_CATCH_UP_EDITS; round += 1) {
      const checklist = await store.get(id);
      if (!checklist?.channel || checklist.revision === shownRevision) return;
      const message = renderChecklistMessage(checklist);
      if (!checklist.messageTs) {
        // Only the start posts: a change another replica makes while the post is on its way is
        // caught up by the poster's next round instead of becoming a second message.
        if (!fromStart || shownRevision !== undefined) return;
        await post(id, checklist.channel, message);
      } else {
        try {
          await queue.update(checklist.channel, checklist.messageTs, message);
        } catch (error) {
          if (!isMessageNotFound(error)) throw error;
          // Edited again it would fail at every change, and the checklist would never be shown again.
          if (!(await store.forgetMessage(id, checklist.messageTs))) return;
          log(`checklist ${id}: its message is gone from ${checklist.channel} (deleted, or the workspace started afresh); posting it again`);
          await post(id, checklist.channel, message);
        }
      }
      shownRevision = checklist.revision;
    }
  }

  return {
    show(checklist) {
      const previous = chains.get(checklist.id) ?? Promise.resolve();
      const next = previous
        .then(() => bringUpToDate(checklist.id, checklist.revision === 1))
        .catch((error: unknown) => log(`checklist ${checklist.id}: its message in ${checklist.channel} could not be brought up to date`, error));
      chains.set(checklist.id, next);
      void next.finally(() => {
        if (chains.get(checklist.id) === next) chains.delete(checklist.id);
      });
      return next;
    },
    async idle() {
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}
