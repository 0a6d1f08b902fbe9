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
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { createAuditTestContext, type AuditTestContext } from '../../../services/audit-engine/testing/audit-test-context.js';
import type { DeploymentRecords, StepPorts } from '../../engine/ports.js';
import { runbookTestDatabase } from '../../engine/testing/database.js';
import { backupRunExecutor } from './backup-run-executor.js';
import { restoreDeployments } from './restore-deployments.js';
import { appendSeedEvents, BOT_RECORDS_SQL, restoreBackupPorts, startAuditWriter, verifiedBackup, WRITER_TICKS_TABLE_SQL, type RestoreHarnessCommon } from './restore-stack.js';
import { sqlOnce as sql } from './sql.js';

export interface RestoreHarness extends RestoreHarnessCommon {
  audit: AuditTestContext;
  bot: TestDatabase;
  /** What steps call; a test may swap `auditEngine` for a client the engine refuses. */
  commands: NonNullable<StepPorts['commands']>;
  /** The deployment records holding the stack's deploy lock, which the restore takes. */
  deployments: DeploymentRecords;
  /** One statement on a database of the test, on a connection of its own. */
  sql(url: string, text: string, values?: unknown[]): Promise<pg.QueryResult>;
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
  await appendSeedEvents(engine, options.events);
  await engine.close();
  await sql(audit.db.url, WRITER_TICKS_TABLE_SQL);
  await sql(bot.url, BOT_RECORDS_SQL);

  const { writer, stack, engine: client, engineUrl, adminToken } = await startAuditWriter({ databaseUrl: audit.db.url, stateDir });
  const ports = restoreBackupPorts({
    workDir,
    databases: [
      { name: 'audit-engine', url: audit.db.url },
      { name: 'bot', url: bot.url },
    ],
    t,
  });
  const commands: NonNullable<StepPorts['commands']> = { stack, auditEngine: client };
  const deployments = await restoreDeployments(t.pool, stack);
  const { executor, run, settle } = backupRunExecutor(t.store, { backup: ports, deployments, commands });
  return {
    t,
    audit,
    bot,
    writer,
    engine: client,
    engineUrl,
    adminToken,
    commands,
    stack,
    ports,
    deployments,
    executor,
    run,
    settle,
    sql,
    verifiedBackup: () => verifiedBackup({ run, t, root: ports.root }),
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
