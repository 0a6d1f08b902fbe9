/**
 * A `gate` step: the run stops there until approvers let it pass. The approval is the bot's own
 * (StepPorts.gates: an approval request for `run pass <run> <runbook> <step>`, decided at the
 * gate's level, voted with the same buttons, expiry and trail as an escalated command), so a gate
 * is no second approval system. The step only opens (or finds again) that request and waits for
 * its end; it is idempotent because the port finds the open request again after a takeover.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GateSettings, StepDefinition } from './definition.js';
import type { GateState } from './ports.js';

export interface GateStepInput extends GateSettings {
  id: string;
  /** What people approve, e.g. "Two approvers confirm the deploy". */
  title: string;
  /** How long the gate waits before the step fails (then the run waits for a decision). */
  timeoutMs: number;
  /** How often the request is read again while it waits (default 1 s). */
  pollEveryMs?: number;
}

/** What a passed gate returns: kept as its output, shown in the run's thread. */
export interface GatePassed {
  passed: true;
  request: string;
  approvedBy: readonly string[];
}

export function gateStep<Args>(input: GateStepInput): StepDefinition<Args> {
  const pollEveryMs = input.pollEveryMs ?? 1000;
  return {
    id: input.id,
    kind: 'gate',
    title: input.title,
    timeoutMs: input.timeoutMs,
    idempotent: true,
    skippable: false,
    // Its port's open() withdraws a request it made after the abort withdrew the run's: wait for it.
    finishesWhenAborted: true,
    gate: { level: input.level, ...(input.approvals === undefined ? {} : { approvals: input.approvals }) },
    async run({ runId, ports, signal }): Promise<GatePassed> {
      const gates = ports.gates;
      if (!gates) throw new Error('this process has no approvals for gate steps (StepPorts.gates is missing); nothing was asked');
      const gate = { runId, stepId: input.id };
      let state: GateState = await gates.open(gate);
      while (state.state === 'waiting') {
        await sleep(pollEveryMs, undefined, { signal });
        state = await gates.check(gate, state.request);
      }
      if (state.state === 'refused') throw new Error(`the gate was not passed: ${state.why} (approval request ${state.request})`);
      return { passed: true, request: state.request, approvedBy: state.by };
    },
    async dryRun() {
      const how = input.approvals === undefined ? `Level ${input.level}` : `Level ${input.level}, ${input.approvals} approval${input.approvals === 1 ? '' : 's'} at least`;
      return { mode: 'description', text: `Waits for approvers (${how}) before the steps after it run.` };
    },
  };
}
