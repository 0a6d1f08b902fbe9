/**
 * `rollback [service] [--to <version>] [--backup <id>] [--dry-run] [--unverified]`: the short form
 * of `run rollback` (Level 2), or of `run rollback-restore` (Level 3) when a backup is to be
 * restored as well, answered exactly as `run` answers. The runbook is picked here from the
 * arguments, so the decision is made at the level of the runbook that will run, never below it.
 * An unknown service, version or backup is refused before any run is recorded or approval asked.
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../services/kit/service-ports.js';
import { choiceArgument } from './arguments.js';
import { restoreIdArgument } from './backup-access.js';
import { defineCommand } from './command.js';
import { runbookPlan, runbookSubject, startRunbook, type RunbookRequest } from './runbook-start.js';

const RollbackCommandArgs = z
  .object({
    service: choiceArgument(SERVICE_NAMES as [ServiceName, ...ServiceName[]], 'a service').optional(),
    to: z.string().trim().min(1, 'name the version to roll back to, e.g. 1.3.0').max(100).optional(),
    backup: restoreIdArgument.optional(),
    'dry-run': z.boolean().default(false),
    unverified: z.boolean().default(false),
  })
  .strict()
  .refine((args) => !args.unverified || args.backup !== undefined, { message: '`--unverified` is about the backup to restore: use it with `--backup <id>`' });
type Args = z.output<typeof RollbackCommandArgs>;

/** With a backup the databases are restored too: `rollback-restore`, a runbook of its own level. */
const runbookOf = (args: Args) => (args.backup ? 'rollback-restore' : 'rollback');

function request(args: Args): RunbookRequest {
  const runbookArgs: Record<string, string> = {};
  if (args.service) runbookArgs['service'] = args.service;
  if (args.to) runbookArgs['to'] = args.to;
  if (args.backup) runbookArgs['backup'] = args.backup;
  if (args.unverified) runbookArgs['unverified'] = 'allow';
  return { runbook: runbookOf(args), args: runbookArgs, dryRun: args['dry-run'] };
}

export const rollback = defineCommand({
  name: 'rollback',
  summary: "Roll services back to their previous version (run rollback); with --backup, restore the databases too (run rollback-restore)",
  usage: '[service] [--to <version>] [--backup <id>] [--dry-run] [--unverified]',
  examples: ['rollback --dry-run', 'rollback', 'rollback policy-engine --to 1.3.0', 'rollback --backup 20261206T152000Z-a1b2c3'],
  level: 2,
  positionals: ['service'],
  flags: {
    to: { type: 'string', description: 'the version to go back to, instead of each service\'s previous one' },
    backup: { type: 'string', description: 'also restore the databases from this backup (Level 3: run rollback-restore)' },
    'dry-run': { type: 'boolean', description: 'show the plan (each service from and to, the lock it takes over); runs nothing' },
    unverified: { type: 'boolean', description: 'with --backup: allow a backup `backup verify` never verified (never one that failed it)' },
  },
  args: RollbackCommandArgs,
  authorizationSubject: (args, services) => runbookSubject(services, runbookOf(args), args['dry-run']),
  async run(context, args) {
    return startRunbook(context, request(args));
  },
  // Made before any approver is asked, and again at the last approval: a deploy or rollback
  // meanwhile changes where the services go, which supersedes the request.
  plan: (context, args) => runbookPlan(context, request(args)),
});
