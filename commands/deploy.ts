/**
 * `deploy <version> [--services a,b] [--dry-run]`: the short form of `run deploy version=<version>`
 * (Level 2: the approval is bound to the plan), answered exactly as `run` answers. A version the
 * release repository does not have, or a deployment already in progress, is refused by the
 * runbook's validate before any run is recorded or any approver asked.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

function deployArgs(version: string, services: string | undefined): Record<string, string> {
  return services ? { version, services } : { version };
}

export const deploy = defineCommand({
  name: 'deploy',
  summary: "Deploy a release (run deploy, at the runbook's level): checks, validation, a backup, a rolling update, a watch that rolls back by itself",
  usage: '<version> [--services <a,b>] [--dry-run]',
  examples: ['deploy 1.4.0 --dry-run', 'deploy 1.4.0', 'deploy 1.4.1 --services policy-engine,audit-engine'],
  level: 2,
  positionals: ['version'],
  flags: {
    services: { type: 'string', description: 'only these services (comma-separated); all four by default' },
    'dry-run': { type: 'boolean', description: 'show the plan (versions from and to, the order, the checks now); deploys nothing' },
  },
  args: z.object({ version: z.string().min(1), services: z.string().optional(), 'dry-run': z.boolean().default(false) }).strict(),
  authorizationSubject: ({ 'dry-run': dryRun }, services) => runbookSubject(services, 'deploy', dryRun),
  async run(context, { version, services, 'dry-run': dryRun }) {
    return startRunbook(context, { runbook: 'deploy', args: deployArgs(version, services), dryRun });
  },
  plan: (context, { version, services, 'dry-run': dryRun }) => runbookPlan(context, { runbook: 'deploy', args: deployArgs(version, services), dryRun }),
});
