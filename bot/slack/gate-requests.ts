/**
 * How a runbook's gate step asks for its approval in the bot (bot/runbook-runs/gate-approvals.ts):
 * `run pass ...` through the one command path, as the run's requester, so the policy, the trail
 * and the approval store treat it as any escalated command; then the request is posted with its
 * buttons where the run is shown.
 */
import type { webApi } from '@slack/bolt';
import type { ApprovalRequest, ApprovalStore } from '../approvals/index.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import type { GateApprovalsOptions } from '../runbook-runs/gate-approvals.js';
import type { RunRecord } from '../../runbooks/engine/run-store.js';
import { postApprovalRequest, type ApprovalPlace } from './listener-kit.js';

export interface SlackGateRequestsOptions {
  execution: ExecutionDeps;
  approvals: ApprovalStore;
  /** The bot's Web API client once the bot exists (the engine starts before it). */
  client(): webApi.WebClient | undefined;
  /** Where the run's request goes: the run's message thread, the approvals channel. */
  places(run: RunRecord): Promise<ApprovalPlace[]>;
  /** Updates every copy of a request's message (SlackBot.updateApprovalMessages), once the bot exists. */
  updateMessages?(request: ApprovalRequest): Promise<void>;
  log?(message: string, error?: unknown): void;
}

export function slackGateRequests(options: SlackGateRequestsOptions): Omit<GateApprovalsOptions, 'runs' | 'gates'> {
  return {
    approvals: options.approvals,
    async ask(line, run, approvalId): Promise<ApprovalRequest> {
      // The runner asks on the requester's behalf: no person typed it, as for a scheduled command.
      const outcome = await executeCommandLine(options.execution, { line, actor: { id: run.requester }, origin: 'schedule', approvalId });
      if (outcome.approval) return outcome.approval;
      const said = [outcome.document.title, outcome.document.summary].filter(Boolean).join(': ');
      throw new Error(`the gate's approval could not be requested (${said})`);
    },
    async announce(request, run) {
      const client = options.client();
      if (!client) throw new Error('the Slack bot is not started yet');
      await postApprovalRequest(client, options.approvals, request, await options.places(run));
    },
    async closed(request) {
      await options.updateMessages?.(request);
    },
    ...(options.log ? { log: options.log } : {}),
  };
}
