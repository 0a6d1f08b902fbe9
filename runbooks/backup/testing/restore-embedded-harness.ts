/**
 * The restore runbook on the embedded default of `npm start`: the Audit Engine's and the bot's
 * databases are PGlite instances in worker threads (startEmbeddedPostgres, as npm start runs
 * them), the audit one migrated and chained by the real Audit Engine, and the real Audit Engine in
 * a writer process (testing/writer-process.ts) supervised by the real local Stack driver as
 * `audit-engine`, writing through the database's loopback socket until the restore stops it,
 * keeping its newest checkpoint outside the database and walking its chain every half second. The run store is on the
 * real PostgreSQL (the only thing there).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { buildApp } from '../../../services/audit-engine/app.js';
import { loadConfig } from '../../../services/audit-engine/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../services/stack/local/embedded-postgres.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { superviseProcess, type SupervisedProcess } from '../../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../../services/stack/stack.js';
import { unusedLoopbackPort } from '../../../test/testing/loopback.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';
import { type AuditEngineClient, createAuditEngineClient } from '../../../services/clients/audit-engine.js';
import type { BackupPorts, StepPorts } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord } from '../../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../engine/testing/database.js';
import { recordVerification } from '../backup-catalog.js';
import { backupDatabasesFromEnv } from '../backup-ports.js';
import { backupRunbooks } from '../index.js';

const WRITER = fileURLToPath(new URL('./writer-process.ts', import.meta.url));

export interface EmbeddedRestoreHarness {
  t: RunbookTestDatabase;
  workDir: string;
  audit: EmbeddedPostgres;
  bot: EmbeddedPostgres;
  writer: SupervisedProcess;
  /** The Audit Engine the writer process runs, with the service and admin tokens. */
  engine: AuditEngineClient;
  stack: Stack;
  ports: BackupPorts;
  executor: RunExecutor;
  run(runbook: string, args?: unknown): Promise<RunRecord>;
  settle(runId: string): Promise<RunRecord>;
  /** A backup of the stack as it is now, recorded as verified; its id. */
  verifiedBackup(): Promise<string>;
  /** SQL on the audit database's socket, with the writer stopped meanwhile (the socket serves one client). */
  auditSql(text: string): Promise<pg.QueryResult>;
  /** What lies beside the audit database's data directory (restored copies, kept previous ones). */
  besideAudit(): string[];
  close(): Promise<void>;
}

/** One statement on the database's socket, once the last client has left it, and until this one has. */
async function onSocket(db: EmbeddedPostgres, text: string): Promise<pg.QueryResult> {
  await db.untilNoClients();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
    await db.untilNoClients();
  }
}

export async function embeddedRestoreHarness(): Promise<EmbeddedRestoreHarness> {
  const t = await runbookTestDatabase();
  const workDir = mkdtempSync(join(tmpdir(), 'acgs-restore-embedded-'));
  const audit = await startEmbeddedPostgres(join(workDir, 'pglite', 'audit'));
  const bot = await startEmbeddedPostgres(join(workDir, 'pglite', 'bot'));
  // The engine migrates its database and chains what it is sent, as npm start's does.
  const stateDir = join(workDir, 'audit-engine');
  const engine = buildApp({ ...loadConfig({ DATABASE_URL: audit.url, DATABASE_POOL_MAX: '1', ACGS_STATE_DIR: stateDir, AUDIT_VERIFY_INTERVAL_MS: '0' }), serviceToken: TEST_SERVICE_TOKEN });
  await engine.ready();
  for (let index = 0; index < 12; index += 1) {
    const response = await engine.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'restore.test', data: { index } }, headers: SERVICE_AUTH });
    if (response.statusCode !== 201) throw new Error(`the Audit Engine refused an event: ${response.statusCode} ${response.body}`);
  }
  await engine.close();
  await onSocket(audit, 'CREATE TABLE writer_ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pid integer NOT NULL)');
  await onSocket(bot, 'CREATE TABLE bot_records (sequence bigint PRIMARY KEY, hash text NOT NULL); INSERT INTO bot_records SELECT g, md5(g::text) FROM generate_series(1, 40) g');

  const port = await unusedLoopbackPort();
  const adminToken = testToken();
  const writer = superviseProcess({
    name: 'audit-engine',
    command: process.execPath,
    args: ['--import', 'tsx', WRITER, audit.url, String(port), 'audit-engine'],
    // The same state directory: its key and the copy of its newest checkpoint.
    env: { ACGS_STATE_DIR: stateDir, ACGS_ADMIN_TOKEN: adminToken, ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN, AUDIT_VERIFY_INTERVAL_MS: '500' },
    healthUrl: `http://127.0.0.1:${port}/health`,
    echo: false,
  });
  const stack = createLocalStack({ processes: [writer], startGraceMs: 60_000 });
  if (!(await writer.waitUntilHealthy(30_000))) throw new Error('the writer process never answered /health');

  const ports: BackupPorts = {
    root: join(workDir, 'backups'),
    databases: backupDatabasesFromEnv({}, { 'audit-engine': audit, bot }).databases,
    configFiles: [],
    retention: { keepCount: 50, keepDays: 30 },
    modes: async () => ({ strict: false, lockdown: false }),
    serviceVersions: async () => ({ 'audit-engine': 'test' }),
    auditChainHead: async () => null,
    ...backupHostPorts(t.pool),
  };
  const client = createAuditEngineClient(`http://127.0.0.1:${port}`, { adminToken, serviceToken: TEST_SERVICE_TOKEN });
  const stepPorts: StepPorts = { backup: ports, commands: { stack, auditEngine: client } };
  const executor = createRunExecutor({ store: t.store, registry: createRunbookRegistry([...backupRunbooks]), ports: stepPorts, leaseMs: 10_000, renewEveryMs: 1000 });
  const settle = async (runId: string) => {
    await executor.scanNow();
    await executor.idle();
    return executor.get(runId);
  };
  const run = async (runbook: string, args: unknown = {}) => settle((await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).id);
  return {
    t,
    workDir,
    audit,
    bot,
    writer,
    engine: client,
    stack,
    ports,
    executor,
    run,
    settle,
    async verifiedBackup() {
      const backup = await run('backup');
      if (backup.state !== 'succeeded') throw new Error(`the backup ${backup.state}: ${backup.reason}`);
      const id = ((await t.store.attempts(backup.id)).find((attempt) => attempt.stepId === 'write-manifest')?.output as { id: string }).id;
      await recordVerification(join(ports.root, id), { verified_at: new Date().toISOString(), ok: true, verified_by: 'restore test' });
      return id;
    },
    async auditSql(text) {
      await stack.stop('audit-engine');
      try {
        return await onSocket(audit, text);
      } finally {
        await stack.start('audit-engine', { timeoutMs: 60_000 });
      }
    },
    besideAudit() {
      return readdirSync(join(workDir, 'pglite')).filter((entry) => entry.startsWith('audit.')).sort();
    },
    async close() {
      await executor.stop();
      await writer.stop();
      await stack.close();
      await audit.stop();
      await bot.stop();
      await t.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
