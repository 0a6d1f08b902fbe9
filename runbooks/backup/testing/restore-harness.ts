/**
 * The restore runbook on the real PostgreSQL with the real local Stack driver: an Audit Engine
 * database made by the engine itself (its migrations, events appended through its API, so its hash
 * chain is real), the bot's database beside it, and the real Audit Engine in a writer process
 * (testing/writer-process.ts) supervised as the service `audit-engine`, inserting rows into the
 * audit database until the restore stops it, keeping its newest checkpoint outside the database
 * (ACGS_STATE_DIR) and walking its chain every half second. Steps reach it through the typed
 * client with the admin token. A real RunExecutor runs backup, backup-verify and restore on them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { unusedLoopbackPort } from '../../../test/testing/loopback.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN, testToken } from '../../../test/testing/tokens.js';
import { type AuditEngineClient, createAuditEngineClient } from '../../../services/clients/audit-engine.js';
import { createAuditTestContext, type AuditTestContext } from '../../../services/audit-engine/testing/audit-test-context.js';
import { createLocalStack } from '../../../services/stack/local/local-stack.js';
import { superviseProcess, type SupervisedProcess } from '../../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../../services/stack/stack.js';
import type { BackupPorts, StepPorts } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord } from '../../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../engine/testing/database.js';
import { recordVerification } from '../backup-catalog.js';
import { backupRunbooks } from '../index.js';
import { sqlOnce as sql } from './sql.js';

const WRITER = fileURLToPath(new URL('./writer-process.ts', import.meta.url));

export interface RestoreHarness {
  t: RunbookTestDatabase;
  audit: AuditTestContext;
  bot: TestDatabase;
  writer: SupervisedProcess;
  /** The Audit Engine the writer process runs, with the service and admin tokens. */
  engine: AuditEngineClient;
  /** Its URL and the admin token it requires. */
  engineUrl: string;
  adminToken: string;
  /** What steps call; a test may swap `auditEngine` for a client the engine refuses. */
  commands: NonNullable<StepPorts['commands']>;
  stack: Stack;
  ports: BackupPorts;
  executor: RunExecutor;
  run(runbook: string, args?: unknown): Promise<RunRecord>;
  settle(runId: string): Promise<RunRecord>;
  /** A backup of the stack as it is now, recorded as verified; its id. */
  verifiedBackup(): Promise<string>;
  /** One statement on a database of the test, on a connection of its own. */
  sql(url: string, text: string, values?: unknown[]): Promise<pg.QueryResult>;
  close(): Promise<void>;
}

/** `events`: how many the engine chains before the writer starts (12; 0 is a fresh stack's empty chain). */
export async function restoreHarness(options: { events?: number } = {}): Promise<RestoreHarness> {
  const t = await runbookTestDatabase();
  const audit = await createAuditTestContext();
  const bot = await createTestDatabase('acgs_rs_bot');
  const workDir = mkdtempSync(join(tmpdir(), 'acgs-restore-'));
  // The engine's key and the copy of its newest checkpoint, shared by this one and the writer's.
  const stateDir = join(workDir, 'audit-engine');
  // The engine migrates its database and chains what it is sent, as in production.
  const engine = await audit.start({
    checkpointKey: { value: undefined, file: join(stateDir, 'audit-checkpoint-signing.key') },
    checkpointFile: join(stateDir, 'audit-checkpoint.json'),
  });
  for (let index = 0; index < (options.events ?? 12); index += 1) {
    const response = await engine.inject({ method: 'POST', url: '/audit/events', payload: { event_type: 'restore.test', data: { index } }, headers: SERVICE_AUTH });
    if (response.statusCode !== 201) throw new Error(`the Audit Engine refused an event: ${response.statusCode} ${response.body}`);
  }
  await engine.close();
  await sql(audit.db.url, 'CREATE TABLE writer_ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pid integer NOT NULL)');
  await sql(bot.url, `CREATE TABLE bot_records (sequence bigint PRIMARY KEY, hash text NOT NULL);
    INSERT INTO bot_records SELECT g, md5(g::text) FROM generate_series(1, 40) g;`);

  const port = await unusedLoopbackPort();
  const adminToken = testToken();
  const writer = superviseProcess({
    name: 'audit-engine',
    command: process.execPath,
    args: ['--import', 'tsx', WRITER, audit.db.url, String(port), 'audit-engine'],
    env: { ACGS_STATE_DIR: stateDir, ACGS_ADMIN_TOKEN: adminToken, ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN, AUDIT_VERIFY_INTERVAL_MS: '500' },
    healthUrl: `http://127.0.0.1:${port}/health`,
    echo: false,
  });
  const stack = createLocalStack({ processes: [writer], startGraceMs: 60_000 });
  if (!(await writer.waitUntilHealthy(30_000))) throw new Error('the writer process never answered /health');
  const client = createAuditEngineClient(`http://127.0.0.1:${port}`, { adminToken, serviceToken: TEST_SERVICE_TOKEN });

  const ports: BackupPorts = {
    root: join(workDir, 'backups'),
    databases: [
      { name: 'audit-engine', url: audit.db.url },
      { name: 'bot', url: bot.url },
    ],
    configFiles: [],
    retention: { keepCount: 50, keepDays: 30 },
    modes: async () => ({ strict: false, lockdown: false }),
    serviceVersions: async () => ({ 'audit-engine': 'test' }),
    auditChainHead: async () => null,
    // The bot's own: its run store (the harness's) and its trail verifier.
    ...backupHostPorts(t.pool),
  };
  const commands: NonNullable<StepPorts['commands']> = { stack, auditEngine: client };
  const stepPorts: StepPorts = { backup: ports, commands };
  const executor = createRunExecutor({ store: t.store, registry: createRunbookRegistry([...backupRunbooks]), ports: stepPorts, leaseMs: 10_000, renewEveryMs: 1000 });
  const settle = async (runId: string) => {
    await executor.scanNow();
    await executor.idle();
    return executor.get(runId);
  };
  const run = async (runbook: string, args: unknown = {}) => settle((await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).id);
  return {
    t,
    audit,
    bot,
    writer,
    engine: client,
    engineUrl: `http://127.0.0.1:${port}`,
    adminToken,
    commands,
    stack,
    ports,
    executor,
    run,
    settle,
    sql,
    async verifiedBackup() {
      const backup = await run('backup');
      if (backup.state !== 'succeeded') throw new Error(`the backup ${backup.state}: ${backup.reason}`);
      const id = ((await t.store.attempts(backup.id)).find((attempt) => attempt.stepId === 'write-manifest')?.output as { id: string }).id;
      // Recorded as backup verify records it, without its scratch restores: backup-verify.test.ts
      // asserts that no verify scratch database is left while it runs, and files run side by side.
      await recordVerification(join(ports.root, id), { verified_at: new Date().toISOString(), ok: true, verified_by: 'restore test' });
      return id;
    },
    async close() {
      await executor.stop();
      await writer.stop();
      await stack.close();
      await bot.drop();
      await audit.close();
      await t.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
