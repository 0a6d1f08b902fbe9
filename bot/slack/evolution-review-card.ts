/**
 * An agent change proposal as a review card in the approvals channel: agent, version, priority,
 * risk score and factors, the change (clipped), the rollback plan, requester, when it was
 * proposed, and, while it waits for review, Approve / Reject buttons with confirm dialogs. The
 * buttons carry the proposal's id, never a command line; a click runs `evolution review <id>
 * approve|reject` as the clicker. Rendered only from the proposal as Evolution Oversight has it,
 * so the card reads the same whoever updates it (the click, the poller, another replica).
 */
import type { types as slackTypes, webApi } from '@slack/bolt';
import type { CardRef, ReviewCardPublisher } from '../evolution-reviews/index.js';
import { formatTimestamp } from '../../commands/format.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import { confirmDialog, sentenceMrkdwn } from './approval-message.js';
import { escapeText, fitText, packLines, TRUNCATED_NOTE } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/** `acgs_evolution_review_approve` and `_reject`; the value is the proposal's id. */
export const EVOLUTION_REVIEW_ACTION_PREFIX = 'acgs_evolution_review_';
export const EVOLUTION_REVIEW_ACTION_PATTERN = /^acgs_evolution_review_(approve|reject)$/;

/** The change and the rollback plan are cut here: the card is a summary, the service has the whole text. */
const DESCRIPTION_SHOWN = 1200;
const ROLLBACK_SHOWN = 600;
const JUSTIFICATION_SHOWN = 500;

const person = (id: string) => sentenceMrkdwn([{ user: id }]);
const short = (id: string) => id.slice(0, 8);

function outcomeLine(evolution: Evolution | undefined): string | undefined {
  if (!evolution) return ':grey_question: Evolution Oversight no longer knows this proposal; nothing can be reviewed here.';
  const review = evolution.review;
  const decided = review ? `by ${person(review.reviewer_id)} at ${escapeText(formatTimestamp(review.reviewed_at))}: “${fitText(review.justification, JUSTIFICATION_SHOWN)}”` : '';
  switch (evolution.status) {
    case 'human_review':
      return undefined;
    case 'approved':
      return `:white_check_mark: *Approved* ${decided}`;
    case 'rejected':
      return `:no_entry: *Rejected* ${decided}`;
    case 'rolled_back':
      return `:leftwards_arrow_with_hook: *Rolled back*${evolution.rollback ? ` by ${person(evolution.rollback.requested_by)} at ${escapeText(formatTimestamp(evolution.rollback.rolled_back_at))}` : ''}${review ? ` (it was ${review.decision} ${decided})` : ''}`;
    default:
      return `:information_source: Now *${fitText(evolution.status, 40)}*; it no longer waits for a human review here.`;
  }
}

export function renderEvolutionReviewCard(evolutionId: string, evolution: Evolution | undefined): SlackMessage {
  if (!evolution) {
    const text = outcomeLine(undefined)!;
    return {
      text: `Evolution ${short(evolutionId)}: no longer known`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: `:grey_question: Evolution review: ${short(evolutionId)}`, emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Evolution \`${escapeText(evolutionId)}\`` }] },
      ],
    };
  }
  const waiting = evolution.status === 'human_review';
  const risk = evolution.policy.risk_score === null ? '—' : evolution.policy.risk_score.toFixed(2);
  const factorChunks = packLines(evolution.policy.risk_factors.map((factor) => `• ${fitText(factor, 200)}`), SLACK_LIMITS.sectionText - 40);
  const factors = factorChunks.length === 0 ? '_none reported_' : `${factorChunks[0]}${factorChunks.length > 1 ? `\n${TRUNCATED_NOTE}` : ''}`;
  // Values are escaped mrkdwn already, each far inside a field's limit (the service bounds them).
  const field = (label: string, value: string) => ({ type: 'mrkdwn' as const, text: `*${label}*\n${value}` });
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: fitText(`${waiting ? ':mag:' : ':card_index:'} Evolution review: ${evolution.agent_id} ${evolution.new_version}`, SLACK_LIMITS.headerText), emoji: true },
    },
    {
      type: 'section',
      fields: [
        field('Agent', fitText(evolution.agent_id, 200)),
        field('Version', fitText(evolution.new_version, 100)),
        field('Priority', fitText(evolution.priority, 40)),
        field('Risk score', risk),
        field('Requested by', person(evolution.requester_id)),
        field('Proposed at', escapeText(formatTimestamp(evolution.created_at))),
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Risk factors*\n${factors}` } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Change*\n${fitText(evolution.change_description, DESCRIPTION_SHOWN)}` } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Rollback plan*\n${evolution.rollback_plan ? fitText(evolution.rollback_plan, ROLLBACK_SHOWN) : ':warning: none given'}` },
    },
  ];
  const outcome = outcomeLine(evolution);
  if (outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: outcome } });
  if (waiting) blocks.push({ type: 'actions', block_id: `${EVOLUTION_REVIEW_ACTION_PREFIX}${evolution.id}`, elements: reviewButtons(evolution) });
  const how = waiting ? ` · or type \`/acgs evolution review ${short(evolution.id)} approve|reject [reason]\`` : '';
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Evolution \`${escapeText(evolution.id)}\` · ${escapeText(evolution.status)}${how}` }] });
  return { text: fitText(`Evolution review (${evolution.status}): ${evolution.agent_id} ${evolution.new_version}, risk ${risk}`, SLACK_LIMITS.fallbackText), blocks };
}

function reviewButtons(evolution: Evolution): Button[] {
  const what = `${evolution.agent_id} → ${evolution.new_version}`;
  return [
    {
      type: 'button',
      action_id: `${EVOLUTION_REVIEW_ACTION_PREFIX}approve`,
      style: 'primary',
      text: { type: 'plain_text', text: 'Approve' },
      value: evolution.id,
      confirm: confirmDialog('Approve this evolution?', `Approve ${what} in Evolution Oversight. You are recorded as its reviewer.`, 'Approve', false),
    },
    {
      type: 'button',
      action_id: `${EVOLUTION_REVIEW_ACTION_PREFIX}reject`,
      style: 'danger',
      text: { type: 'plain_text', text: 'Reject' },
      value: evolution.id,
      confirm: confirmDialog('Reject this evolution?', `Reject ${what} in Evolution Oversight. You are recorded as its reviewer; type the command with a reason to give one.`, 'Reject', true),
    },
  ];
}

/** Posts and updates cards with the bot's Web API client. */
export function slackReviewCardPublisher(client: webApi.WebClient): ReviewCardPublisher {
  return {
    async post(channel, evolution) {
      const posted = await client.chat.postMessage({ channel, ...renderEvolutionReviewCard(evolution.id, evolution) });
      if (!posted.ts || !posted.channel) throw new Error(`chat.postMessage gave no channel and ts for the card of ${evolution.id}`);
      return { channel: posted.channel, ts: posted.ts };
    },
    async update(ref: CardRef, evolutionId, evolution) {
      await client.chat.update({ channel: ref.channel, ts: ref.ts, ...renderEvolutionReviewCard(evolutionId, evolution) });
    },
  };
}
