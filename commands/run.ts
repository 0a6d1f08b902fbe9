/**
 * `run <runbook> [key=value ...] [--dry-run]`: starts a run of a runbook and answers with its id
 * and steps; `--dry-run` shows every step's dry run instead and records nothing. The policy
 * decides a run at the runbook's own level (a dry run as read-only); a runbook that needs
 * approvals becomes an approval request bound to its plan, and the run starts once approved.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { clip } from './format.js';
import { tokenize } from './registry.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

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
  summary: "Start a runbook run at the runbook's level (approvals from Level 2), or show its plan with --dry-run",
  usage: '<runbook> [key=value ...] [--dry-run]',
  examples: ['run health-check --dry-run', 'run health-check', 'run health-check service=policy-engine'],
  level: 1,
  rawArguments: true,
  args: runArguments,
  authorizationSubject: (request, services) => runbookSubject(services, request.runbook, request.dryRun),
  async run(context, request) {
    return startRunbook(context, request);
  },
  plan: (context, request) => runbookPlan(context, request),
});
