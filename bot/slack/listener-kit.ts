/**
 * What every Slack listener does around a command, in one place so the listeners cannot drift
 * apart: time its ack, count the command it ran, and post an approval request and remember where
 * it was posted (so the votes can update it later).
 */
import type { Context, webApi } from '@slack/bolt';
import type { ApprovalRequest, ApprovalStore } from '../approvals/index.js';
import type { ExecutionOutcome, ExecutionRequest } from '../command-path/index.js';
import { renderApprovalMessage } from './approval-message.js';
import type { BotMetrics } from './metrics.js';

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
