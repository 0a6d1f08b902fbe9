/**
 * A click on a review card's Approve / Reject: the same command a person could type, `evolution
 * review <id> approve|reject`, through the one execution path (authorization, audit trail),
 * origin `button`, as the clicker. Then the card shows the proposal as Evolution Oversight now
 * has it: decided (by this click or earlier, elsewhere) -> outcome, who, when, no buttons; still
 * waiting -> left as it is, usable by the next person. A refused click is answered to the
 * clicker only, first, so that no failure of Slack's updates can swallow the answer.
 */
import type { App, BlockAction, ButtonAction, webApi } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import { ServiceCallError } from '../../services/clients/http.js';
import { isEvolutionId, type Evolution } from '../../services/evolution-oversight/contract.js';
import type { ReviewCardStore } from '../evolution-reviews/index.js';
import { EVOLUTION_REVIEW_ACTION_PATTERN, renderEvolutionReviewCard } from './evolution-review-card.js';
import { countCommand, observeAck, postApprovalRequest } from './listener-kit.js';
import type { BotMetrics } from './metrics.js';
import { renderDocument } from './render.js';

export interface EvolutionReviewListenerDeps {
  execution: ExecutionDeps;
  metrics: BotMetrics;
  logger: PinoLogger;
  /** Where the cards are recorded; a card updated here is closed there, so the poller leaves it. */
  cards?: ReviewCardStore;
}

export function registerEvolutionReviewListener(app: App, deps: EvolutionReviewListenerDeps): void {
  app.action<BlockAction<ButtonAction>>(EVOLUTION_REVIEW_ACTION_PATTERN, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    if (action.type !== 'button') return;
    const decision = EVOLUTION_REVIEW_ACTION_PATTERN.exec(action.action_id)![1] as 'approve' | 'reject';
    const id = typeof action.value === 'string' ? action.value.toLowerCase() : '';
    if (!isEvolutionId(id)) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'This button names no proposal; nothing was reviewed.' });
      return;
    }
    const channelId = body.channel?.id;
    const outcome = await executeCommandLine(deps.execution, {
      line: `evolution review ${id} ${decision}`,
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      origin: 'button',
      ...(channelId ? { channelId } : {}),
    });
    countCommand(deps.metrics, outcome, 'button');

    const clickedTs = body.message?.ts;
    if (outcome.approval && channelId) {
      // The rules ask for approvals after all (a strict-mode patch): the request goes in the card's thread.
      await postApprovalRequest(client, deps.execution.services.approvals, outcome.approval, [{ channel: channelId, ...(clickedTs ? { threadTs: clickedTs } : {}) }]);
      return;
    }
    if (outcome.outcome !== 'ok') {
      // Refused (not an approver, own proposal, already decided) or failed: only the clicker reads why.
      try {
        await respond({ response_type: 'ephemeral', replace_original: false, ...renderDocument(outcome.document) });
      } catch (error) {
        deps.logger.warn({ err: error, evolution: id, user: body.user.id }, 'evolution review card: could not answer the clicker privately');
      }
    }
    if (channelId && clickedTs) await refreshCard(deps, client, id, { channel: channelId, ts: clickedTs });
  });
}

/** Shows the proposal's decision on the card, once it has one; a card still waiting stays usable. */
async function refreshCard(deps: EvolutionReviewListenerDeps, client: webApi.WebClient, id: string, clicked: { channel: string; ts: string }): Promise<void> {
  let evolution: Evolution | undefined;
  try {
    evolution = await deps.execution.services.evolutionOversight.get(id);
  } catch (error) {
    if (!(error instanceof ServiceCallError && error.status === 404)) {
      // Unknown now: the poller brings the card up to date on a later round.
      deps.logger.warn({ err: error, evolution: id }, 'evolution review card: could not read the proposal back; the poller will update the card');
      return;
    }
  }
  if (evolution?.status === 'human_review') return;
  const message = renderEvolutionReviewCard(id, evolution);
  const stored = await deps.cards?.get(id).catch(() => undefined);
  const refs = new Map([[`${clicked.channel}/${clicked.ts}`, clicked]]);
  if (stored?.ref) refs.set(`${stored.ref.channel}/${stored.ref.ts}`, stored.ref);
  // Each message on its own: one that cannot be updated (deleted in Slack, a rate limit) leaves
  // the others updated, and the card is closed anyway; a click on a stale card refreshes it.
  await Promise.all(
    [...refs.values()].map(async (ref) => {
      try {
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...message });
      } catch (error) {
        deps.logger.warn({ err: error, evolution: id, channel: ref.channel, ts: ref.ts }, 'evolution review card: could not update a card message');
      }
    }),
  );
  await deps.cards?.close(id, evolution?.status ?? 'gone').catch((error: unknown) => deps.logger.warn({ err: error, evolution: id }, 'evolution review card: could not mark the card closed; the poller will'));
}
