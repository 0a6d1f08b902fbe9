/**
 * A runner process hosting the backup runbooks with a (local, empty) Stack port, for the restore
 * crash test: the test SIGKILLs it mid-restore and starts another one to take the run over
 * (runbooks/engine/testing/host-runner-process.ts). No service of its stack writes the database,
 * so the restore stops nothing and starts nothing.
 *
 *   tsx runbooks/backup/testing/restore-runner-process.ts '{"databaseUrl": "...", "owner": "a", "root": "...", "databases": [...]}'
 */
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { createPool } from '../../../services/kit/postgres.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import type { BackupDatabase } from '../../engine/ports.js';
import { hostRunnerProcess, type RunnerProcessOptions } from '../../engine/testing/host-runner-process.js';
import { backupRunbooks } from '../index.js';

interface RestoreRunnerOptions extends RunnerProcessOptions {
  root: string;
  databases: BackupDatabase[];
}

hostRunnerProcess<RestoreRunnerOptions>({
  application: 'acgs-restore-test',
  runbooks: () => [...backupRunbooks],
  ports: (options) => ({
    backup: {
      root: options.root,
      databases: options.databases,
      configFiles: [],
      retention: { keepCount: 7, keepDays: 30 },
      modes: async () => ({ strict: false, lockdown: false }),
      serviceVersions: async () => ({}),
      auditChainHead: async () => null,
      ...backupHostPorts(createPool({ databaseUrl: options.databaseUrl, max: 1, applicationName: 'acgs-restore-test' })),
    },
    commands: { stack: createLocalStack({ processes: [] }) },
  }),
});
