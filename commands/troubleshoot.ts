/**
 * `troubleshoot <memory|database|cache|sandbox> [--dry-run]`: the short form of running one of
 * the runbook's troubleshooting procedures (`run high-memory` ...), answered exactly as `run`
 * answers. The names live here as words because commands/ never imports runbooks/: a runbook
 * that is not registered is refused by `startRunbook` like any unknown one.
 */
import { z } from 'zod';
import { choiceArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

export const TROUBLESHOOTING_RUNBOOKS = {
  memory: 'high-memory',
  database: 'database-connections',
  cache: 'cache-degradation',
  sandbox: 'sandbox-failures',
} as const;

const AREAS = Object.keys(TROUBLESHOOTING_RUNBOOKS) as [keyof typeof TROUBLESHOOTING_RUNBOOKS, ...(keyof typeof TROUBLESHOOTING_RUNBOOKS)[]];

export const troubleshoot = defineCommand({
  name: 'troubleshoot',
  summary: 'Run a troubleshooting runbook: checks, Level 1 fixes when needed, a check after, and the next step',
  usage: '<memory|database|cache|sandbox> [--dry-run]',
  examples: ['troubleshoot cache', 'troubleshoot database --dry-run'],
  level: 1,
  positionals: ['area'],
  flags: { 'dry-run': { type: 'boolean', description: "show the runbook's plan (its checks run for real, read-only); runs nothing" } },
  args: z.object({ area: choiceArgument(AREAS, 'an area to troubleshoot'), 'dry-run': z.boolean().default(false) }).strict(),
  authorizationSubject: ({ area, 'dry-run': dryRun }, services) => runbookSubject(services, TROUBLESHOOTING_RUNBOOKS[area], dryRun),
  async run(context, { area, 'dry-run': dryRun }) {
    return startRunbook(context, { runbook: TROUBLESHOOTING_RUNBOOKS[area], args: {}, dryRun });
  },
  plan: (context, { area, 'dry-run': dryRun }) => runbookPlan(context, { runbook: TROUBLESHOOTING_RUNBOOKS[area], args: {}, dryRun }),
});
