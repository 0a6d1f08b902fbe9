/**
 * What the run commands share: the engine's port (or why there is none), its refusals as
 * CommandErrors, and a run id as an argument.
 */
import { z } from 'zod';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import { RunRequestError, type RunbookRuns } from './ports.js';

export function requireRuns(context: CommandContext): RunbookRuns {
  const runs = context.services.runs;
  if (!runs && context.services.runsProblem) throw new CommandError('The runbook engine cannot be reached from here.', context.services.runsProblem, 'unavailable');
  if (!runs) {
    throw new CommandError(
      'The runbook engine is not set up in this process.',
      'The bot runs it (`npm start`, or the bot with DATABASE_URL); start runbooks from Slack, the console or `npx acgs`.',
      'unavailable',
    );
  }
  return runs;
}

/** The engine refused before writing anything: its sentence is the answer. */
export function runRefused(error: unknown): never {
  if (error instanceof RunRequestError) {
    const hint = error.hint ?? (error.code === 'unknown-run' ? '`runs` lists the active and recent runs.' : error.code === 'bad-arguments' ? '`runbooks` lists what each runbook does.' : undefined);
    throw new CommandError(error.message, hint, error.code === 'version-changed' ? 'superseded' : 'usage');
  }
  throw error;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHORT_ID = /^[0-9a-f]{8}$/;

/** A run id as `run` and `runs` show it (a UUID); anything else is refused before the engine is asked. */
export const runIdArgument = z
  .string({ error: 'name the run: its id, as `runs` shows it' })
  .transform((value, context) => {
    const id = value.trim().toLowerCase();
    if (RUN_ID.test(id)) return id;
    // Run messages name a run by its first 8 digits, so that is what people copy first.
    const message = SHORT_ID.test(id)
      ? `\`${id}\` is only the start of a run id; give the whole id, as \`runs\` and the run's message show it (like 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed)`
      : `\`${clip(value, 40)}\` is not a run id; a run id looks like 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed (\`runs\` lists them)`;
    context.addIssue({ code: 'custom', input: value, message });
    return z.NEVER;
  });
