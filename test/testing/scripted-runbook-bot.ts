/**
 * The governance bot (governance-bot.ts) as the Slack runbook suites start it: on-call, two
 * approvers, an admin and a viewer with no role; the engine's modes read on every decision; and a
 * runbook engine running the suite's scripted runbooks, whose marks table exists first.
 */
import type pg from 'pg';
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import { MARKS_TABLE_SQL } from '../../runbooks/engine/testing/database.js';
import { startGovernanceBot, type GovernanceBot, type GovernanceBotOptions } from './governance-bot.js';
import { ONCALL } from './slack-harness.js';

export const APPROVER1 = 'U0APPROVER1';
export const APPROVER2 = 'U0APPROVER2';
export const ADMIN = 'U0ADMIN';
/** In the workspace, with no role. */
export const VIEWER = 'U0VIEWER';

export interface ScriptedRunbookBotOptions extends Pick<GovernanceBotOptions, 'deploymentsFor'> {
  /** Names the suite's database, apart from the other suites'. */
  prefix: string;
  /** Given the bot's pool, which the scripted runbooks write their marks into. */
  runbooks(pool: pg.Pool): readonly AnyRunbook[];
}

export function startScriptedRunbookBot(options: ScriptedRunbookBotOptions): Promise<GovernanceBot> {
  return startGovernanceBot({
    roles: { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [ADMIN] },
    modesTtlMs: 0,
    extraUsers: [
      { id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' },
      { id: VIEWER, name: 'viewer', realName: 'Vic Viewer', roleLabel: 'developer' },
    ],
    prefix: options.prefix,
    runbooks: async (pool) => {
      await pool.query(MARKS_TABLE_SQL);
      return options.runbooks(pool);
    },
    ...(options.deploymentsFor ? { deploymentsFor: options.deploymentsFor } : {}),
  });
}
