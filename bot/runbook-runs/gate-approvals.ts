/**
 * The engine's GatePorts (runbooks/engine/ports.ts) over the bot's own approvals: a gate step's
 * request is `run pass <run> <runbook> <step>` asked through the command path as the run's
 * requester, so the policy decides it at the gate's level, the trail records it, and approvers vote
 * with the usual buttons (the requester cannot approve their own).
 *
 * Exactly one request per gate, however often its runner dies and the run is taken over: the
 * request's id is reserved in runbook_gates first, and the request is then created WITH that id
 * (the approval store answers a second create with the same id with the request already made).
 * A runner killed after the reservation leaves the id to the next one, which asks with it; killed
 * after the request was created, the next one finds it by that id and waits on it. Runners racing
 * on the same gate reserve one row between them (one per round, unique in runbook_gates). A
 * request that ended without a pass (denied, expired) is replaced on a retry, once, the same way.
 */
import { randomUUID } from 'node:crypto';
import { FINAL_STATES, type ApprovalRequest, type ApprovalStore } from '../approvals/index.js';
import type { GateRecord, GateStore } from '../../runbooks/engine/gate-store.js';
import type { GatePorts, GateRef, GateState } from '../../runbooks/engine/ports.js';
import type { RunRecord, RunState, RunStore } from '../../runbooks/engine/run-store.js';

export interface GateApprovalsOptions {
  runs: Pick<RunStore, 'get'>;
  gates: GateStore;
  approvals: Pick<ApprovalStore, 'get' | 'withdraw'>;
  /**
   * Asks for `line` through the command path as the run's requester, its request created with the
   * id `approvalId` (or answered with the one made with it before), and returns that request;
   * throws with the answer's sentence when it became none (refused, or no store).
   */
  ask(line: string, run: RunRecord, approvalId: string): Promise<ApprovalRequest>;
  /**
   * Shows a request to approvers (Slack: in the run's thread) while it is shown nowhere yet: once
   * it is created, or by the runner that took over from one that died before showing it. A
   * failure here loses no request: it is logged, and the request is still in the console.
   */
  announce?(request: ApprovalRequest, run: RunRecord): Promise<void>;
  /** A request closed by this process (the run was aborted): its messages say so. */
  closed?(request: ApprovalRequest): Promise<void>;
  log?(message: string, error?: unknown): void;
}

/** GatePorts, and what the bot's abort needs of them. */
export interface GateApprovals extends GatePorts {
  /** Cancels the requests the run's gates wait on (the run was aborted by `by`); returns those it closed. */
  closeForAbort(run: Pick<RunRecord, 'id'>, by: string): Promise<ApprovalRequest[]>;
}

const ABORTED: ReadonlySet<RunState> = new Set(['aborting', 'aborted']);

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

export function createGateApprovals(options: GateApprovalsOptions): GateApprovals {
  const { gates, approvals } = options;

  async function stateOf(gate: GateRef, requestId: string): Promise<GateState | undefined> {
    const latest = await gates.latest(gate.runId, gate.stepId);
    const request = await approvals.get(requestId);
    if (latest?.requestId === requestId && latest.passedAt) return { state: 'passed', request: requestId, by: request?.approvedBy ?? [] };
    if (!request) return undefined;
    if (FINAL_STATES.has(request.state)) return { state: 'refused', request: requestId, why: refusal(request) };
    return { state: 'waiting', request: requestId };
  }

  async function show(request: ApprovalRequest, run: RunRecord): Promise<void> {
    if (request.messages.length > 0 || !options.announce) return;
    await options.announce(request, run).catch((error: unknown) => options.log?.(`gate of run ${run.id}: approval request ${request.id} could not be shown`, error));
  }

  /** The id this gate asks with: the one kept and never created (its asker died), or a new one kept now. */
  async function reservation(gate: GateRef, latest: GateRecord | undefined): Promise<string> {
    if (latest && !(await approvals.get(latest.requestId))) return latest.requestId;
    return (await gates.reserve(gate.runId, gate.stepId, latest?.requestId ?? '', randomUUID())).requestId;
  }

  return {
    async open(gate) {
      const latest = await gates.latest(gate.runId, gate.stepId);
      const run = await options.runs.get(gate.runId);
      if (!run) throw new Error(`run ${gate.runId} is not in the run store`);
      if (latest) {
        const state = await stateOf(gate, latest.requestId);
        if (state?.state === 'waiting') await show((await approvals.get(latest.requestId))!, run);
        if (state && state.state !== 'refused') return state;
      }
      const approvalId = await reservation(gate, latest);
      let request: ApprovalRequest;
      try {
        request = await options.ask(gatePassLine(run, gate.stepId), run, approvalId);
      } catch (error) {
        // Another runner asked with the same id meanwhile (its `run pass` then answers where it is).
        const made = await approvals.get(approvalId);
        if (!made) throw error;
        request = made;
      }
      // An abort that landed between the reservation and the request's creation withdrew nothing
      // (the request did not exist yet): withdraw it now, or nobody ever will. Its state is read
      // after the creation, so one of the two always sees the other; the store withdraws once.
      const now = await options.runs.get(run.id);
      if (now && ABORTED.has(now.state)) {
        await withdrawForAbort(options, request.id, run.id, now.decidedBy ?? run.requester);
        return (await stateOf(gate, request.id)) ?? { state: 'refused', request: request.id, why: `its run ${run.id} was aborted` };
      }
      await show(request, run);
      return (await stateOf(gate, request.id)) ?? { state: 'waiting', request: request.id };
    },
    async check(gate, requestId) {
      return (await stateOf(gate, requestId)) ?? { state: 'refused', request: requestId, why: `the approval request ${requestId} is gone from the approval store` };
    },
    closeForAbort: (run, by) => closeGatesForAbort(options, run, by),
  };
}

/**
 * Cancels the requests the run's gates wait on, as `by` who aborted it; returns those it closed.
 * Also for a process that asks nobody itself (the CLI with DATABASE_URL aborting a run).
 */
export async function closeGatesForAbort(
  options: Pick<GateApprovalsOptions, 'gates' | 'approvals' | 'closed' | 'log'>,
  run: Pick<RunRecord, 'id'>,
  by: string,
): Promise<ApprovalRequest[]> {
  const closed: ApprovalRequest[] = [];
  for (const gate of await options.gates.unpassed(run.id)) {
    const withdrawn = await withdrawForAbort(options, gate.requestId, run.id, by);
    if (withdrawn) closed.push(withdrawn);
  }
  return closed;
}

/** Withdraws one gate request of an aborted run; the request when THIS call closed it (its messages then say so). */
async function withdrawForAbort(
  options: Pick<GateApprovalsOptions, 'approvals' | 'closed' | 'log'>,
  requestId: string,
  runId: string,
  by: string,
): Promise<ApprovalRequest | undefined> {
  const withdrawn = await options.approvals.withdraw(requestId, by, `its run ${runId} was aborted`);
  if (!withdrawn.changed || !withdrawn.request) return undefined;
  await options.closed?.(withdrawn.request).catch((error: unknown) => options.log?.(`approval request ${requestId} was cancelled, but its messages could not be updated`, error));
  return withdrawn.request;
}
