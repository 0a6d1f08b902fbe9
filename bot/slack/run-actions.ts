/**
 * A click on a run message's Abort / Retry / Skip / Abort: the same command a person could type,
 * `run abort <id>` or `run decide <id> retry|skip|abort`, through the one execution path
 * (authorization, approvals, audit trail), origin `button`, as the clicker. The message itself is
 * not touched here: the publisher (run-message-publisher.ts) shows the run's new state on its next
 * poll, whichever replica publishes it. A refusal or failure is answered to the clicker only.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { isRunId } from '../../runbooks/engine/run-store.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import { countCommand, observeAck, postApprovalRequest } from './listener-kit.js';
import type { BotMetrics } from './metrics.js';
import { renderDocument } from './render.js';
import { RUNBOOK_ACTION_PATTERN, runActionLine, type RunbookAction } from './run-message.js';

export interface RunActionsDeps {
  execution: ExecutionDeps;
  metrics: BotMetrics;
  logger: PinoLogger;
}

export function registerRunActions(app: App, deps: RunActionsDeps): void {
  app.action<BlockAction<ButtonAction>>(RUNBOOK_ACTION_PATTERN, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    if (action.type !== 'button') return;
    const which = RUNBOOK_ACTION_PATTERN.exec(action.action_id)![1] as RunbookAction;
    const runId = typeof action.value === 'string' ? action.value.toLowerCase() : '';
    if (!isRunId(runId)) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'This button names no run; nothing was done.' });
      return;
    }
    const channelId = body.channel?.id;
    const outcome = await executeCommandLine(deps.execution, {
      line: runActionLine(which, runId),
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      origin: 'button',
      ...(channelId ? { channelId } : {}),
    });
    countCommand(deps.metrics, outcome, 'button');

    if (outcome.approval && channelId) {
      // The rules ask for approvals (an escalated runbook, strict mode): the request goes in the run's thread.
      const clickedTs = body.message?.ts;
      await postApprovalRequest(client, deps.execution.services.approvals, outcome.approval, [{ channel: channelId, ...(clickedTs ? { threadTs: clickedTs } : {}) }]);
      return;
    }
    if (outcome.outcome === 'ok') return;
    // Refused (no right to, the run waits for no decision any more) or failed: only the clicker reads why.
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, ...renderDocument(outcome.document) });
    } catch (error) {
      deps.logger.warn({ err: error, run: runId, user: body.user.id }, 'run message: could not answer the clicker privately');
    }
  });
}
