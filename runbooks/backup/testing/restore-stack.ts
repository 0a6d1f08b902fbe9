/**
 * What the restore harnesses share whatever the databases are (real PostgreSQL in
 * restore-harness.ts, embedded PGlite in restore-embedded-harness.ts): the Audit Engine's seed
 * events, the tables the writer and the bot's trail fill, the real Audit Engine in a writer process
 * (writer-process.ts) supervised by the real local Stack driver as `audit-engine`, the backup port
 * around the two databases, and a backup recorded as verified.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { type AuditEngineClient, createAuditEngineClient } from '../../../services/clients/audit-engine.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { superviseProcess, type SupervisedProcess } from '../../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../../services/stack/stack.js';
import { unusedLoopbackPort } from '../../../test/testing/loopback.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';
import type { BackupDatabase, BackupPorts } from '../../engine/ports.js';
import type { RunbookTestDatabase } from '../../engine/testing/database.js';
import { recordVerification } from '../backup-catalog.js';
import type { BackupRunExecutor } from './backup-run-executor.js';

const WRITER = fileURLToPath(new URL('./writer-process.ts', import.meta.url));

/** The table the writer process adds a row to while it runs: rows written after a backup. */
export const WRITER_TICKS_TABLE_SQL = 'CREATE TABLE writer_ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pid integer NOT NULL)';
/** The bot's trail in miniature: restore leaves the bot's own database alone. */
export const BOT_RECORDS_SQL = 'CREATE TABLE bot_records (sequence bigint PRIMARY KEY, hash text NOT NULL); INSERT INTO bot_records SELECT g, md5(g::text) FROM generate_series(1, 40) g';

/** The engine app's own request path (not a client): the harness chains before any writer runs. */
interface InjectableEngine {
  inject(request: { method: 'POST'; url: string; payload: object; headers: Record<string, string> }): Promise<{ statusCode: number; body: string }>;
}

/** Events (twelve unless told) appended through the engine's API, so its hash chain is the engine's own. */
export async function appendSeedEvents(engine: InjectableEngine, count = 12): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const response = await engine.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'restore.test', data: { index } }, headers: SERVICE_AUTH });
    if (response.statusCode !== 201) throw new Error(`the Audit Engine refused an event: ${response.statusCode} ${response.body}`);
  }
}

export interface AuditWriterStack {
  writer: SupervisedProcess;
  stack: Stack;
  /** The Audit Engine the writer process runs, with the service and admin tokens. */
  engine: AuditEngineClient;
  engineUrl: string;
  adminToken: string;
}

/**
 * The real Audit Engine writing `databaseUrl` in a writer process, supervised as `audit-engine`,
 * healthy before this returns. `stateDir` holds its key and the copy of its newest checkpoint,
 * shared with the engine that seeded the database; it walks its chain every half second.
 */
export async function startAuditWriter({ databaseUrl, stateDir }: { databaseUrl: string; stateDir: string }): Promise<AuditWriterStack> {
  const port = await unusedLoopbackPort();
  const adminToken = testToken();
  const engineUrl = `http://127.0.0.1:${port}`;
  const writer = superviseProcess({
    name: 'audit-engine',
    command: process.execPath,
    args: ['--import', 'tsx', WRITER, databaseUrl, String(port), 'audit-engine'],
    env: { ACGS_STATE_DIR: stateDir, ACGS_ADMIN_TOKEN: adminToken, ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN, AUDIT_VERIFY_INTERVAL_MS: '500' },
    healthUrl: `${engineUrl}/health`,
    echo: false,
  });
  const stack = createLocalStack({ processes: [writer], startGraceMs: 60_000 });
  if (!(await writer.waitUntilHealthy(30_000))) throw new Error('the writer process never answered /health');
  const engine = createAuditEngineClient(engineUrl, { adminToken, serviceToken: TEST_SERVICE_TOKEN });
  return { writer, stack, engine, engineUrl, adminToken };
}

/** What both restore harnesses offer a test, whatever the databases. */
export interface RestoreHarnessCommon extends AuditWriterStack, BackupRunExecutor {
  t: RunbookTestDatabase;
  ports: BackupPorts;
  /** A backup of the stack as it is now, recorded as verified; its id. */
  verifiedBackup(): Promise<string>;
  close(): Promise<void>;
}

/** The backup port of a restore test: `databases` backed up under `workDir`/backups, nothing else. */
export function restoreBackupPorts({ workDir, databases, t }: { workDir: string; databases: BackupDatabase[]; t: RunbookTestDatabase }): BackupPorts {
  return {
    root: join(workDir, 'backups'),
    databases,
    configFiles: [],
    retention: { keepCount: 50, keepDays: 30 },
    modes: async () => ({ strict: false, lockdown: false }),
    serviceVersions: async () => ({ 'audit-engine': 'test' }),
    auditChainHead: async () => null,
    // The bot's own: its run store (the harness's) and its trail verifier.
    ...backupHostPorts(t.pool),
  };
}

/** A backup of the stack as it is now, recorded as verified; its id. */
export async function verifiedBackup({ run, t, root }: { run: BackupRunExecutor['run']; t: RunbookTestDatabase; root: string }): Promise<string> {
  const backup = await run('backup');
  if (backup.state !== 'succeeded') throw new Error(`the backup ${backup.state}: ${backup.reason}`);
  const id = ((await t.store.attempts(backup.id)).find((attempt) => attempt.stepId === 'write-manifest')?.output as { id: string }).id;
  // Recorded as backup verify records it, without its scratch restores: backup-verify.test.ts
  // asserts that no verify scratch database is left while it runs, and files run side by side.
  await recordVerification(join(root, id), { verified_at: new Date().toISOString(), ok: true, verified_by: 'restore test' });
  return id;
}
