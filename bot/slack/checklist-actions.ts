/**
 * A click on a checklist message's Tick / Untick / Confirm by hand / Re-run checks: the command a
 * person could type (`checklist tick|untick <id> <item>`, `checklist rerun <id>`), through the one
 * execution path (authorization, audit trail: who ticked what and when), origin `button`, as the
 * clicker. The message is not edited here: the checklist's change is shown by the bot's checklist
 * messages (checklist-messages.ts), whichever way it was made. A refusal is answered to the clicker only.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import { CHECKLIST_ACTION_PATTERN, checklistActionLine, type ChecklistAction } from './checklist-message.js';
import { countCommand, observeAck, postApprovalRequest } from './listener-kit.js';
import type { BotMetrics } from './metrics.js';
import { renderDocument } from './render.js';

export interface ChecklistActionsDeps {
  execution: ExecutionDeps;
  metrics: BotMetrics;
  logger: PinoLogger;
}

export function registerChecklistActions(app: App, deps: ChecklistActionsDeps): void {
  app.action<BlockAction<ButtonAction>>(CHECKLIST_ACTION_PATTERN, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    if (action.type !== 'button') return;
    const which = CHECKLIST_ACTION_PATTERN.exec(action.action_id)![1] as ChecklistAction;
    const line = checklistActionLine(which, action.value);
    if (!line) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'This button names no checklist item; nothing was done.' });
      return;
    }
    const channelId = body.channel?.id;
    const outcome = await executeCommandLine(deps.execution, {
      line,
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      origin: 'button',
      ...(channelId ? { channelId } : {}),
    });
    countCommand(deps.metrics, outcome, 'button');

    if (outcome.approval && channelId) {
      // The rules ask for approvals (strict mode): the request goes in the checklist's thread.
      const clickedTs = body.message?.ts;
      await postApprovalRequest(client, deps.execution.services.approvals, outcome.approval, [{ channel: channelId, ...(clickedTs ? { threadTs: clickedTs } : {}) }]);
      return;
    }
    // Done: the checklist's message shows it. A failed automatic check is news the message shows too.
    if (outcome.outcome !== 'rejected' && outcome.outcome !== 'error') return;
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, ...renderDocument(outcome.document) });
    } catch (error) {
      deps.logger.warn({ err: error, user: body.user.id }, 'checklist message: could not answer the clicker privately');
    }
  });
}
