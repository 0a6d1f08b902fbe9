/**
 * `reaction_added` with the mark emoji (bot/incidents/marked-messages.ts): the message is read
 * back from Slack (conversations.history at its timestamp; a thread reply is not listed there and
 * is left alone) with its permalink (chat.getPermalink), and goes on the timeline of the incident
 * whose channel it is in. Another emoji, another item than a message, a channel that is no
 * incident's: nothing is asked of Slack. A failure is logged: nobody waits on a reaction's answer.
 */
import type { App } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { markOnTimeline } from '../incidents/marked-messages.js';
import type { IncidentStore } from '../incidents/incident-store.js';

export interface MarkedMessagesDeps {
  incidents: Pick<IncidentStore, 'inChannel' | 'addToTimeline'>;
  /** The emoji's name without colons (`pushpin`). */
  emoji: string;
  logger: PinoLogger;
}

export function registerMarkedMessages(app: App, deps: MarkedMessagesDeps): void {
  app.event('reaction_added', async ({ event, client }) => {
    if (event.reaction !== deps.emoji || event.item.type !== 'message') return;
    const { channel, ts } = event.item;
    try {
      // Asked first, so that a reaction anywhere else costs Slack nothing.
      const open = (await deps.incidents.inChannel(channel)).filter((incident) => incident.state !== 'closed');
      if (open.length !== 1) return;
      const history = await client.conversations.history({ channel, latest: ts, oldest: ts, inclusive: true, limit: 1 });
      const message = history.messages?.find((candidate) => candidate.ts === ts);
      if (!message) {
        deps.logger.info({ channel, ts }, 'a marked message is not in the channel history (a thread reply?); not put on the timeline');
        return;
      }
      const link = await client.chat.getPermalink({ channel, message_ts: ts }).catch((error: unknown) => {
        deps.logger.warn({ err: error, channel, ts }, 'no permalink for a marked message; it goes on the timeline without one');
        return undefined;
      });
      await markOnTimeline(deps.incidents, { channel, ts, author: message.user ?? message.bot_id ?? 'someone', text: message.text ?? '', markedBy: event.user, permalink: link?.permalink });
    } catch (error) {
      deps.logger.warn({ err: error, channel, ts }, 'a marked message could not be put on its incident timeline');
    }
  });
}
