/**
 * `run pass <run id> <runbook> <step>`: lets a run past a gate step that waits for approvers. The
 * gate step asks for it itself (runbooks/engine/gate-step.ts), so it is an approval request like
 * any escalated command: decided at the gate's level as the runbook's definition in this process
 * has it (never a level anyone typed), voted with the same buttons, bound to the run and step. The
 * runbook is named in the line so that the level is known before anything is read; a line whose
 * run is of another runbook, whose step is no gate, or whose gate is not waiting is refused when
 * it is requested and again when it would run, and nothing changes.
 */
import { z } from 'zod';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { clip } from './format.js';
import type { RunGateInfo } from './ports.js';
import { requireRuns, runIdArgument, runRefused } from './runbook-access.js';

const stepOrRunbook = (what: string) =>
  z
    .string({ error: `name the ${what}` })
    .transform((value) => value.trim().toLowerCase())
    .refine((value) => /^[a-z][a-z0-9-]{0,62}$/.test(value), { message: `the ${what} is lower-case words joined by "-"` });

const passArguments = z.object({ id: runIdArgument, runbook: stepOrRunbook('runbook'), step: stepOrRunbook('gate step') }).strict();

async function waitingGate(context: CommandContext, args: z.output<typeof passArguments>, use: 'gate' | 'pass'): Promise<RunGateInfo> {
  const runs = requireRuns(context);
  const call = runs[use];
  if (!call) throw new CommandError('This runbook engine has no gate steps.', 'Approvals for gates are given in Slack or the console of the bot that runs the run.', 'unavailable');
  return call.call(runs, args.id, args.runbook, args.step, context.approvalId).catch(runRefused);
}

/**
 * A gate has one approval request, the one it asked for itself (with the id it kept first): a
 * `run pass` that is not that request (typed by a person, or another runner's stale ask) makes no
 * second one and is answered with where the gate's own request is.
 */
function requireGateOwnRequest(context: CommandContext, gate: RunGateInfo): void {
  const request = gate.request;
  if (request && context.approvalId === request.id) return;
  const gateName = `The gate "${gate.step.id}" of run ${gate.run.id}`;
  if (!request) {
    throw new CommandError(`${gateName} has not asked its approvers yet; it asks for itself as soon as it starts waiting. Nothing was asked.`, `\`run status ${gate.run.id}\` shows where the run is.`, 'refused');
  }
  if (!request.state) {
    throw new CommandError(`${gateName} is asking its approvers now (approval request ${request.id}); a second request is never made. Nothing was asked.`, `\`run status ${gate.run.id}\` shows where the run is.`, 'refused');
  }
  const so = request.approvedBy?.length ? `${request.approvedBy.length} so far` : 'none yet';
  const where = request.channels?.length ? `, posted in channel ${request.channels.join(' and ')}` : '';
  throw new CommandError(
    `${gateName} already waits on approval request ${request.id} (${request.state}; ${request.approvalsRequired ?? '?'} approval${request.approvalsRequired === 1 ? '' : 's'} needed, ${so})${where}. Approvers vote with its buttons there; no second request was made.`,
    'The requester cannot approve their own request; the run goes on once it is approved.',
    'refused',
  );
}

export const runPass = defineCommand({
  name: 'run pass',
  summary: 'Let a run past a gate step that waits for approvers (the gate asks for it; decided at the gate\'s level)',
  usage: '<run id> <runbook> <gate step>',
  examples: ['run pass 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed deploy approve-deploy'],
  level: 2,
  positionals: ['id', 'runbook', 'step'],
  args: passArguments,
  authorizationSubject(args, services) {
    const runbook = services.runs?.list().find((candidate) => candidate.name === args.runbook);
    const gate = runbook?.steps.find((step) => step.id === args.step);
    const level = gate?.gateLevel;
    return runbook && level !== undefined ? { runbook: { name: runbook.name, level, dryRun: false, ...(gate?.gateApprovals ? { approvals: gate.gateApprovals } : {}) } } : undefined;
  },
  async plan(context, args) {
    const gate = await waitingGate(context, args, 'gate');
    requireGateOwnRequest(context, gate);
    const guards = gate.guards.length > 0 ? gate.guards : ['(no steps after it: the run ends)'];
    return {
      summary: `Let run ${gate.run.id} of ${gate.run.runbook} (asked by ${gate.run.requester}) past its gate "${clip(gate.step.title, 120)}"`,
      target: `run ${gate.run.id} gate ${gate.step.id}`,
      // The same while the gate waits; a run that moved on (or a changed runbook) makes it differ.
      fingerprint: `gate ${gate.run.id} ${gate.run.runbook}@${gate.run.version} ${gate.step.id}`,
      details: [`Run ${gate.run.id} of ${gate.run.runbook}, asked by ${gate.run.requester}`, `Gate: ${gate.step.title} (Level ${gate.step.level}${gate.step.approvals ? `, at least ${gate.step.approvals} approval${gate.step.approvals === 1 ? '' : 's'}` : ''})`, 'It guards:', ...guards.map((title) => `• ${title}`)],
    };
  },
  async run(context, args) {
    // Only the gate's own request, approved, lets the run pass (never a line run at once, e.g. break-glass).
    requireGateOwnRequest(context, await waitingGate(context, args, 'gate'));
    const gate = await waitingGate(context, args, 'pass');
    return {
      title: `Gate passed: ${gate.run.runbook}`,
      tone: 'ok',
      summary: `Run ${gate.run.id} may go on past "${gate.step.title}": the runner starts the next step.`,
      blocks: [{ type: 'fields', fields: [{ label: 'Run', value: gate.run.id }, { label: 'Gate', value: gate.step.id }, { label: 'Next', value: gate.guards[0] ?? 'the run ends' }] }],
      actions: [{ label: 'Status', command: `run status ${gate.run.id}` }],
      data: { run: gate.run, gate: gate.step },
    };
  },
});
