/**
 * `backup [--dry-run]`: the short form of `run backup`, answered exactly as `run` answers. Its
 * arguments are read as a line so that a word that is not its own (`backup verfy ...`) is named,
 * with the command that was probably meant.
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { defineCommand } from './command.js';
import { clip } from './format.js';
import { tokenize } from './registry.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

export const backupArguments = z.object({ line: z.string() }).transform((input, context) => {
  let dryRun = false;
  for (const token of tokenize(input.line)) {
    if (token === '--dry-run') {
      dryRun = true;
      continue;
    }
    const meant = closestChoice(token.toLowerCase(), ['verify']);
    context.addIssue({
      code: 'custom',
      input: token,
      message: meant
        ? `\`${clip(token, 40)}\` is not a word of \`backup\`; did you mean \`backup verify <id>\`?`
        : `\`${clip(token, 40)}\` is not a word of \`backup\`: \`backup\` makes a backup (\`--dry-run\` shows its plan), \`backup verify <id>\` checks one, \`backups\` lists them`,
    });
    return z.NEVER;
  }
  return { dryRun };
});

export const backup = defineCommand({
  name: 'backup',
  summary: "Back up the stack (run backup, at the runbook's level): its databases, modes, config and versions",
  usage: '[--dry-run]',
  examples: ['backup --dry-run', 'backup'],
  level: 1,
  rawArguments: true,
  args: backupArguments,
  authorizationSubject: ({ dryRun }, services) => runbookSubject(services, 'backup', dryRun),
  async run(context, { dryRun }) {
    return startRunbook(context, { runbook: 'backup', args: {}, dryRun });
  },
  plan: (context, { dryRun }) => runbookPlan(context, { runbook: 'backup', args: {}, dryRun }),
});
