/**
 * A runner process hosting the backup runbooks, for the crash test: it prints one JSON line per
 * audit event, so a test can SIGKILL it mid-dump and start another one to take the run over.
 *
 *   tsx runbooks/backup/testing/backup-runner-process.ts '{"databaseUrl": "...", "owner": "a", "root": "...", "databases": [...]}'
 */
import { createPool } from '../../../services/kit/postgres.js';
import type { BackupDatabase } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor } from '../../engine/run-executor.js';
import { createRunStore } from '../../engine/run-store.js';
import { backupRunbooks } from '../index.js';

interface ChildOptions {
  databaseUrl: string;
  owner: string;
  leaseMs: number;
  renewEveryMs: number;
  root: string;
  databases: BackupDatabase[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const pool = createPool({ databaseUrl: options.databaseUrl, max: 4, applicationName: `acgs-backup-test-${options.owner}` });
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ owner: options.owner, ...line })}\n`);
const registry = createRunbookRegistry([...backupRunbooks]);
const executor = createRunExecutor({
  store: createRunStore(pool),
  registry,
  owner: options.owner,
  leaseMs: options.leaseMs,
  renewEveryMs: options.renewEveryMs,
  scanEveryMs: 200,
  ports: {
    backup: {
      root: options.root,
      databases: options.databases,
      configFiles: [],
      retention: { keepCount: 7, keepDays: 30 },
      modes: async () => ({ strict: false, lockdown: false }),
      serviceVersions: async () => ({}),
      auditChainHead: async () => null,
    },
  },
  audit: {
    async stepStarted(event) {
      print({ event: 'stepStarted', runId: event.runId, stepId: event.stepId, attempt: event.attempt });
    },
    async stepFinished(event) {
      print({ event: 'stepFinished', runId: event.runId, stepId: event.stepId, attempt: event.attempt, outcome: event.outcome });
    },
    async runStateChanged(event) {
      print({ event: 'runStateChanged', runId: event.runId, state: event.state });
    },
  },
  log: (message, error) => process.stderr.write(`${message}${error ? `: ${(error as Error).message}` : ''}\n`),
});
executor.start();
// The versions as tsx computes them: the test records its run with these.
print({ event: 'started', versions: Object.fromEntries(registry.list().map((runbook) => [runbook.name, runbook.version])) });
process.on('SIGTERM', () => {
  void executor
    .stop()
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
setInterval(() => undefined, 60_000);
