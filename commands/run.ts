/**
 * `run <runbook> [key=value ...] [--dry-run]`: starts a run of a runbook and answers with its id
 * and steps; `--dry-run` shows every step's dry run instead and records nothing.
 *
 * The command's level is 1, and the policy decides with that: a runbook's own level does not yet
 * reach the authorization decision, so runbooks above Level 1 are refused here rather than run
 * with less authorization than their level asks for.
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { CommandError, defineCommand } from './command.js';
import { clip } from './format.js';
import { levelWords } from './decision-documents.js';
import { tokenize } from './registry.js';
import { requireRuns, runRefused } from './runbook-access.js';
import { planDocument, runStartedDocument } from './run-documents.js';

/** The highest runbook level `run` starts while the command's own level is what the policy decides on. */
export const MAX_RUN_LEVEL = 1;

const KEY_VALUE = /^([a-z][a-z0-9_-]{0,40})=(.*)$/i;

export const runArguments = z.object({ line: z.string() }).transform((input, context) => {
  let dryRun = false;
  let runbook: string | undefined;
  const args: Record<string, string> = {};
  for (const token of tokenize(input.line)) {
    if (token === '--dry-run') {
      dryRun = true;
      continue;
    }
    if (token.startsWith('-')) {
      context.addIssue({ code: 'custom', input: token, message: `\`${clip(token, 40)}\` is not an option of \`run\`; it takes \`--dry-run\`, and the runbook's arguments as key=value` });
      return z.NEVER;
    }
    if (runbook === undefined) {
      runbook = token.toLowerCase();
      continue;
    }
    const pair = KEY_VALUE.exec(token);
    if (!pair) {
      context.addIssue({ code: 'custom', input: token, message: `\`${clip(token, 40)}\` is not an argument; a runbook's arguments are key=value, e.g. service=policy-engine` });
      return z.NEVER;
    }
    const key = pair[1]!;
    if (key in args) {
      context.addIssue({ code: 'custom', input: token, message: `\`${clip(key, 40)}\` is given twice` });
      return z.NEVER;
    }
    args[key] = pair[2]!;
  }
  if (runbook === undefined) {
    context.addIssue({ code: 'custom', input: input.line, message: 'name the runbook to run, e.g. `run health-check` (`runbooks` lists them)' });
    return z.NEVER;
  }
  return { runbook, args, dryRun };
});

export const run = defineCommand({
  name: 'run',
  summary: 'Start a runbook run, or show its plan with --dry-run',
  usage: '<runbook> [key=value ...] [--dry-run]',
  examples: ['run health-check --dry-run', 'run health-check', 'run health-check service=policy-engine'],
  level: 1,
  rawArguments: true,
  args: runArguments,
  async run(context, { runbook: name, args, dryRun }) {
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
      .submit({ runbook: runbook.name, args, requester: context.actor.id, origin: context.origin, ...(context.channelId ? { channel: context.channelId } : {}) })
      .catch(runRefused);
    return runStartedDocument(started, runbook);
  },
});
