/**
 * Messages people mark: a reaction with the config's emoji (`incidents.mark_emoji`, default
 * `pushpin`) on a message in an incident's channel puts that message on the incident's timeline
 * (kind `marked-message`) at the time it was posted, with its author, its text and its permalink.
 * Slack-free: bot/slack/marked-messages.ts reads the event and the message from Slack.
 */
import { z } from 'zod';
import { MAX_TEXT_LENGTH } from './incident-input.js';
import type { IncidentStore } from './incident-store.js';

export const DEFAULT_MARK_EMOJI = 'pushpin';

/** An emoji's name as Slack names it in a reaction (`pushpin`, `+1`); `:pushpin:` is taken too. */
export const MarkEmoji = z
  .string()
  .trim()
  .transform((name) => name.replace(/^:(.*):$/, '$1'))
  .pipe(z.string().regex(/^[a-z0-9_+'-]{1,100}$/, 'must be an emoji name such as pushpin or :pushpin: (lowercase letters, digits, _ + - \')'));

export interface MarkedMessage {
  channel: string;
  /** Slack's message timestamp: when it was posted, and its identity in the channel. */
  ts: string;
  /** Who wrote it (a user ID, or the bot's). */
  author: string;
  text: string;
  /** Who reacted. */
  markedBy: string;
  permalink: string | undefined;
}

/** `1765082400.000100` → the time it was posted. */
export function messageTime(ts: string): Date | undefined {
  if (!/^[0-9]{1,12}(\.[0-9]{1,6})?$/.test(ts)) return undefined;
  const [seconds, fraction = ''] = ts.split('.');
  return new Date(Number(seconds) * 1000 + Math.floor(Number(fraction.padEnd(6, '0')) / 1000));
}

/**
 * Puts the message on the timeline of the one incident not closed that runs in its channel, once
 * per message whoever marks it and however often (the request key names the message). A channel
 * several incidents share (channels.ops) says nothing about whose the message is: nothing then.
 */
export async function markOnTimeline(store: Pick<IncidentStore, 'inChannel' | 'addToTimeline'>, marked: MarkedMessage): Promise<string | undefined> {
  const at = messageTime(marked.ts);
  if (!at) return undefined;
  const open = (await store.inChannel(marked.channel)).filter((incident) => incident.state !== 'closed');
  if (open.length !== 1) return undefined;
  const incident = open[0]!;
  const text = `${marked.author}: ${marked.text.trim() === '' ? '(a message without text)' : marked.text}`.slice(0, MAX_TEXT_LENGTH);
  await store.addToTimeline(
    incident.key,
    { kind: 'marked-message', occurredAt: at, actor: marked.markedBy, text, ...(marked.permalink ? { reference: marked.permalink } : {}), requestKey: `marked-message:${marked.channel}:${marked.ts}` },
    new Date(),
  );
  return incident.key;
}
