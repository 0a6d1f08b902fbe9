/**
 * The backup runbooks on the real PostgreSQL, driven by a real RunExecutor: a migrated run store,
 * two source databases with tables in them (the Audit Engine's and the bot's, in miniature), a
 * backup directory of the test's own, and a backup port on them that a test may change between
 * runs (a database that goes away, a full disk).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupHostPorts } from '../../../bot/runbook-runs/backup-host-ports.js';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import type { BackupPorts } from '../../engine/ports.js';
import type { RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord } from '../../engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../engine/testing/database.js';
import { VERIFICATION_FILE, type Verification } from '../backup-catalog.js';
import { backupRunExecutor } from './backup-run-executor.js';
import { sqlOnce } from './sql.js';

export interface BackupHarness {
  t: RunbookTestDatabase;
  audit: TestDatabase;
  bot: TestDatabase;
  /** A scratch directory holding the default backup root and the config file. */
  workDir: string;
  /** Mutable: tests point it at another root or other databases between runs. */
  ports: BackupPorts;
  executor: RunExecutor;
  run(runbook: string, args?: unknown): Promise<RunRecord>;
  settle(runId: string): Promise<RunRecord>;
  /** A fresh backup made by the backup runbook itself: its id and directory. */
  freshBackup(): Promise<{ id: string; dir: string }>;
  /** Every scratch database this harness's verifies made. */
  scratchDatabasesMade: ReadonlySet<string>;
  /** The scratch databases this harness's verifies made that are still there: none, ever. */
  scratchDatabasesLeft(): Promise<string[]>;
  close(): Promise<void>;
}

/** A URL on which nothing listens: PostgreSQL down, as the dump sees it. */
export const CLOSED_PORT_URL = 'postgres://postgres@127.0.0.1:1/acgs_gone';

export async function backupHarness(): Promise<BackupHarness> {
  const t = await runbookTestDatabase();
  const audit = await createTestDatabase('acgs_bk_audit');
  const bot = await createTestDatabase('acgs_bk_bot');
  // md5 text barely compresses: the dumps outgrow the full-disk test's tiny file system.
  await sqlOnce(audit.url, `
    CREATE TABLE audit_events (id bigserial PRIMARY KEY, body text NOT NULL);
    INSERT INTO audit_events (body) SELECT md5(random()::text) || md5(g::text) FROM generate_series(1, 3000) g;
    CREATE TABLE audit_checkpoints (n int);`);
  await sqlOnce(bot.url, `
    CREATE SCHEMA trail;
    CREATE TABLE trail."bot records" (sequence bigint PRIMARY KEY, hash text NOT NULL);
    INSERT INTO trail."bot records" SELECT g, md5(g::text) FROM generate_series(1, 250) g;`);
  const workDir = mkdtempSync(join(tmpdir(), 'acgs-backup-runbooks-'));
  const configPath = join(workDir, 'acgs.yaml');
  writeFileSync(configPath, 'roles:\n  oncall: [U0ONCALL]\n');
  const scratchMade = new Set<string>();
  const ports: BackupPorts = {
    root: join(workDir, 'backups'),
    databases: [
      { name: 'audit-engine', url: audit.url },
      { name: 'bot', url: bot.url },
    ],
    scratchServerUrl: TEST_POSTGRES_URL,
    scratchDatabaseMade: (name) => void scratchMade.add(name),
    configFiles: [{ name: 'acgs-config.yaml', path: configPath }],
    retention: { keepCount: 7, keepDays: 30 },
    async modes() {
      return { strict: false, lockdown: true };
    },
    async serviceVersions() {
      return { 'policy-engine': '1.4.0', 'audit-engine': '1.4.0', 'evolution-oversight': 'unreachable: connection refused', 'sandbox-controller': '1.4.0' };
    },
    async auditChainHead() {
      return { sequence: 250, hash: 'c0ffee' };
    },
    // The bot's own: its run store (the harness's) and its trail verifier.
    ...backupHostPorts(t.pool),
  };
  const { executor, run, settle } = backupRunExecutor(t.store, { backup: ports });
  return {
    t,
    audit,
    bot,
    workDir,
    ports,
    executor,
    settle,
    scratchDatabasesMade: scratchMade,
    scratchDatabasesLeft: () => existingDatabases(scratchMade),
    run,
    async freshBackup() {
      const backup = await run('backup');
      if (backup.state !== 'succeeded') throw new Error(`the backup ${backup.state}: ${backup.reason}`);
      const id = ((await t.store.attempts(backup.id)).find((a) => a.stepId === 'create-directory')!.output as { id: string }).id;
      return { id, dir: join(ports.root, id) };
    },
    async close() {
      await executor.stop();
      await audit.drop();
      await bot.drop();
      await t.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** What `backup verify` recorded in a backup's directory. */
export function verificationOf(dir: string): Verification {
  return JSON.parse(readFileSync(join(dir, VERIFICATION_FILE), 'utf8')) as Verification;
}

/**
 * Which of the scratch databases `names` still exist: a verify must leave none of its own. Only its
 * own: other files verify backups on the same server at the same time.
 */
export async function existingDatabases(names: Iterable<string>): Promise<string[]> {
  const { rows } = await sqlOnce(TEST_POSTGRES_URL, 'SELECT datname FROM pg_database WHERE datname = ANY($1::text[])', [[...names]]);
  return rows.map((row: { datname: string }) => row.datname);
}
