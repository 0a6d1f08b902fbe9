/**
 * Starting a runbook, or showing its plan, as `run` and the runbook's short forms (`backup`,
 * `backup verify <id>`) do: one function, so a short form answers exactly as `run` would.
 *
 * A command's level is what the policy decides on: a runbook's own level does not yet reach the
 * authorization decision, so runbooks above MAX_RUN_LEVEL are refused rather than run with less
 * authorization than their level asks for.
 */
import { closestChoice } from './arguments.js';
import { CommandError, type CommandContext } from './command.js';
import { levelWords } from './decision-documents.js';
import { clip } from './format.js';
import type { ResultDocument } from './result.js';
import { requireRuns, runRefused } from './runbook-access.js';
import { planDocument, runStartedDocument } from './run-documents.js';

/** The highest runbook level these commands start while the command's own level is what the policy decides on. */
export const MAX_RUN_LEVEL = 1;

export interface RunbookRequest {
  runbook: string;
  args: Record<string, string>;
  dryRun: boolean;
}

export async function startRunbook(context: CommandContext, { runbook: name, args, dryRun }: RunbookRequest): Promise<ResultDocument> {
  const runs = requireRuns(context);
  const known = runs.list();
  const runbook = known.find((candidate) => candidate.name === name);
  if (!runbook) {
    const guess = closestChoice(name, known.map((candidate) => candidate.name));
    const list = known.length > 0 ? `Runbooks: ${known.map((candidate) => candidate.name).join(', ')}.` : 'No runbooks are registered.';
    throw new CommandError(`There is no runbook "${clip(name, 40)}".`, guess ? `Did you mean \`${guess}\`? ${list}` : list);
  }
  if (runbook.level > MAX_RUN_LEVEL) {
    throw new CommandError(
      `"${runbook.name}" is a ${levelWords(runbook.level)} runbook; \`run\` starts runbooks up to Level ${MAX_RUN_LEVEL} for now.`,
      "Its own level does not reach the authorization decision yet, so it is refused rather than run with less than its level asks for.",
      'refused',
    );
  }
  if (dryRun) return planDocument(await runs.plan(runbook.name, args).catch(runRefused));
  const started = await runs
    .submit({
      runbook: runbook.name,
      args,
      requester: context.actor.id,
      origin: context.origin,
      ...(context.channelId ? { channel: context.channelId } : {}),
      ...(context.execution ? { execution: context.execution.key } : {}),
    })
    .catch(runRefused);
  return runStartedDocument(started, runbook);
}
