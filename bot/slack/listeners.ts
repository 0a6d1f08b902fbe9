/**
 * What the bot does with each kind of Slack delivery. Every command line, typed after `/acgs`,
 * after a mention or carried by a button, goes through `executeCommandLine`; these listeners only
 * ack, translate Slack's payload into a request, and post the rendered answer back.
 */
import type { App, BlockAction, ButtonAction, webApi } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import type { ApprovalRequest } from '../approvals/index.js';
import { decideOnApproval, outcomeUnknownSentence, type ApprovalChoice } from '../command-path/index.js';
import type { ResultDocument } from '../../commands/result.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome, type ExecutionRequest } from '../command-path/index.js';
import { deliveryKey, type DeliveryLedger } from './delivery-ledger.js';
import { buildHomeView, type MayRun } from './home.js';
import { countCommand, observeAck, postApprovalRequest } from './listener-kit.js';
import type { BotMetrics } from './metrics.js';
import { decodeSlackText } from './mrkdwn.js';
import { APPROVAL_ACTION_PATTERN, renderApprovalMessage, sentenceMrkdwn } from './approval-message.js';
import { renderDocument, RUN_ACTION_PREFIX } from './render.js';
import type { ResponseUrlPoster } from './response-url.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { progressThread } from './progress-thread.js';
import { allowedTeams, foreignTeamOf, FOREIGN_TEAM_TEXT } from './team-allow-list.js';

export const DEFAULT_SLASH_COMMAND = '/acgs';

export interface ListenerDeps {
  execution: ExecutionDeps;
  ledger: DeliveryLedger;
  metrics: BotMetrics;
  logger: PinoLogger;
  slashCommand: string;
  mayRun?: MayRun;
  /** The config's `channels.approvals`: every approval request is posted there too. */
  approvalsChannel?: string;
  /** Answers a slash command (cheaper than Bolt's `respond`, see response-url.ts). */
  postToResponseUrl: ResponseUrlPoster;
  /** The config's `slack.team_ids`; without it only the bot token's own workspace is served (team-allow-list.ts). */
  teamIds?: readonly string[];
  /** The bot's one write queue: a command's progress thread keeps the channel's pace through it. */
  writeQueue: ChannelWriteQueue;
}

const ORIGIN_OF_KIND = { command: 'slash', action: 'button', event: 'mention', other: 'slash' } as const;

type DeliveryKind = 'command' | 'action' | 'event' | 'other';

function kindOf(body: Record<string, unknown>): DeliveryKind {
  if (typeof body.command === 'string') return 'command';
  if (body.type === 'event_callback') return 'event';
  if (body.type === 'block_actions' || body.type === 'interactive_message') return 'action';
  return 'other';
}

/**
 * Lets the event loop take the requests already waiting (their acks) before this delivery's
 * command work starts: acks first, work after, so a busy bot still acks within milliseconds.
 */
const yieldToWaitingRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * After an ack, the command's work waits one timer tick (about 1 ms), not only a turn: the process
 * sleeps, so on a shared machine the CPU goes to whoever the ack just woke rather than to our work
 * and the services it wakes. bench:bot measured what that gains on ack latency (bench/README.md);
 * nobody sees 1 ms more on a reply.
 */
const stepAsideAfterAck = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/** Updates every message of the request (where it was asked, the approvals channel) to where it stands. */
export async function updateApprovalMessages(
  client: webApi.WebClient,
  request: ApprovalRequest,
  result?: ResultDocument,
  clicked?: { channel: string; ts: string },
): Promise<void> {
  const message = renderApprovalMessage(request, result ? { result } : {});
  // The clicked message too: a click can arrive before its message was attached to the request.
  const refs = new Map<string, { channel: string; ts: string }>();
  for (const ref of [...request.messages, ...(clicked ? [clicked] : [])]) if (ref.ts !== undefined) refs.set(`${ref.channel}/${ref.ts}`, { channel: ref.channel, ts: ref.ts });
  await Promise.all([...refs.values()].map((ref) => client.chat.update({ channel: ref.channel, ts: ref.ts, ...message })));
}

/**
 * A run left `executing` by a crash, now `outcome_unknown`: every message of the request loses its
 * buttons and says so, and the channel where it was asked is told once, in a message of its own.
 */
export async function announceOutcomeUnknown(client: webApi.WebClient, request: ApprovalRequest): Promise<void> {
  await updateApprovalMessages(client, request);
  const where = request.messages.find((ref) => ref.ts !== undefined) ?? request.messages[0];
  if (where) await client.chat.postMessage({ channel: where.channel, text: sentenceMrkdwn(outcomeUnknownSentence(request)) });
}

/** Posts a new approval request where it was asked and in the approvals channel, and remembers each message. */
async function publishApproval(deps: ListenerDeps, client: webApi.WebClient, request: ApprovalRequest, channelId: string | undefined, userId: string): Promise<void> {
  // Without a channel (the App Home) it goes to the requester's messages with the app.
  const channels = [...new Set([channelId ?? userId, ...(deps.approvalsChannel ? [deps.approvalsChannel] : [])])];
  await postApprovalRequest(client, deps.execution.services.approvals, request, channels.map((channel) => ({ channel })));
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  // A progress message that cannot be posted is logged; the command and its answer go on.
  const progressFailed = (error: unknown) => deps.logger.warn({ err: error }, 'a progress message could not be posted in Slack');
  const run = async (request: ExecutionRequest): Promise<ExecutionOutcome> => {
    const outcome = await executeCommandLine(deps.execution, request);
    countCommand(deps.metrics, outcome, request.origin);
    return outcome;
  };

  // Another workspace's request is refused first, before the ledger and before any command.
  app.use(async ({ body, context, next, ...rest }) => {
    const payload = body as unknown as Record<string, unknown>;
    const allowed = allowedTeams(deps.teamIds, context.teamId);
    const foreign = allowed ? foreignTeamOf(payload, allowed) : undefined;
    if (!foreign) {
      await next();
      return;
    }
    const kind = kindOf(payload);
    const user = typeof payload.user_id === 'string' ? payload.user_id : ((payload.user as { id?: string } | undefined)?.id ?? (payload.event as { user?: string } | undefined)?.user ?? null);
    deps.metrics.foreignTeamRefusals.inc({ kind });
    deps.logger.warn({ team: foreign, user, kind }, 'Slack request from a workspace outside slack.team_ids refused: nothing was run');
    const { ack } = rest as { ack?: (response?: string) => Promise<void> };
    if (ack) await ack(kind === 'command' ? FOREIGN_TEAM_TEXT : undefined);
    await deps.execution.services.trail
      ?.append({
        kind: 'command',
        actor: user,
        origin: ORIGIN_OF_KIND[kind],
        channel: typeof payload.channel_id === 'string' ? payload.channel_id : null,
        command: null,
        args: typeof payload.text === 'string' ? payload.text : null,
        outcome: 'refused',
        details: { reason: 'workspace not allowed', team_id: foreign, allowed_teams: [...allowed!] },
      })
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'the refusal of another workspace could not be recorded in the trail'));
  });

  // Retries and replays are acknowledged (so Slack stops sending them) and go no further.
  app.use(async ({ body, context, next, ...rest }) => {
    const payload = body as unknown as Record<string, unknown>;
    const kind = kindOf(payload);
    if (kind === 'event') observeAck(deps.metrics, context, kind); // Bolt acks events before any middleware
    if (context.retryNum) deps.metrics.retriesReceived.inc({ kind });
    const key = deliveryKey(payload);
    if (!(await deps.ledger.claim(key))) {
      deps.metrics.duplicateDeliveries.inc({ kind });
      deps.logger.info({ key, retryNum: context.retryNum, retryReason: context.retryReason }, 'repeated Slack delivery acknowledged and not run again');
      const { ack } = rest as { ack?: () => Promise<void> };
      if (ack) {
        await ack();
        observeAck(deps.metrics, context, kind);
      }
      return;
    }
    await next();
  });

  app.command(deps.slashCommand, async ({ command, ack, context, client }) => {
    await ack();
    observeAck(deps.metrics, context, 'command');
    await stepAsideAfterAck();
    // Steps of a multi-step command: the first is the reply, the next ones go in a thread under it.
    const line = decodeSlackText(command.text);
    const ranBy = { userId: command.user_id, command: `${command.command} ${line}`.trim() };
    const thread = progressThread(deps.writeQueue, { channel: command.channel_id, ranBy }, progressFailed);
    const outcome = await run({
      line,
      actor: { id: command.user_id, name: command.user_name },
      origin: 'slash',
      channelId: command.channel_id,
      // One per invocation: what a command records once per request is keyed by it.
      requestId: `trigger:${command.trigger_id}`,
      progress: thread.report,
    });
    if (outcome.approval) {
      await publishApproval(deps, client, outcome.approval, command.channel_id, command.user_id);
      return;
    }
    // Each step after the ack is a slice of the event loop; between slices, waiting acks go first.
    await yieldToWaitingRequests();
    const message = renderDocument(outcome.document);
    if (await thread.finish(outcome.document, message)) return;
    await yieldToWaitingRequests();
    await deps.postToResponseUrl(command.response_url, { response_type: outcome.document.ephemeral ? 'ephemeral' : 'in_channel', ...message });
  });

  app.event('app_mention', async ({ event, client, context }) => {
    if (!event.user) return;
    const own = context.botUserId ? new RegExp(`<@${context.botUserId}(\\|[^>]*)?>`, 'g') : /^\s*<@[A-Z0-9]+(\|[^>]*)?>/;
    const thread = progressThread(deps.writeQueue, { channel: event.channel, threadTs: event.thread_ts ?? event.ts }, progressFailed);
    const outcome = await run({
      line: decodeSlackText(event.text.replace(own, ' ').trim()),
      actor: { id: event.user },
      origin: 'mention',
      channelId: event.channel,
      progress: thread.report,
    });
    // The command did not wait for its steps to be posted; its answer does.
    await thread.settled();
    if (outcome.approval) {
      await publishApproval(deps, client, outcome.approval, event.channel, event.user);
      return;
    }
    const message = renderDocument(outcome.document);
    const thread_ts = event.thread_ts ?? event.ts;
    if (outcome.document.ephemeral) await client.chat.postEphemeral({ channel: event.channel, user: event.user, thread_ts, ...message });
    else await client.chat.postMessage({ channel: event.channel, thread_ts, ...message });
  });

  app.action<BlockAction<ButtonAction>>(new RegExp(`^${RUN_ACTION_PREFIX}\\d+$`), async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    await stepAsideAfterAck();
    if (action.type !== 'button' || typeof action.value !== 'string') return;
    const channelId = body.channel?.id;
    const container = body.container as { is_ephemeral?: boolean; message_ts?: string } | undefined;
    const thread_ts = body.message?.thread_ts ?? body.message?.ts ?? container?.message_ts;
    // Steps go in the clicked message's thread; an ephemeral message or the App Home has none.
    const inThread = channelId && thread_ts && !container?.is_ephemeral ? { channel: channelId, threadTs: thread_ts } : undefined;
    const thread = inThread ? progressThread(deps.writeQueue, inThread, progressFailed) : undefined;
    const outcome = await run({
      line: action.value,
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      origin: 'button',
      ...(channelId ? { channelId } : {}),
      ...(thread ? { progress: thread.report } : {}),
    });
    await thread?.settled();
    if (outcome.approval) {
      await publishApproval(deps, client, outcome.approval, channelId, body.user.id);
      return;
    }
    const message = renderDocument(outcome.document);
    if (!channelId) {
      // A button outside any channel (the App Home): answer in the app's own messages.
      await client.chat.postMessage({ channel: body.user.id, ...message });
    } else if (container?.is_ephemeral || !thread_ts) {
      // An ephemeral message has no thread to answer in.
      await respond({ response_type: 'ephemeral', replace_original: false, ...message });
    } else if (outcome.document.ephemeral) {
      await client.chat.postEphemeral({ channel: channelId, user: body.user.id, thread_ts, ...message });
    } else {
      await client.chat.postMessage({ channel: channelId, thread_ts, ...message });
    }
  });

  // A vote on an approval request: the button names the request, never a command line.
  app.action<BlockAction<ButtonAction>>(APPROVAL_ACTION_PATTERN, async ({ ack, body, action, client, respond, context }) => {
    await ack();
    observeAck(deps.metrics, context, 'action');
    await stepAsideAfterAck();
    if (action.type !== 'button' || typeof action.value !== 'string') return;
    const choice = APPROVAL_ACTION_PATTERN.exec(action.action_id)![1] as ApprovalChoice;
    const channelId = body.channel?.id;
    const requestTs = body.message?.ts;
    // The approved command's steps go in the thread of the request that was clicked.
    const thread = channelId && requestTs ? progressThread(deps.writeQueue, { channel: channelId, threadTs: requestTs }, progressFailed) : undefined;
    const outcome = await decideOnApproval(deps.execution, {
      id: action.value,
      choice,
      actor: { id: body.user.id, ...(body.user.username ? { name: body.user.username } : {}) },
      ...(channelId ? { channelId } : {}),
      ...(thread ? { progress: thread.report } : {}),
    });
    // The request message shows the command's answer: only once its steps are in the thread.
    await thread?.settled();
    deps.metrics.commands.inc({ command: `approval ${choice}`, outcome: outcome.code, origin: 'button' });
    // An expired request's message may still show buttons (its expiry was won elsewhere or is due),
    // as may one whose run's outcome is unknown (Slack was away when the restart said so): refresh it.
    if (outcome.request && (outcome.changed || outcome.ran || outcome.code === 'superseded' || outcome.request.state === 'expired' || outcome.request.state === 'outcome_unknown')) {
      const clickedTs = body.message?.ts;
      await updateApprovalMessages(client, outcome.request, outcome.ran?.document, channelId && clickedTs ? { channel: channelId, ts: clickedTs } : undefined);
    }
    const told = new Set(['counted', 'approved', 'denied', 'cancelled', 'executed']);
    if (outcome.code === 'superseded' && outcome.request) {
      const clickedTs = body.message?.ts;
      const where = channelId && clickedTs ? { channel: channelId, ts: clickedTs } : outcome.request.messages.find((ref) => ref.ts !== undefined);
      if (where?.ts) await client.chat.postMessage({ channel: where.channel, thread_ts: where.ts, text: sentenceMrkdwn(outcome.sentence) });
    } else if (!told.has(outcome.code)) {
      // Refused for this person only: own request, not an approver, already counted, expired, closed.
      await respond({ response_type: 'ephemeral', replace_original: false, text: sentenceMrkdwn(outcome.sentence) });
    }
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const view = await buildHomeView(deps.execution, event.user, deps.mayRun);
    await client.views.publish({ user_id: event.user, view });
  });
}
