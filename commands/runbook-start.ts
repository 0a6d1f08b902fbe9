/**
 * Starting a runbook, or showing its plan, as `run` and the runbook's short forms (`backup`,
 * `backup verify <id>`) do: one function, so a short form answers exactly as `run` would. The
 * same commands name the runbook to the authorization decision (runbookSubject: the policy decides
 * at the runbook's level) and give the plan an approval of an escalated run is bound to.
 */
import { closestChoice } from './arguments.js';
import { CommandError, type ApprovalPlan, type AuthorizationSubject, type CommandContext } from './command.js';
import type { CommandDependencies } from './dependencies.js';
import { clip } from './format.js';
import type { ResultDocument } from './result.js';
import { requireRuns, runRefused } from './runbook-access.js';
import { plannedVersion, runbookApprovalPlan } from './runbook-plan.js';
import { planDocument, runStartedDocument } from './run-documents.js';

export interface RunbookRequest {
  runbook: string;
  args: Record<string, string>;
  dryRun: boolean;
}

/**
 * The runbook as the bot's registry has it, with its level: what the policy decides a run on.
 * Undefined for a runbook the registry does not know (or without the engine in this process):
 * the command's own rule decides, and the command then says there is no such runbook.
 */
export function runbookSubject(services: CommandDependencies, name: string, dryRun: boolean): AuthorizationSubject | undefined {
  const runbook = services.runs?.list().find((candidate) => candidate.name === name);
  return runbook ? { runbook: { name: runbook.name, level: runbook.level, dryRun } } : undefined;
}

function knownRunbook(context: CommandContext, name: string) {
  const runs = requireRuns(context);
  const known = runs.list();
  const runbook = known.find((candidate) => candidate.name === name);
  if (!runbook) {
    const guess = closestChoice(name, known.map((candidate) => candidate.name));
    const list = known.length > 0 ? `Runbooks: ${known.map((candidate) => candidate.name).join(', ')}.` : 'No runbooks are registered.';
    throw new CommandError(`There is no runbook "${clip(name, 40)}".`, guess ? `Did you mean \`${guess}\`? ${list}` : list);
  }
  return { runs, runbook };
}

/**
 * The plan an escalated run's approval is bound to: made again when the last approval arrives,
 * and a different one supersedes the request (commands/runbook-plan.ts says what is hashed).
 */
export async function runbookPlan(context: CommandContext, { runbook: name, args }: RunbookRequest): Promise<ApprovalPlan> {
  const { runs, runbook } = knownRunbook(context, name);
  return runbookApprovalPlan(await runs.plan(runbook.name, args, { requester: context.actor.id, origin: context.origin }).catch(runRefused));
}

export async function startRunbook(context: CommandContext, { runbook: name, args, dryRun }: RunbookRequest): Promise<ResultDocument> {
  const { runs, runbook } = knownRunbook(context, name);
  if (dryRun) return planDocument(await runs.plan(runbook.name, args, { requester: context.actor.id, origin: context.origin }).catch(runRefused));
  // An approved run starts on the code its plan was made for, or not at all.
  const version = context.approvedPlan ? plannedVersion(context.approvedPlan) : undefined;
  const started = await runs
    .submit({
      runbook: runbook.name,
      args,
      requester: context.actor.id,
      origin: context.origin,
      ...(context.channelId ? { channel: context.channelId } : {}),
      ...(context.execution ? { execution: context.execution.key } : {}),
      ...(context.approvedBy ? { approvedBy: context.approvedBy } : {}),
      ...(version ? { version } : {}),
    })
    .catch(runRefused);
  return runStartedDocument(started, runbook);
}
