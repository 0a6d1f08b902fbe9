/**
 * `constitutional-emergency` (Level 1): the runbook's "Constitutional Violation Emergency" as a
 * run with an incident. It joins the incident named (`incident=INC-n`) or declares a sev1
 * constitutional one, proposes the emergency lockdown at once as an approval request (the
 * `lockdown` line through the command path as the requester, so its Level 4 rules hold: two
 * approvers, never the requester; nothing is locked down until they approve), gathers the
 * violation details, lists the additional safeguards with what is already in place, and pages the
 * oversight contacts. Every step's result goes on the incident's timeline.
 */
import type { StepContext } from '../engine/definition.js';
import { defineRunbook } from '../engine/definition.js';
import type { RunCommandOutcome } from '../engine/ports.js';
import { evidenceOf, optionalEvidenceOf, type Finding } from '../troubleshooting/troubleshooting-support.js';
import { gatherViolationDetails, violationSummary, type ViolationDetails } from './constitutional-violations.js';
import { commandLinesOf, EmergencyArgs, incidentStep, onTimeline, pageContacts, runIncidentOf, validateIncident } from './incident-run-steps.js';

const RUNBOOK = 'constitutional-emergency';
type Context = StepContext<EmergencyArgs>;

export interface LockdownProposal {
  outcome: RunCommandOutcome;
  line: string;
}

/** One additional safeguard: whether it is in place now, and the command that puts it there. */
export interface Safeguard {
  id: string;
  text: string;
  state: 'in-place' | 'to-do' | 'unknown';
  /** What the run saw. */
  evidence: string;
  /** The `/acgs` command that does it, with its level. */
  command?: string;
}

function lockdownLine(context: Context): string {
  const incident = runIncidentOf(context.outputs);
  // One line: the command reads the rest as the reason.
  return `lockdown constitutional violation emergency, ${incident.key}, run ${context.runId}`;
}

function proposalSummary(outcome: RunCommandOutcome): string {
  switch (outcome.kind) {
    case 'approval':
      return `Emergency lockdown proposed as approval request ${outcome.request} (Level 4, ${outcome.approvalsRequired} approvals, not the requester's)${outcome.postedTo.length > 0 ? `, posted to ${outcome.postedTo.join(', ')}` : ''}; nothing is locked down until approvers approve.`;
    case 'ran':
      return `The lockdown ran at once (${outcome.title}${outcome.summary ? `: ${outcome.summary}` : ''}).`;
    case 'refused':
      return `No lockdown was proposed: ${outcome.title}${outcome.summary ? `: ${outcome.summary}` : ''}`;
  }
}

/** The runbook's "implement additional safeguards", checked against what the run read. Pure. */
export function additionalSafeguards(details: ViolationDetails, proposal: LockdownProposal | undefined): Safeguard[] {
  const engine = details.engine;
  const agents = details.patterns?.byAgent.filter((entry) => entry.key !== 'unknown agent').map((entry) => entry.key) ?? [];
  const pendingOfAgents = (details.pendingReviews ?? []).filter((review) => agents.includes(review.agent));
  const lockdownState = (): Safeguard['state'] => (engine?.lockdown ? 'in-place' : engine ? 'to-do' : 'unknown');
  return [
    {
      id: 'lockdown',
      text: 'Emergency lockdown: every decision denied until it is lifted',
      state: lockdownState(),
      evidence: engine?.lockdown ? 'the Policy Engine is in lockdown' : proposal ? proposalSummary(proposal.outcome) : 'no lockdown was proposed',
      ...(proposal?.outcome.kind === 'approval' ? { command: `approvers decide request ${proposal.outcome.request} (Level 4)` } : { command: '/acgs lockdown <reason> (Level 4: two approvals)' }),
    },
    {
      id: 'strict-mode',
      text: 'Strict mode: borderline decisions denied, for when the lockdown is lifted',
      state: engine ? (engine.strict ? 'in-place' : 'to-do') : 'unknown',
      evidence: engine ? `strict mode is ${engine.strict ? 'on' : 'off'}` : `the Policy Engine's modes could not be read: ${details.unread['Policy Engine metrics'] ?? 'no answer'}`,
      command: '/acgs strict-mode on (Level 2: one approval)',
    },
    {
      id: 'hold-changes',
      text: 'Change proposals of the violating agents rejected or held until the review',
      state: details.pendingReviews === null ? 'unknown' : pendingOfAgents.length === 0 ? 'in-place' : 'to-do',
      evidence:
        details.pendingReviews === null
          ? `Evolution Oversight could not be read: ${details.unread['Evolution Oversight reviews'] ?? 'no answer'}`
          : pendingOfAgents.length === 0
            ? `no proposal of ${agents.length > 0 ? agents.join(', ') : 'a violating agent'} waits for review`
            : `waiting: ${pendingOfAgents.map((review) => `${review.id.slice(0, 8)} (${review.agent}, ${review.priority})`).join(', ')}`,
      command: pendingOfAgents.length > 0 ? `/acgs evolution review ${pendingOfAgents[0]!.id.slice(0, 8)} reject <reason> (Level 2)` : '/acgs evolutions pending',
    },
    {
      id: 'sandboxes',
      text: "The violating agents' exited sandbox containers removed",
      state: agents.length === 0 ? 'in-place' : 'to-do',
      evidence: agents.length === 0 ? 'no violating agent is named' : `agents: ${agents.slice(0, 5).join(', ')}`,
      ...(agents.length > 0 ? { command: `/acgs sandbox prune --agent ${agents[0]} (Level 1)` } : {}),
    },
    {
      id: 'audit-chains',
      text: 'Both audit chains verified intact, so the violations on record can be trusted',
      state: 'to-do',
      evidence: 'not checked by this run',
      command: '/acgs audit verify (read-only)',
    },
  ];
}

export const constitutionalEmergencyRunbook = defineRunbook({
  source: import.meta.url,
  name: RUNBOOK,
  summary: 'Constitutional violation emergency: an incident, the lockdown proposed to approvers at once, the violation details and patterns, additional safeguards, the oversight contacts paged',
  level: 1,
  args: EmergencyArgs,
  validate: validateIncident,
  steps: [
    incidentStep({ runbook: RUNBOOK, type: 'constitutional', defaultTitle: 'Constitutional violation emergency' }),
    onTimeline<LockdownProposal>(RUNBOOK, {
      id: 'propose-lockdown',
      kind: 'act',
      title: 'Propose the emergency lockdown to approvers (Level 4: two approvals); nothing locks down until they approve',
      timeoutMs: 30_000,
      // The request's id is derived from the run and line: asked again, it is the same request.
      idempotent: true,
      async run(context): Promise<Finding<LockdownProposal>> {
        const line = lockdownLine(context);
        const outcome = await commandLinesOf(context.ports).run(line, { runId: context.runId, requester: context.requester });
        return { summary: proposalSummary(outcome), evidence: { outcome, line } };
      },
      dryRun: async () => ({ mode: 'description', text: 'Would propose `lockdown` as an approval request as you (Level 4: two approvers who are not you); nothing is locked down until they approve', target: 'policy-engine lockdown (approval request)' }),
    }),
    onTimeline<ViolationDetails>(RUNBOOK, {
      id: 'gather-violations',
      kind: 'check',
      title: 'Gather the violation details: recent violations by agent and action, the Policy Engine counters and logs, proposals waiting for review',
      timeoutMs: 30_000,
      idempotent: true,
      async run(context) {
        const details = await gatherViolationDetails(context.ports, context.signal);
        return { summary: violationSummary(details), evidence: details };
      },
      dryRun: async (context) => {
        const details = await gatherViolationDetails(context.ports, context.signal);
        return { mode: 'read-only-check', text: violationSummary(details) };
      },
    }),
    onTimeline<{ safeguards: Safeguard[] }>(RUNBOOK, {
      id: 'additional-safeguards',
      kind: 'check',
      title: 'Check the additional safeguards: lockdown, strict mode, held change proposals, sandboxes, audit chains',
      timeoutMs: 10_000,
      idempotent: true,
      async run(context) {
        const details = evidenceOf<ViolationDetails>(context.outputs, 'gather-violations');
        const safeguards = additionalSafeguards(details, optionalEvidenceOf<LockdownProposal>(context.outputs, 'propose-lockdown'));
        const todo = safeguards.filter((safeguard) => safeguard.state !== 'in-place');
        return {
          summary:
            todo.length === 0
              ? 'Every additional safeguard is in place.'
              : `${safeguards.length - todo.length} of ${safeguards.length} safeguards in place. To do: ${todo.map((safeguard) => `${safeguard.text} (${safeguard.evidence}${safeguard.command ? `; ${safeguard.command}` : ''})`).join('; ')}.`,
          evidence: { safeguards },
        };
      },
      dryRun: async () => ({ mode: 'description', text: 'Would list the additional safeguards (lockdown, strict mode, held change proposals, sandboxes, audit chains) with what is in place and the command for the rest' }),
    }),
    onTimeline(RUNBOOK, {
      id: 'notify-oversight',
      kind: 'notify',
      title: 'Page the constitutional oversight contacts (config `contacts:`, the escalation matrix\'s constitutional row)',
      timeoutMs: 60_000,
      idempotent: true,
      async run(context) {
        const details = optionalEvidenceOf<ViolationDetails>(context.outputs, 'gather-violations');
        const proposal = optionalEvidenceOf<LockdownProposal>(context.outputs, 'propose-lockdown');
        const said = [details ? violationSummary(details) : 'The violation details were not gathered.', proposal ? proposalSummary(proposal.outcome) : 'No lockdown was proposed.'].join(' ');
        return pageContacts(context, 'oversight contacts', said);
      },
      dryRun: async () => ({ mode: 'description', text: 'Would page the contacts the escalation matrix names for constitutional incidents (signed webhooks)' }),
    }),
  ],
  outcome(outputs) {
    const incident = optionalEvidenceOf<{ key: string }>(outputs, 'incident');
    const proposal = optionalEvidenceOf<LockdownProposal>(outputs, 'propose-lockdown');
    if (!incident) return undefined;
    return `${incident.key}: ${proposal ? proposalSummary(proposal.outcome) : 'no lockdown was proposed.'}`;
  },
});
