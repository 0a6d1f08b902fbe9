/**
 * `hotfix <service> <version> [--dry-run]`: the short form of `run hotfix service=<s>
 * version=<v>`: the runbook's emergency hotfix of one service (Level 2; admins may break glass
 * when no approver answers), answered exactly as `run` answers.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

export const hotfix = defineCommand({
  name: 'hotfix',
  summary: "Hotfix one service now (run hotfix, at the runbook's level): emergency backup, the service on the release, verification, a 5-minute watch",
  usage: '<service> <version> [--dry-run]',
  examples: ['hotfix policy-engine 1.4.1 --dry-run', 'hotfix policy-engine 1.4.1'],
  level: 2,
  positionals: ['service', 'version'],
  flags: {
    'dry-run': { type: 'boolean', description: 'show the plan (the version from and to, the checks now); changes nothing' },
  },
  args: z.object({ service: z.string().min(1), version: z.string().min(1), 'dry-run': z.boolean().default(false) }).strict(),
  authorizationSubject: ({ 'dry-run': dryRun }, services) => runbookSubject(services, 'hotfix', dryRun),
  async run(context, { service, version, 'dry-run': dryRun }) {
    return startRunbook(context, { runbook: 'hotfix', args: { service, version }, dryRun });
  },
  plan: (context, { service, version, 'dry-run': dryRun }) => runbookPlan(context, { runbook: 'hotfix', args: { service, version }, dryRun }),
});
