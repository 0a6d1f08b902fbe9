/**
 * The engine's GatePorts (runbooks/engine/ports.ts) over the bot's own approvals: a gate step's
 * request is `run pass <run> <runbook> <step>` asked through the command path as the run's
 * requester, so the policy decides it at the gate's level, the trail records it, and approvers vote
 * with the usual buttons (the requester cannot approve their own). Its id is kept in the run store
 * (runbook_gates), so a runner that takes the run over waits on the same request instead of
 * asking again; a request that ended without a pass (denied, expired) is replaced on a retry.
 */
import { FINAL_STATES, type ApprovalRequest, type ApprovalStore } from '../approvals/index.js';
import type { GateStore } from '../../runbooks/engine/gate-store.js';
import type { GatePorts, GateRef, GateState } from '../../runbooks/engine/ports.js';
import type { RunRecord, RunStore } from '../../runbooks/engine/run-store.js';

export interface GateApprovalsOptions {
  runs: Pick<RunStore, 'get'>;
  gates: GateStore;
  approvals: Pick<ApprovalStore, 'get'>;
  /**
   * Asks for `line` through the command path as the run's requester and returns the approval
   * request it became; throws with the answer's sentence when it became none (refused, or no store).
   */
  ask(line: string, run: RunRecord): Promise<ApprovalRequest>;
  /**
   * Shows a new request to approvers (Slack: in the run's thread). Called once the request is kept,
   * so that a failure here loses no request: it is logged, and the request is still in the console.
   */
  announce?(request: ApprovalRequest, run: RunRecord): Promise<void>;
  log?(message: string, error?: unknown): void;
}

export function gatePassLine(run: Pick<RunRecord, 'id' | 'runbook'>, stepId: string): string {
  return `run pass ${run.id} ${run.runbook} ${stepId}`;
}

/** Why a request that ended without a pass let nobody through, naming who ended it. */
function refusal(request: ApprovalRequest): string {
  const who = request.endedBy ? ` by ${request.endedBy}` : '';
  const why = request.endedReason ? `: ${request.endedReason}` : '';
  if (request.state === 'denied') return `the approval was denied${who}${why}`;
  if (request.state === 'cancelled') return `the approval request was cancelled${who}${why}`;
  if (request.state === 'expired') return `the approval request expired at ${request.expiresAt.toISOString()} without enough approvals`;
  return `the approval request ended ${request.state}${who}${why}`;
}

export function createGateApprovals(options: GateApprovalsOptions): GatePorts {
  const { gates, approvals } = options;

  async function stateOf(gate: GateRef, requestId: string): Promise<GateState | undefined> {
    const latest = await gates.latest(gate.runId, gate.stepId);
    const request = await approvals.get(requestId);
    if (latest?.requestId === requestId && latest.passedAt) return { state: 'passed', request: requestId, by: request?.approvedBy ?? [] };
    if (!request) return undefined;
    if (FINAL_STATES.has(request.state)) return { state: 'refused', request: requestId, why: refusal(request) };
    return { state: 'waiting', request: requestId };
  }

  return {
    async open(gate) {
      const latest = await gates.latest(gate.runId, gate.stepId);
      if (latest) {
        const state = await stateOf(gate, latest.requestId);
        if (state && state.state !== 'refused') return state;
      }
      const run = await options.runs.get(gate.runId);
      if (!run) throw new Error(`run ${gate.runId} is not in the run store`);
      const request = await options.ask(gatePassLine(run, gate.stepId), run);
      await gates.opened(gate.runId, gate.stepId, request.id);
      await options.announce?.(request, run).catch((error: unknown) => options.log?.(`gate ${gate.stepId} of run ${run.id}: approval request ${request.id} could not be shown`, error));
      return { state: 'waiting', request: request.id };
    },
    async check(gate, requestId) {
      return (await stateOf(gate, requestId)) ?? { state: 'refused', request: requestId, why: `the approval request ${requestId} is gone from the approval store` };
    },
  };
}
