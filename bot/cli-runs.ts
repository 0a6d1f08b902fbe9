/**
 * The runbook engine and the backup catalog as `npx acgs` reaches them, chosen like its trail
 * (bot/cli.ts): with DATABASE_URL the CLI works on the run store in that database itself, with no
 * runner of its own (its executor is never started, so it only records: a runner in a bot replica
 * claims the run); without it, the running `npm start` lends its engine over the control channel
 * (bot/runbook-runs/run-relay.ts). Neither: `runsProblem` says why, in the trail's words.
 */
import type pg from 'pg';
import { CommandError } from '../commands/command.js';
import type { CommandDependencies } from '../commands/dependencies.js';
import type { BackupCatalog, RunbookRuns } from '../commands/ports.js';
import { createBackupPorts } from '../runbooks/backup/index.js';
import { createRunbookRegistry } from '../runbooks/engine/registry.js';
import { createRunExecutor } from '../runbooks/engine/run-executor.js';
import { createGateStore } from '../runbooks/engine/gate-store.js';
import { createApprovalStore } from './approvals/index.js';
import { closeGatesForAbort } from './runbook-runs/gate-approvals.js';
import { createRunStore } from '../runbooks/engine/run-store.js';
import { allRunbooks } from '../runbooks/index.js';
import type { ControlChannel } from '../services/stack/local/local-control-client.js';
import { createTrailStore } from './audit-trail/trail-store.js';
import { createBackupCatalog, createRunbookRuns } from './runbook-runs/index.js';
import { createRelayedRuns, RUN_RELAY_FEATURE } from './runbook-runs/run-relay.js';

export interface CliRuns {
  runs?: RunbookRuns;
  backups?: BackupCatalog;
  runsProblem?: string;
}

/** PostgreSQL's "undefined_table": no bot has created the run store in this database yet. */
const UNDEFINED_TABLE = '42P01';

/** The store's failures that a person can act on, as the commands' own refusal. */
function withStoreHints<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(object, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          if ((error as { code?: unknown })?.code === UNDEFINED_TABLE) {
            throw new CommandError(
              'The run store is not in the database DATABASE_URL names.',
              'A bot creates it when it starts on that database (npm start with DATABASE_URL, or the deployment); start one, then ask again. Nothing was recorded.',
              'unavailable',
            );
          }
          throw error;
        });
      };
    },
  });
}

/** With DATABASE_URL: the run store on the trail's pool, runbooks from this code base, no runner. */
export function databaseRuns(pool: pg.Pool, env: Record<string, string | undefined>, commands: Omit<CommandDependencies, 'runs' | 'backups'>): CliRuns {
  const store = createRunStore(pool);
  const registry = createRunbookRegistry(allRunbooks);
  const backupPorts = createBackupPorts({
    env: env as NodeJS.ProcessEnv,
    commands,
    auditChainHead: async () => {
      const head = await createTrailStore(pool).head();
      return head.sequence > 0 ? head : null;
    },
  });
  // Never started: a dry run makes its read-only checks here, a submitted run waits for a bot's runner.
  const executor = createRunExecutor({ store, registry, ports: { commands, backup: backupPorts } });
  const gates = createGateStore(pool);
  const approvals = createApprovalStore({ pool });
  // An abort from here cancels the requests its gates wait on (a vote on one is refused, saying why);
  // their Slack messages are the bot's, and are not edited from here.
  const gateApprovals = { closeForAbort: (run: { id: string }, by: string) => closeGatesForAbort({ gates, approvals }, run, by) };
  return { runs: withStoreHints(createRunbookRuns({ registry, executor, store, gates, approvals, gateApprovals })), backups: createBackupCatalog(backupPorts.root) };
}

/** Without DATABASE_URL: the engine of the npm start behind the control channel, if it lends one. */
export async function relayedRuns(channel: ControlChannel): Promise<CliRuns> {
  if (!channel.features.includes(RUN_RELAY_FEATURE)) {
    return { runsProblem: `the local stack runs without the bot's runbook engine (pid ${channel.supervisorPid}: npm run start:stack, or an npm start older than the run relay), so nothing here can run a runbook: run npm start instead, or set DATABASE_URL` };
  }
  try {
    return await createRelayedRuns(channel);
  } catch (error) {
    return { runsProblem: (error as Error).message };
  }
}
