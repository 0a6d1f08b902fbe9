/**
 * ResultDocument -> Block Kit. The one place that knows how a command's answer looks in Slack.
 * Every piece of text is escaped, and every Block Kit limit is met here by splitting long content
 * over several blocks or cutting it with a visible "… (truncated)" note, because Slack refuses a
 * whole message for one field that is too long.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { ProgressStep } from '../../commands/progress.js';
import type { ResultAction, ResultBlock, ResultDocument, Tone } from '../../commands/result.js';
import { redactText } from '../audit-trail/redaction.js';
import { clip, escapeText, fitText, packLines, TRUNCATED_NOTE } from './mrkdwn.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/** The Block Kit limits we stay inside (https://docs.slack.dev/reference/block-kit). */
export const SLACK_LIMITS = {
  messageBlocks: 50,
  homeBlocks: 100,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextText: 2000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  fallbackText: 3000,
} as const;

/** Table cells are cut to this width so that one long value cannot push the others off screen. */
const TABLE_CELL_WIDTH = 48;
/** The last column is not padded, so it may run longer (help's descriptions, log messages). */
const TABLE_LAST_CELL_WIDTH = 160;
/** Prefix of every command button's action_id; the app matches on it. */
export const RUN_ACTION_PREFIX = 'acgs_run_';

const TONE_EMOJI: Record<Tone, string> = {
  ok: ':large_green_circle:',
  warn: ':large_yellow_circle:',
  fail: ':red_circle:',
  info: ':information_source:',
};

const CHECK_EMOJI: Record<Tone, string> = {
  ok: ':white_check_mark:',
  warn: ':warning:',
  fail: ':x:',
  info: ':information_source:',
};

export interface SlackMessage {
  /** Plain fallback for notifications and clients that cannot show blocks. */
  text: string;
  blocks: KnownBlock[];
}

export interface RenderOptions {
  /** 50 for messages (the default), 100 for an App Home view. */
  maxBlocks?: number;
}

export function renderDocument(document: ResultDocument, options: RenderOptions = {}): SlackMessage {
  const maxBlocks = options.maxBlocks ?? SLACK_LIMITS.messageBlocks;
  const head: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(`${TONE_EMOJI[document.tone]} ${document.title}`, SLACK_LIMITS.headerText), emoji: true } },
  ];
  const people = mentionsOf(document.people ?? []);
  if (document.summary) head.push(section(people(fitText(document.summary, SLACK_LIMITS.sectionText - people.room))));

  const tail: KnownBlock[] = [...renderActions(document.actions ?? [])];
  if (document.footer) tail.push(context(people(fitText(document.footer, SLACK_LIMITS.contextText - people.room))));

  let body = document.blocks.flatMap((block) => renderBlock(block, people));
  const budget = maxBlocks - head.length - tail.length;
  if (body.length > budget) {
    const shown = Math.max(0, budget - 1);
    const hidden = body.length - shown;
    body = [...body.slice(0, shown), context(`${TRUNCATED_NOTE}: ${hidden} more block${hidden === 1 ? '' : 's'} not shown`)];
  }
  return { text: fallbackText(document), blocks: [...head, ...body, ...tail] };
}

/**
 * Who ran which command, shown over a slash command's first message: Slack attributes a
 * response_url reply ("used /acgs"), but not a message the bot posts itself.
 */
export interface ProgressAttribution {
  userId: string;
  /** The command as typed, with its slash command: `/acgs restart policy-engine`. */
  command: string;
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** Escaped text -> the same with the document's people as mentions; `room`: what to leave for the `<@` `>` they add. */
type Mentions = ((escaped: string) => string) & { room: number };

/**
 * Each well-formed user ID the document lists becomes a mention where it stands as a whole word.
 * Escaping leaves an ID as it was, so it is found after; a document without people renders as before.
 */
function mentionsOf(people: readonly string[]): Mentions {
  const ids = [...new Set(people)].filter((id) => SLACK_USER_ID.test(id));
  if (ids.length === 0) return Object.assign((escaped: string) => escaped, { room: 0 });
  const pattern = new RegExp(`(?<![\\w@])(${ids.join('|')})(?!\\w)`, 'g');
  // A document names a person or two: 64 characters leave room for their brackets.
  return Object.assign((escaped: string) => escaped.replace(pattern, '<@$1>'), { room: 64 });
}

function renderAttribution(ranBy: ProgressAttribution): KnownBlock {
  // Only a well-formed user ID becomes a mention; anything else is shown as text.
  const who = SLACK_USER_ID.test(ranBy.userId) ? `<@${ranBy.userId}>` : fitText(`@${ranBy.userId}`, 64, '…');
  // A typed secret is not echoed into the channel; a backtick would end the code span early.
  const line = redactText(oneLine(ranBy.command)).replace(/`/g, 'ˋ');
  return context(`${who} ran \`${fitText(line, SLACK_LIMITS.contextText - 128, '…')}\``);
}

/**
 * One step of a multi-step command, as its own small message (the reply, or a reply in its
 * thread); `ranBy` for the step that starts a new thread in the channel.
 */
export function renderProgressStep(step: ProgressStep, number: number, ranBy?: ProgressAttribution): SlackMessage {
  const text = `Step ${number}: ${step.text}`;
  const mrkdwn = `${CHECK_EMOJI[step.tone ?? 'ok']} *Step ${number}*  ${fitText(step.text, SLACK_LIMITS.sectionText - 64)}`;
  return { text: fitText(text, SLACK_LIMITS.fallbackText), blocks: [...(ranBy ? [renderAttribution(ranBy)] : []), section(mrkdwn)] };
}

/**
 * The first step's message once the command has finished: who ran it and the step as they were,
 * and under them the outcome in one line, so the channel shows how it ended without opening the
 * thread.
 */
export function renderProgressParent(first: ProgressStep, document: ResultDocument, ranBy?: ProgressAttribution): SlackMessage {
  const step = renderProgressStep(first, 1, ranBy);
  const outcome = `${TONE_EMOJI[document.tone]} *${fitText(document.title, SLACK_LIMITS.headerText)}*${document.summary ? `: ${fitText(document.summary, SLACK_LIMITS.sectionText - 256)}` : ''}`;
  return {
    text: fallbackText(document),
    blocks: [...step.blocks, section(outcome), context('The steps and the full answer are in the thread.')],
  };
}

/**
 * The first step's message once the command has finished with an answer that is not in its
 * thread (ephemeral, or refused by the thread): it says that it ended and where the answer went,
 * never how it ended, so an ephemeral answer does not leak through the channel.
 */
export function renderProgressParentElsewhere(first: ProgressStep, where: 'private' | 'reply', ranBy?: ProgressAttribution): SlackMessage {
  const note =
    where === 'private'
      ? 'Finished. The answer was shown only to the person who ran the command.'
      : 'Finished. The answer could not be posted in the thread; it came as a reply to the command.';
  return { text: note, blocks: [...renderProgressStep(first, 1, ranBy).blocks, context(note)] };
}

/** What a notification or a screen reader shows: the verdict in one line. */
export function fallbackText(document: ResultDocument): string {
  return fitText(document.summary ? `${document.title}: ${document.summary}` : document.title, SLACK_LIMITS.fallbackText);
}

/** `people` turns the document's people into mentions; tables and code are monospaced, where a mention does not show. */
function renderBlock(block: ResultBlock, people: Mentions): KnownBlock[] {
  switch (block.type) {
    case 'checks':
      return packLines(
        block.items.map((item) => `${CHECK_EMOJI[item.tone]} *${escapeText(item.name)}*  ${people(escapeText(item.text))}`),
        SLACK_LIMITS.sectionText,
      ).map(section);
    case 'fields':
      return renderFields(block.fields, people);
    case 'table':
      return renderTable(block.columns, block.rows, block.whole);
    case 'text':
      return packLines(people(escapeText(block.text)).split('\n'), SLACK_LIMITS.sectionText).map(section);
    case 'code':
      return codeSections(block.text.split('\n'));
    case 'divider':
      return [{ type: 'divider' }];
  }
}

function renderFields(fields: readonly { label: string; value: string }[], people: Mentions): KnownBlock[] {
  const sections: KnownBlock[] = [];
  for (let start = 0; start < fields.length; start += SLACK_LIMITS.sectionFields) {
    sections.push({
      type: 'section',
      fields: fields.slice(start, start + SLACK_LIMITS.sectionFields).map(({ label, value }) => {
        const title = `*${fitText(label, 200)}*\n`;
        return { type: 'mrkdwn' as const, text: `${title}${people(fitText(value || '—', SLACK_LIMITS.fieldText - title.length - people.room))}` };
      }),
    });
  }
  return sections;
}

/** A table as monospaced text, its header repeated at the top of every section it spans. */
function renderTable(columns: readonly string[], rows: readonly (readonly string[])[], whole: readonly number[] = []): KnownBlock[] {
  if (rows.length === 0) return [section(`_${escapeText(`no ${columns.join(' / ')} to show`)}_`)];
  const last = columns.length - 1;
  // A whole column gets the last column's room: usages are far shorter, and a section's limit still holds.
  const width = (index: number) => (whole.includes(index) ? TABLE_LAST_CELL_WIDTH : index === last ? TABLE_LAST_CELL_WIDTH : TABLE_CELL_WIDTH);
  const cells = [columns, ...rows].map((row) => columns.map((_, index) => clip(oneLine(row[index] ?? ''), width(index))));
  const widths = columns.map((_, index) => Math.max(...cells.map((row) => Array.from(row[index]!).length)));
  const line = (row: string[]) => row.map((cell, index) => (index === row.length - 1 ? cell : padEnd(cell, widths[index]!))).join('  ').trimEnd();
  const [headerRow, ...bodyRows] = cells;
  const header = [line(headerRow!), widths.map((width) => '-'.repeat(width)).join('  ')];
  return codeSections(bodyRows.map(line), header);
}

/** Code fences around escaped lines; ``` inside the text is broken up so it cannot end the fence. */
function codeSections(rawLines: readonly string[], repeatedHeader: readonly string[] = []): KnownBlock[] {
  const fence = (text: string) => `\`\`\`\n${text}\n\`\`\``;
  const header = repeatedHeader.map((line) => escapeText(line));
  const headerLength = header.reduce((total, line) => total + line.length + 1, 0);
  const room = SLACK_LIMITS.sectionText - fence('').length - headerLength;
  const lines = rawLines.map((line) => escapeText(line.replace(/```/g, '`\u200b`\u200b`')));
  const chunks = packLines(lines.length > 0 ? lines : [''], room);
  return chunks.map((chunk) => section(fence([...header, chunk].join('\n'))));
}

function renderActions(allActions: readonly ResultAction[]): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  // A cut command line would run a different command: such a button is left out, visibly.
  const actions = allActions.filter((action) => action.command.length <= SLACK_LIMITS.buttonValue);
  for (let start = 0; start < actions.length; start += SLACK_LIMITS.actionsElements) {
    const elements = actions.slice(start, start + SLACK_LIMITS.actionsElements).map((action, offset) => button(action, start + offset));
    blocks.push({ type: 'actions', block_id: `acgs_actions_${start / SLACK_LIMITS.actionsElements}`, elements });
  }
  const left = allActions.length - actions.length;
  if (left > 0) blocks.push(context(`${TRUNCATED_NOTE}: ${left} button${left === 1 ? '' : 's'} left out, command too long`));
  return blocks;
}

function button(action: ResultAction, index: number): Button {
  const element: Button = {
    type: 'button',
    action_id: `${RUN_ACTION_PREFIX}${index}`,
    text: { type: 'plain_text', text: fitText(action.label, SLACK_LIMITS.buttonText, '…'), emoji: true },
    // The value is a command line, read back by the app, never shown: it stays unescaped.
    value: action.command,
  };
  if (action.style) element.style = action.style;
  if (action.confirm) {
    element.confirm = {
      title: { type: 'plain_text', text: fitText(action.confirm.title, SLACK_LIMITS.confirmTitle, '…') },
      text: { type: 'plain_text', text: fitText(action.confirm.text, SLACK_LIMITS.confirmText) },
      confirm: { type: 'plain_text', text: fitText(action.confirm.confirm, SLACK_LIMITS.confirmButton, '…') },
      deny: { type: 'plain_text', text: fitText(action.confirm.deny, SLACK_LIMITS.confirmButton, '…') },
      ...(action.style === 'danger' ? { style: 'danger' as const } : {}),
    };
  }
  return element;
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - Array.from(text).length));
}
