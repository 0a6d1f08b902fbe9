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
import pg from 'pg';
import { buildApp } from '../../../services/audit-engine/app.js';
import { loadConfig } from '../../../services/audit-engine/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../services/stack/local/embedded-postgres.js';
import { TEST_SERVICE_TOKEN } from '../../../test/testing/tokens.js';
import { runbookTestDatabase } from '../../engine/testing/database.js';
import { backupDatabasesFromEnv } from '../backup-ports.js';
import { backupRunExecutor } from './backup-run-executor.js';
import { restoreDeployments } from './restore-deployments.js';
import { appendSeedEvents, BOT_RECORDS_SQL, restoreBackupPorts, startAuditWriter, verifiedBackup, WRITER_TICKS_TABLE_SQL, type RestoreHarnessCommon } from './restore-stack.js';

export interface EmbeddedRestoreHarness extends RestoreHarnessCommon {
  workDir: string;
  audit: EmbeddedPostgres;
  bot: EmbeddedPostgres;
  /** SQL on the audit database's socket, with the writer stopped meanwhile (the socket serves one client). */
  auditSql(text: string): Promise<pg.QueryResult>;
  /** What lies beside the audit database's data directory (restored copies, kept previous ones). */
  besideAudit(): string[];
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
  // The engine migrates its database and chains what it is sent, as npm start's does; the writer
  // gets the same state directory: its key and the copy of its newest checkpoint.
  const stateDir = join(workDir, 'audit-engine');
  const engine = buildApp({ ...loadConfig({ DATABASE_URL: audit.url, DATABASE_POOL_MAX: '1', ACGS_STATE_DIR: stateDir, AUDIT_VERIFY_INTERVAL_MS: '0' }), serviceToken: TEST_SERVICE_TOKEN });
  await engine.ready();
  await appendSeedEvents(engine);
  await engine.close();
  await onSocket(audit, WRITER_TICKS_TABLE_SQL);
  await onSocket(bot, BOT_RECORDS_SQL);

  const { writer, stack, engine: client, engineUrl, adminToken } = await startAuditWriter({ databaseUrl: audit.url, stateDir });
  // As npm start names its embedded databases for the backup.
  const ports = restoreBackupPorts({ workDir, databases: backupDatabasesFromEnv({}, { 'audit-engine': audit, bot }).databases, t });
  const { executor, run, settle } = backupRunExecutor(t.store, { backup: ports, deployments: await restoreDeployments(t.pool, stack), commands: { stack, auditEngine: client } });
  return {
    t,
    workDir,
    audit,
    bot,
    writer,
    engine: client,
    engineUrl,
    adminToken,
    stack,
    ports,
    executor,
    run,
    settle,
    verifiedBackup: () => verifiedBackup({ run, t, root: ports.root }),
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
