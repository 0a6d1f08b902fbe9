/**
 * `dr-test [--dry-run]`: the short form of `run dr-test`, answered exactly as `run` answers. The
 * start is decided at the runbook's level (1: the restore test only writes scratch databases); the
 * failover that stops services waits at the runbook's Level 2 gate for an approver.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

export const drTest = defineCommand({
  name: 'dr-test',
  summary: 'Disaster-recovery test (run dr-test): restore the latest backup into scratch databases, timed; then, approved, stop each service in turn and time its recovery; DR report',
  usage: '[--dry-run]',
  examples: ['dr-test --dry-run', 'dr-test'],
  level: 1,
  flags: {
    'dry-run': { type: 'boolean', description: 'show the plan: the backup it would restore, whether a failover is safe now; runs nothing' },
  },
  args: z.object({ 'dry-run': z.boolean().default(false) }).strict(),
  authorizationSubject: ({ 'dry-run': dryRun }, services) => runbookSubject(services, 'dr-test', dryRun),
  async run(context, { 'dry-run': dryRun }) {
    return startRunbook(context, { runbook: 'dr-test', args: {}, dryRun });
  },
  plan: (context, { 'dry-run': dryRun }) => runbookPlan(context, { runbook: 'dr-test', args: {}, dryRun }),
});
