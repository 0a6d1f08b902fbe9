/**
 * An approval request as a Slack message: the exact plan, requester, level, approvals needed,
 * expiry, where it stands, and (while it waits) Approve / Deny / Cancel buttons with confirm
 * dialogs. The buttons carry the request's id, never a command line: a click is a vote on that
 * request, not a new command. The same function renders every update, so the message always says
 * where the request stands; once it ran, the command's answer follows.
 */
import type { types as slackTypes } from '@slack/bolt';
import { clockTime, statusSentence, type ApprovalRequest, type Sentence } from '../approvals/index.js';
import { redactText } from '../audit-trail/redaction.js';
import { levelWords } from '../../commands/decision-documents.js';
import type { ResultDocument } from '../../commands/result.js';
import { escapeText, fitText, packLines } from './mrkdwn.js';
import { renderDocument, SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/** Prefix of the approval buttons' action_id: `acgs_approval_approve`, `_deny`, `_cancel`. */
export const APPROVAL_ACTION_PREFIX = 'acgs_approval_';
export const APPROVAL_ACTION_PATTERN = /^acgs_approval_(approve|deny|cancel)$/;

const SLACK_ID = /^[UW][A-Z0-9]{2,}$/;
/** At most this many blocks of the command's answer, divider included, follow a request that ran. */
const ANSWER_BLOCKS = 12;

/** A sentence as mrkdwn: people as mentions (only real user IDs), every text word escaped. */
export function sentenceMrkdwn(sentence: Sentence): string {
  return sentence.map((word) => (typeof word === 'string' ? escapeText(word) : SLACK_ID.test(word.user) ? `<@${word.user}>` : escapeText(`@${word.user}`))).join('');
}

const STATE_EMOJI: Record<ApprovalRequest['state'], string> = {
  pending: ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  executing: ':gear:',
  executed: ':white_check_mark:',
  failed: ':x:',
  denied: ':no_entry:',
  cancelled: ':heavy_multiplication_x:',
  expired: ':alarm_clock:',
  superseded: ':leftwards_arrow_with_hook:',
  outcome_unknown: ':grey_question:',
};

/**
 * The command line as a card shows it: a secret typed into it (`--token abc`, a connection string)
 * is redacted as the audit trail redacts it, since a channel message outlives the command. The
 * store keeps the line as typed: it is what runs once approved.
 */
export function shownLine(request: Pick<ApprovalRequest, 'action'>): string {
  return redactText(request.action.line);
}

/**
 * The plan the approvers approve, step by step, when the request carries one (a runbook run): every
 * line whole, over as many sections as it takes. A plan that needs more than `room` sections shows
 * the lines that fit and says which are missing and where to read them, never a silent cut.
 */
function planBlocks(request: ApprovalRequest, room: number): KnownBlock[] {
  const plan = request.action.plan;
  if (!plan || room < 1) return [];
  const lines = plan.map((line) => escapeText(redactText(line)));
  const pack = (count: number) => packLines(['*Plan*', ...lines.slice(0, count)], SLACK_LIMITS.sectionText);
  let chunks = pack(lines.length);
  if (chunks.length > room) {
    let shown = lines.length - 1;
    while (shown > 0 && pack(shown).length > room - 1) shown -= 1;
    chunks = [...pack(shown), planCutNote(request, shown, lines.length)];
  }
  return chunks.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
}

function planCutNote(request: ApprovalRequest, shown: number, total: number): string {
  const dryRun = fitText(`/acgs ${shownLine(request)} --dry-run`.replace(/`/g, 'ˋ'), 1000);
  return `:warning: *The plan does not fit in one Slack message:* lines ${shown + 1} to ${total} of ${total} are not shown here. Read the whole plan with \`${dryRun}\` before you approve.`;
}

export function renderApprovalMessage(request: ApprovalRequest, options: { now?: Date; result?: ResultDocument } = {}): SlackMessage {
  const now = options.now ?? new Date();
  const line = shownLine(request);
  const mention = (id: string) => sentenceMrkdwn([{ user: id }]);
  const status = sentenceMrkdwn(statusSentence(request, now));
  // The command's answer keeps room beside the plan: the plan gets what the other blocks leave.
  const answer = options.result ? [{ type: 'divider' } as KnownBlock, ...renderDocument(options.result).blocks.slice(0, ANSWER_BLOCKS - 1)] : [];
  const head: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(`${STATE_EMOJI[request.state]} Approval: ${line}`, SLACK_LIMITS.headerText), emoji: true } },
    {
      type: 'section',
      fields: [
        // A backtick would end the code span early.
        { type: 'mrkdwn', text: `*Command*\n\`${fitText(line.replace(/`/g, 'ˋ'), 1900)}\`` },
        { type: 'mrkdwn', text: `*Target*\n${escapeText(redactText(request.action.target ?? '—'))}` },
        { type: 'mrkdwn', text: `*State when requested*\n${fitText(redactText(request.action.stateFingerprint), 1900)}` },
        { type: 'mrkdwn', text: `*Requested by*\n${mention(request.requester)}` },
        { type: 'mrkdwn', text: `*Level*\n${escapeText(levelWords(request.level))}` },
        { type: 'mrkdwn', text: `*Approvals needed*\n${request.approvalsRequired} from ${escapeText(request.approverRoles.join(', '))} (not the requester)` },
        { type: 'mrkdwn', text: `*Expires*\n${escapeText(clockTime(request.expiresAt, now))}` },
      ],
    },
  ];
  const tail: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: status.slice(0, SLACK_LIMITS.sectionText) } }];
  if (request.state === 'pending') tail.push({ type: 'actions', block_id: `acgs_approval_${request.id}`, elements: approvalButtons(request) });
  if (request.state === 'expired') tail.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'The buttons no longer work: ask again if it is still needed.' }] });
  tail.push(...answer);
  // One block stays for the request's id below.
  const blocks: KnownBlock[] = [...head, ...planBlocks(request, SLACK_LIMITS.messageBlocks - head.length - tail.length - 1), ...tail];
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Request \`${request.id}\`` }] });
  const text = fitText(`Approval ${request.state}: ${line}`, SLACK_LIMITS.fallbackText);
  return { text, blocks };
}

/** A button's confirm dialog: title, the text (cut to Slack's limit), the confirming label and Back. */
export function confirmDialog(title: string, text: string, yes: string, danger = false): NonNullable<Button['confirm']> {
  return {
    title: { type: 'plain_text', text: title },
    text: { type: 'plain_text', text: fitText(text, SLACK_LIMITS.confirmText) },
    confirm: { type: 'plain_text', text: yes },
    deny: { type: 'plain_text', text: 'Back' },
    ...(danger ? { style: 'danger' as const } : {}),
  };
}

function approvalButtons(request: ApprovalRequest): Button[] {
  const line = fitText(shownLine(request), 200);
  return [
    {
      type: 'button',
      action_id: `${APPROVAL_ACTION_PREFIX}approve`,
      style: 'primary',
      text: { type: 'plain_text', text: 'Approve' },
      value: request.id,
      confirm: confirmDialog('Approve this action?', `Approve \`${line}\` as it stands (${redactText(request.action.stateFingerprint)}).`, 'Approve'),
    },
    {
      type: 'button',
      action_id: `${APPROVAL_ACTION_PREFIX}deny`,
      style: 'danger',
      text: { type: 'plain_text', text: 'Deny' },
      value: request.id,
      confirm: confirmDialog('Deny this action?', `Deny \`${line}\`: one deny ends the request and nothing runs.`, 'Deny', true),
    },
    {
      type: 'button',
      action_id: `${APPROVAL_ACTION_PREFIX}cancel`,
      text: { type: 'plain_text', text: 'Cancel' },
      value: request.id,
      confirm: confirmDialog('Cancel your request?', `Cancel \`${line}\`? Only the requester can; nothing runs.`, 'Cancel request'),
    },
  ];
}
