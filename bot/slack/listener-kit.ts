/**
 * What every Slack listener does around a command, in one place so the listeners cannot drift
 * apart: time its ack, count the command it ran, and post an approval request and remember where
 * it was posted (so the votes can update it later). And the whole of a button that stands for a
 * command line (run and checklist messages), so those buttons cannot drift apart either.
 */
import type { App, BlockAction, ButtonAction, Context, webApi } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import type { ApprovalRequest, ApprovalStore } from '../approvals/index.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome, type ExecutionRequest } from '../command-path/index.js';
import { renderApprovalMessage } from './approval-message.js';
import type { BotMetrics } from './metrics.js';
import { renderDocument } from './render.js';

/** Set by the receivers' customPropertiesExtractor: when our process first saw the delivery. */
export interface DeliveryTiming {
  receivedAt?: number;
}

/** Records how long the delivery waited for its ack, when the receiver said when it arrived. */
export function observeAck(metrics: BotMetrics, context: Context, kind: string): void {
  const receivedAt = (context as Context & DeliveryTiming).receivedAt;
  if (typeof receivedAt === 'number') metrics.ackLatency.observe({ kind }, (performance.now() - receivedAt) / 1000);
}

/** Counts a command line the listener ran, and how long it took. */
export function countCommand(metrics: BotMetrics, outcome: ExecutionOutcome, origin: ExecutionRequest['origin']): void {
  metrics.commands.inc({ command: outcome.command ?? 'unknown', outcome: outcome.outcome, origin });
  metrics.commandDuration.observe({ command: outcome.command ?? 'unknown' }, outcome.durationMs / 1000);
}

/** Where an approval request is posted: a channel, or a thread in it. */
export interface ApprovalPlace {
  channel: string;
  threadTs?: string;
}

/** Posts the request in each place in turn and attaches each message to the request. */
export async function postApprovalRequest(client: webApi.WebClient, store: ApprovalStore | undefined, request: ApprovalRequest, places: readonly ApprovalPlace[]): Promise<void> {
  const message = renderApprovalMessage(request);
  for (const place of places) {
    const posted = await client.chat.postMessage({ channel: place.channel, ...(place.threadTs ? { thread_ts: place.threadTs } : {}), ...message });
    if (posted.ts && posted.channel) await store?.attachMessage(request.id, { channel: posted.channel, ts: posted.ts });
  }
}

export interface CommandButtonDeps {
  execution: ExecutionDeps;
  metrics: BotMetrics;
  logger: PinoLogger;
}

/**
 * The line a button stands for; `answerInThread`: its answer goes in the clicked message's thread,
 * for everyone there, rather than to the clicker only (an alert's "Run:" response belongs with the
 * alert). A refusal before running (no right to) is the clicker's only, whatever this says.
 * `requestId`: the request's identity when the button stands for one thing whoever clicks (an
 * alert episode's incident), else the command path makes one per click.
 */
export type ButtonLine = { line: string; log?: Record<string, unknown>; answerInThread?: boolean; requestId?: string } | { refused: string };

/** What differs between the buttons that stand for a command line. */
export interface CommandButton<Which extends string> {
  /** Matches the buttons' action ids; its first group says which button it is. */
  pattern: RegExp;
  /**
   * The line the button stands for, or undefined when its value names nothing; `refused` when
   * what it names cannot be acted on (an alert that no longer exists): the clicker is told why.
   */
  line(which: Which, value: string | undefined): ButtonLine | undefined | Promise<ButtonLine | undefined>;
  /** The clicker's answer when the button names nothing: nothing is run. */
  namesNothing: string;
  /** Whether the clicker is told the outcome; the rest the button's message shows by itself. */
  answers(outcome: ExecutionOutcome): boolean;
  /**
   * Told each line that ran (not one refused before running), after it ran, with the clicker:
   * an alert records its response in its history. A throw is logged; the answer still goes.
   */
  ran?(which: Which, value: string | undefined, outcome: ExecutionOutcome, clicker: string): Promise<void>;
  /** Names the message in the log line when the clicker could not be answered. */
  message: string;
}

/**
 * A click runs the button's line through the one execution path (authorization, approvals, audit
 * trail), origin `button`, as the clicker. The message is not edited here: the messages show their
 * subject's new state whichever way it changed. An approval request goes in the clicked message's
 * thread; an answer goes to the clicker only, or in the thread when the button says so.
 */
export function registerCommandButton<Which extends string>(app: App, deps: CommandButtonDeps, button: CommandButton<Which>): void {
  app.action<BlockAction<ButtonAction>>(button.pattern, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    if (action.type !== 'button') return;
    const which = button.pattern.exec(action.action_id)![1] as Which;
    const made = await button.line(which, action.value);
    if (!made || 'refused' in made) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: made?.refused ?? button.namesNothing });
      return;
    }
    const channelId = body.channel?.id;
    const outcome = await executeCommandLine(deps.execution, {
      line: made.line,
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      origin: 'button',
      ...(channelId ? { channelId } : {}),
      ...(made.requestId ? { requestId: made.requestId } : {}),
    });
    countCommand(deps.metrics, outcome, 'button');

    if (outcome.approval && channelId) {
      const clickedTs = body.message?.ts;
      await postApprovalRequest(client, deps.execution.services.approvals, outcome.approval, [{ channel: channelId, ...(clickedTs ? { threadTs: clickedTs } : {}) }]);
      return;
    }
    const ran = outcome.outcome !== 'rejected' && outcome.outcome !== 'error';
    if (button.ran && ran) {
      await button.ran(which, action.value, outcome, body.user.id).catch((error: unknown) => deps.logger.warn({ err: error, ...made.log, user: body.user.id }, `${button.message}: could not record what the button ran`));
    }
    if (!button.answers(outcome)) return;
    const clickedTs = body.message?.ts;
    if (made.answerInThread && ran && channelId && clickedTs && !outcome.document.ephemeral) {
      try {
        await client.chat.postMessage({ channel: channelId, thread_ts: clickedTs, ...renderDocument(outcome.document) });
        return;
      } catch (error) {
        // Not lost: the clicker is answered privately below instead.
        deps.logger.warn({ err: error, ...made.log, user: body.user.id }, `${button.message}: could not answer in its thread`);
      }
    }
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, ...renderDocument(outcome.document) });
    } catch (error) {
      deps.logger.warn({ err: error, ...made.log, user: body.user.id }, `${button.message}: could not answer the clicker privately`);
    }
  });
}
