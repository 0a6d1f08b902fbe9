/**
 * The steps' `commandLines` port (runbooks/engine/ports.ts): a line an emergency runbook asks for
 * (`lockdown ...`, `restart <service>`) goes through the one command path as the run's requester,
 * so the policy, the trail and the approval store treat it as a typed command, as the alert
 * escalation's Level 4 does with its lockdown. A line that needs approvers becomes a request
 * posted where the run is shown (`announce`); its id is derived from the run and the line, so a
 * takeover that asks again finds the same request rather than opening a second.
 */
import { createHash } from 'node:crypto';
import type { ApprovalRequest } from '../approvals/index.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import type { RunCommandLines, RunCommandOutcome } from '../../runbooks/engine/ports.js';

export interface RunCommandLinesOptions {
  execution: ExecutionDeps;
  /** Posts a new approval request with its buttons where the run is shown; returns where it went. */
  announce(request: ApprovalRequest, runId: string): Promise<string[]>;
  log?(message: string, error?: unknown): void;
}

/** A UUID made from the run and the line: the same pair always names the same approval request. */
export function runApprovalId(runId: string, line: string): string {
  const hex = createHash('sha256').update(`${runId}\n${line}`).digest('hex');
  // Version 4's and the variant's bits set, so the store's UUID column and checks take it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function runCommandLines(options: RunCommandLinesOptions): RunCommandLines {
  return {
    async run(line, from): Promise<RunCommandOutcome> {
      // The runner asks on the requester's behalf: no person typed it, as for a gate's request.
      const outcome = await executeCommandLine(options.execution, { line, actor: { id: from.requester }, origin: 'schedule', approvalId: runApprovalId(from.runId, line) });
      const { title, summary } = outcome.document;
      if (outcome.approval) {
        let postedTo: string[] = [];
        try {
          postedTo = await options.announce(outcome.approval, from.runId);
        } catch (error) {
          // The request stands (approvers find it with `/acgs runs`, the run's thread); the step says where it is not.
          options.log?.(`run ${from.runId}: the approval request ${outcome.approval.id} for "${line}" could not be posted`, error);
        }
        return { kind: 'approval', request: outcome.approval.id, approvalsRequired: outcome.approval.approvalsRequired, postedTo };
      }
      if (outcome.outcome === 'rejected' || outcome.outcome === 'error') return { kind: 'refused', title, ...(summary ? { summary } : {}) };
      return { kind: 'ran', outcome: outcome.outcome, title, ...(summary ? { summary } : {}) };
    },
  };
}
