/**
 * A started checklist as one Slack message, edited in place: a header with its state, who started
 * it (and who completed it), one section per item with what the bot saw or who ticked it, a Tick
 * or Untick button beside each item a person may change, and "Re-run checks" while it is open.
 * The buttons carry only the checklist's id and the item's id; a click runs `checklist tick|untick
 * <id> <item>` or `checklist rerun <id>` as the clicker (checklist-actions.ts).
 *
 * Rendered only from what the store holds, never from `now`, so every replica renders the same
 * message for the same rows.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { ChecklistInfo, ChecklistItemInfo } from '../../commands/ports.js';
import { sentenceMrkdwn } from './approval-message.js';
import { escapeText, fitText } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/** `acgs_checklist_tick`, `_untick` (value `<checklist id> <item id>`) and `_rerun` (value `<checklist id>`). */
export const CHECKLIST_ACTION_PREFIX = 'acgs_checklist_';
export const CHECKLIST_ACTION_PATTERN = /^acgs_checklist_(tick|untick|rerun)$/;
export type ChecklistAction = 'tick' | 'untick' | 'rerun';

const ITEM_EMOJI: Record<ChecklistItemInfo['state'], string> = {
  open: ':white_large_square:',
  ticked: ':ballot_box_with_check:',
  pass: ':white_check_mark:',
  fail: ':x:',
  unknown: ':grey_question:',
};

const EVIDENCE_SHOWN = 1200;
const TEXT_SHOWN = 300;
const utcTime = (iso: string) => `${iso.slice(11, 19)} UTC`;
const utcDateTime = (iso: string) => `${iso.slice(0, 10)} ${utcTime(iso)}`;
const person = (id: string) => sentenceMrkdwn([{ user: id }]);

/** One item as the checklist message shows it (the incident briefing shows a procedure's first steps the same way). */
export function checklistItemLine(item: ChecklistItemInfo): string {
  const head = `${ITEM_EMOJI[item.state]} *${fitText(item.text, TEXT_SHOWN)}*`;
  let detail: string;
  switch (item.state) {
    case 'ticked':
      detail = `Ticked by ${person(item.tickedBy!)} at ${utcTime(item.tickedAt!)}${item.mode === 'auto' ? ' (confirmed by hand: the bot could not check it)' : ''}`;
      break;
    case 'open':
      detail = `_${fitText(item.note, TEXT_SHOWN)}_`;
      break;
    default:
      detail = `${item.state === 'pass' ? 'Passed' : item.state === 'fail' ? 'Failed' : 'Could not check'}: ${fitText(item.evidence ?? 'no evidence', EVIDENCE_SHOWN)}${item.checkedAt ? ` _(checked ${utcTime(item.checkedAt)})_` : ''}`;
  }
  return `${head}\n${detail}`;
}

/** The button beside an item, when a person may change it now: Tick (or confirm by hand an unknown check), Untick. */
function itemButton(checklist: ChecklistInfo, item: ChecklistItemInfo): Button | undefined {
  if (checklist.completedAt) return undefined;
  const value = `${checklist.id} ${item.id}`;
  if (item.state === 'ticked') return { type: 'button', action_id: `${CHECKLIST_ACTION_PREFIX}untick`, text: { type: 'plain_text', text: 'Untick' }, value };
  if (item.state === 'open') return { type: 'button', action_id: `${CHECKLIST_ACTION_PREFIX}tick`, style: 'primary', text: { type: 'plain_text', text: 'Tick' }, value };
  if (item.state === 'unknown') return { type: 'button', action_id: `${CHECKLIST_ACTION_PREFIX}tick`, text: { type: 'plain_text', text: 'Confirm by hand' }, value };
  return undefined;
}

export function renderChecklistMessage(checklist: ChecklistInfo): SlackMessage {
  const settled = checklist.items.filter((item) => item.state === 'pass' || item.state === 'ticked').length;
  const failing = checklist.items.filter((item) => item.state === 'fail').length;
  const total = checklist.items.length;
  const state = checklist.completedAt ? 'completed' : `${settled} of ${total} done`;
  const emoji = checklist.completedAt ? ':white_check_mark:' : failing > 0 ? ':x:' : ':clipboard:';

  const about = [
    `Started by ${person(checklist.startedBy)} at ${utcDateTime(checklist.createdAt)}`,
    checklist.completedAt ? `*completed by ${person(checklist.completedBy!)}* at ${utcDateTime(checklist.completedAt)}` : `${settled} of ${total} items passed or ticked`,
    ...(failing > 0 && !checklist.completedAt ? [`${failing} check${failing === 1 ? '' : 's'} failed: fix, then re-run`] : []),
  ].join(' · ');
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(`${emoji} ${checklist.title}: ${state}`, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: about } },
    { type: 'divider' },
  ];
  for (const item of checklist.items) {
    const button = itemButton(checklist, item);
    blocks.push({
      type: 'section',
      block_id: `${CHECKLIST_ACTION_PREFIX}item_${item.id}`,
      // Escaped part by part in checklistItemLine; its parts are bounded (texts by the definitions, evidence here), far below the section's limit.
      text: { type: 'mrkdwn', text: checklistItemLine(item) },
      ...(button ? { accessory: button } : {}),
    });
  }
  if (!checklist.completedAt && checklist.items.some((item) => item.mode === 'auto')) {
    blocks.push({
      type: 'actions',
      block_id: `${CHECKLIST_ACTION_PREFIX}${checklist.id}`,
      elements: [{ type: 'button', action_id: `${CHECKLIST_ACTION_PREFIX}rerun`, text: { type: 'plain_text', text: 'Re-run checks' }, value: checklist.id }],
    });
  }
  const typed = checklist.completedAt ? '' : ` · or type \`/acgs checklist tick ${escapeText(checklist.id)} <item>\``;
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Checklist \`${escapeText(checklist.id)}\` · every tick is recorded with who and when${typed}` }] });
  return { text: fitText(`${checklist.title}: ${state}`, SLACK_LIMITS.fallbackText), blocks };
}

/** What a click stands for, from the button's value; undefined when the value names no checklist item (forged, or stale beyond use). */
export function checklistActionLine(action: ChecklistAction, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
  if (action === 'rerun') return new RegExp(`^${uuid}$`).test(value) ? `checklist rerun ${value}` : undefined;
  const match = new RegExp(`^(${uuid}) ([a-z][a-z0-9-]{0,39})$`).exec(value);
  return match ? `checklist ${action} ${match[1]} ${match[2]}` : undefined;
}
