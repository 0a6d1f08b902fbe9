/**
 * A runner process hosting the backup runbooks, for the backup and restore crash tests: the test
 * SIGKILLs it mid-step and starts another one to take the run over
 * (runbooks/engine/testing/host-runner-process.ts). With `stack: "local"` it has a local Stack
 * port with no service in it, and the deployment records for the restore's deploy lock (the test
 * migrates their tables): the restore needs both, and as no service writes the test's databases,
 * it stops nothing and starts nothing.
 *
 *   tsx runbooks/backup/testing/backup-runner-process.ts '{"databaseUrl": "...", "owner": "a", "root": "...", "databases": [...], "stack": "local"}'
 */
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { createPool } from '../../../services/kit/postgres.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { createReleaseRecords } from '../../deploy/release-records.js';
import type { BackupDatabase } from '../../engine/ports.js';
import { hostRunnerProcess, type RunnerProcessOptions } from '../../engine/testing/host-runner-process.js';
import { backupRunbooks } from '../index.js';

export interface BackupRunnerOptions extends RunnerProcessOptions {
  root: string;
  databases: BackupDatabase[];
  /** Which Stack port the runner has: none (the backup needs none), or an empty local one. */
  stack?: 'local';
}

hostRunnerProcess<BackupRunnerOptions>({
  application: 'acgs-backup-test',
  runbooks: () => [...backupRunbooks],
  ports: (options) => {
    const pool = createPool({ databaseUrl: options.databaseUrl, max: 2, applicationName: 'acgs-backup-test' });
    const stack = options.stack === 'local' ? createLocalStack({ processes: [] }) : undefined;
    return {
    backup: {
      root: options.root,
      databases: options.databases,
      configFiles: [],
      retention: { keepCount: 7, keepDays: 30 },
      modes: async () => ({ strict: false, lockdown: false }),
      serviceVersions: async () => ({}),
      auditChainHead: async () => null,
      ...backupHostPorts(pool),
    },
    // The restore takes the deploy lock (its tables migrated by the test, as the bot migrates them).
    ...(stack ? { commands: { stack }, deployments: createReleaseRecords({ pool, stack }) } : {}),
    };
  },
});
