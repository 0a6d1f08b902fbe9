/**
 * A runner process hosting the backup runbooks, for the crash test: the test SIGKILLs it mid-dump
 * and starts another one to take the run over (runbooks/engine/testing/host-runner-process.ts).
 *
 *   tsx runbooks/backup/testing/backup-runner-process.ts '{"databaseUrl": "...", "owner": "a", "root": "...", "databases": [...]}'
 */
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { createPool } from '../../../services/kit/postgres.js';
import type { BackupDatabase } from '../../engine/ports.js';
import { hostRunnerProcess, type RunnerProcessOptions } from '../../engine/testing/host-runner-process.js';
import { backupRunbooks } from '../index.js';

interface BackupRunnerOptions extends RunnerProcessOptions {
  root: string;
  databases: BackupDatabase[];
}

hostRunnerProcess<BackupRunnerOptions>({
  application: 'acgs-backup-test',
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
      ...backupHostPorts(createPool({ databaseUrl: options.databaseUrl, max: 1, applicationName: 'acgs-backup-test' })),
    },
  }),
});
