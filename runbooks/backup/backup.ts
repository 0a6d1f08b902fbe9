/**
 * `backup` (Level 1): a logical dump of each of the stack's databases, the policy engine's modes,
 * the config and the services' versions, written under ACGS_BACKUP_DIR in a directory of its own,
 * checked, and sealed with its manifest (written last: a directory without one never finished and
 * is never listed as complete). Then retention removes what the policy lets go.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { pgToolVersion } from '../../services/stack/backup/pg-tools.js';
import { databaseSize, dumpWithRowCounts } from '../../services/stack/backup/consistent-dump.js';
import { listDump } from '../../services/stack/backup/postgres-dump.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import type { BackupPorts } from '../engine/ports.js';
import { MANIFEST_FILE, checkFiles, listBackups, readBackup, removeBackup, retentionPlan, writeManifest } from './backup-catalog.js';
import { BACKUP_ID, newBackupId, type BackupFile, type BackupManifest } from './backup-manifest.js';
import { backupPorts, describeDatabase, errorText, formatBytes, freeBytes, writeBackupFile } from './backup-steps-support.js';

export const BackupArgs = z.object({}).strict();
type Args = z.output<typeof BackupArgs>;
type Context = StepContext<Args>;

/** Kept free beyond the estimate, so a backup never fills the disk to its last block. */
const HEADROOM_BYTES = 64 * 1024 * 1024;

interface CheckOutput {
  tools: Record<string, string>;
  databases: Array<{ name: string; where: string; databaseBytes: number; tableBytes: number }>;
  neededBytes: number;
  freeBytes: number;
}

/** Tools present, every database answers, and the disk has room for the dumps: nothing written. */
export async function checkReadiness(ports: BackupPorts): Promise<CheckOutput> {
  if (ports.databases.length === 0) throw new Error(ports.databasesProblem ?? 'no database to back up is configured');
  const tools = { pg_dump: await pgToolVersion('pg_dump'), pg_restore: await pgToolVersion('pg_restore') };
  const databases: CheckOutput['databases'] = [];
  for (const database of ports.databases) {
    const where = describeDatabase(database.name, database.url);
    try {
      databases.push({ name: database.name, where, ...(await databaseSize(database.url)) });
    } catch (error) {
      throw new Error(`database ${where} does not answer: ${errorText(error)}`);
    }
  }
  // pg_database_size counts catalogs and indexes (7 MB for an empty database) that a dump never
  // holds; the tables' data is what a dump holds at most before compression.
  const neededBytes = databases.reduce((sum, database) => sum + database.tableBytes, 0);
  const free = await freeBytes(ports.root);
  if (free < neededBytes + HEADROOM_BYTES) {
    throw new Error(
      `the backup disk has ${formatBytes(free)} free under ${ports.root}; the dumps need up to ${formatBytes(neededBytes)} ` +
        `plus ${formatBytes(HEADROOM_BYTES)} kept free: free space there or set ACGS_BACKUP_DIR to a larger disk`,
    );
  }
  return { tools, databases, neededBytes, freeBytes: free };
}

export function describeCheck(check: CheckOutput): string {
  const sizes = check.databases.map((database) => `${database.where}: ${formatBytes(database.databaseBytes)} on disk, ${formatBytes(database.tableBytes)} of table data`);
  return `${check.tools.pg_dump}; ${sizes.join('; ')}; the dumps need up to ${formatBytes(check.neededBytes)}, ${formatBytes(check.freeBytes)} free`;
}

/** Written when the directory is made: which run owns it, when it started, the audit chain's head then. */
const RUN_FILE = '.run.json';
const RunFile = z.object({
  run_id: z.string(),
  started_at: z.string(),
  audit_chain_head: z.object({ sequence: z.number().int().nonnegative(), hash: z.string() }).nullable(),
});
type RunFile = z.infer<typeof RunFile>;

async function readRunFile(dir: string): Promise<RunFile | undefined> {
  try {
    return RunFile.parse(JSON.parse(await readFile(join(dir, RUN_FILE), 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The run's backup directory: the one an interrupted attempt of this run made (its id ends with
 * the run id's first hex digits, and its run file names the run), else a new one.
 */
async function backupDirectoryOf(context: Context, ports: BackupPorts): Promise<{ id: string; dir: string; run: RunFile }> {
  const suffix = context.runId.replace(/-/g, '').slice(0, 6);
  await mkdir(ports.root, { recursive: true, mode: 0o700 });
  for (const name of await readdir(ports.root)) {
    if (!BACKUP_ID.test(name) || !name.endsWith(`-${suffix}`)) continue;
    const run = await readRunFile(join(ports.root, name));
    if (run?.run_id === context.runId) return { id: name, dir: join(ports.root, name), run };
  }
  const now = new Date();
  const id = newBackupId(now, () => suffix);
  const dir = join(ports.root, id);
  // Asked before anything is made: a trail that does not answer leaves no directory behind.
  const run: RunFile = { run_id: context.runId, started_at: now.toISOString(), audit_chain_head: await ports.auditChainHead() };
  // A directory of this id is this run's (the id carries the run's digits), left by a crash before its run file.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeBackupFile(dir, RUN_FILE, `${JSON.stringify(run)}\n`);
  return { id, dir, run };
}

const DumpRecord = z.object({
  name: z.string(),
  where: z.string(),
  file: z.string(),
  bytes: z.number(),
  sha256: z.string(),
  row_counts: z.record(z.string(), z.number()),
  duration_ms: z.number(),
});
type DumpRecord = z.infer<typeof DumpRecord>;

interface DirectoryOutput {
  id: string;
  dir: string;
  started_at: string;
  audit_chain_head: RunFile['audit_chain_head'];
}

interface DumpOutput extends DirectoryOutput {
  dumps: DumpRecord[];
}

async function createDirectory(context: Context): Promise<DirectoryOutput> {
  const { id, dir, run } = await backupDirectoryOf(context, backupPorts(context.ports));
  return { id, dir, started_at: run.started_at, audit_chain_head: run.audit_chain_head };
}

/** Beside each finished dump: what it holds. A dump without one was cut short and is made again. */
const doneRecordName = (database: string) => `.${database}.dump.json`;

async function dumpOne(dir: string, database: { name: string; url: string }, signal: AbortSignal): Promise<DumpRecord> {
  const where = describeDatabase(database.name, database.url);
  try {
    return DumpRecord.parse(JSON.parse(await readFile(join(dir, doneRecordName(database.name)), 'utf8')));
  } catch {
    // Not finished before: start this database's dump again, into a fresh file.
  }
  const file = `${database.name}.dump`;
  await rm(join(dir, file), { force: true });
  let dump;
  try {
    dump = await dumpWithRowCounts({ databaseUrl: database.url, file: join(dir, file), signal });
  } catch (error) {
    throw new Error(`the dump of ${where} failed: ${errorText(error)}`);
  }
  const record: DumpRecord = { name: database.name, where, file, bytes: dump.bytes, sha256: dump.sha256, row_counts: dump.rowCounts, duration_ms: dump.durationMs };
  await writeBackupFile(dir, doneRecordName(database.name), `${JSON.stringify(record)}\n`);
  return record;
}

async function dumpDatabases(context: Context): Promise<DumpOutput> {
  const ports = backupPorts(context.ports);
  const directory = context.outputs['create-directory'] as DirectoryOutput;
  const dumps: DumpRecord[] = [];
  for (const database of ports.databases) dumps.push(await dumpOne(directory.dir, database, context.signal));
  return { ...directory, dumps };
}

/** A backup aborted before its manifest is taken away whole; a sealed one is never undone here. */
async function removeUnsealed(context: Context): Promise<unknown> {
  const dump = context.outputs['create-directory'] as DirectoryOutput | undefined;
  if (!dump) return { removed: null };
  try {
    await stat(join(dump.dir, MANIFEST_FILE));
    return { removed: null, kept: `${dump.id} is complete (it has its manifest)` };
  } catch {
    await rm(dump.dir, { recursive: true, force: true });
    return { removed: dump.id };
  }
}

type StateFile = Omit<BackupFile, 'database' | 'row_counts'>;

async function saveState(context: Context): Promise<{ files: StateFile[]; service_versions: Record<string, string> }> {
  const ports = backupPorts(context.ports);
  const { dir } = context.outputs['create-directory'] as DirectoryOutput;
  const files: StateFile[] = [];
  let modes: Record<string, unknown>;
  try {
    modes = await ports.modes(context.signal);
  } catch (error) {
    throw new Error(`the policy engine's modes could not be read: ${errorText(error)}`);
  }
  files.push({ name: 'redis-modes.json', kind: 'redis-modes', ...(await writeBackupFile(dir, 'redis-modes.json', `${JSON.stringify(modes, null, 2)}\n`)) });
  for (const config of ports.configFiles) {
    let content: Buffer;
    try {
      content = await readFile(config.path);
    } catch (error) {
      throw new Error(`the config file ${config.path} could not be read: ${errorText(error)}`);
    }
    files.push({ name: config.name, kind: 'config', ...(await writeBackupFile(dir, config.name, content)) });
  }
  const versions = await ports.serviceVersions(context.signal);
  files.push({ name: 'versions.json', kind: 'versions', ...(await writeBackupFile(dir, 'versions.json', `${JSON.stringify(versions, null, 2)}\n`)) });
  return { files, service_versions: versions };
}

function draftManifest(context: Context): { dir: string; manifest: BackupManifest } {
  const check = context.outputs['check'] as CheckOutput;
  const dump = context.outputs['dump-databases'] as DumpOutput;
  // Skipped by a person's decision: the backup then holds no state files, and says so by listing none.
  const state = (context.outputs['save-state'] as { files: StateFile[]; service_versions: Record<string, string> } | undefined) ?? { files: [], service_versions: {} };
  const dumps: BackupFile[] = dump.dumps.map((record) => ({ name: record.file, kind: 'postgres-dump', bytes: record.bytes, sha256: record.sha256, database: record.where, row_counts: record.row_counts }));
  return {
    dir: dump.dir,
    manifest: {
      format: 1,
      id: dump.id,
      started_at: dump.started_at,
      finished_at: new Date().toISOString(),
      // StepContext does not carry the requester: the run (and the trail) name who asked for it.
      requested_by: `runbook run ${context.runId}`,
      files: [...dumps, ...state.files],
      tools: check?.tools ?? {},
      audit_chain_head: dump.audit_chain_head,
      service_versions: state.service_versions,
    },
  };
}

async function verifyFiles(context: Context): Promise<unknown> {
  const { dir, manifest } = draftManifest(context);
  const problems = await checkFiles(dir, manifest);
  if (problems.length > 0) throw new Error(`the files changed since they were written: ${problems.map((problem) => problem.detail).join('; ')}`);
  const tables: Record<string, number> = {};
  for (const file of manifest.files.filter((entry) => entry.kind === 'postgres-dump')) {
    let contents;
    try {
      contents = await listDump(join(dir, file.name));
    } catch (error) {
      throw new Error(`${file.name} cannot be read back: ${errorText(error)}`);
    }
    const missing = Object.keys(file.row_counts ?? {}).filter((table) => !contents.tablesWithData.includes(table));
    if (missing.length > 0) throw new Error(`${file.name} lacks the data of ${missing.join(', ')}`);
    tables[file.name] = contents.tablesWithData.length;
  }
  return { files: manifest.files.length, tables_per_dump: tables };
}

async function sealBackup(context: Context): Promise<unknown> {
  const { dir, manifest } = draftManifest(context);
  await writeManifest(dir, manifest);
  const bytes = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
  const seconds = Math.round((Date.parse(manifest.finished_at) - Date.parse(manifest.started_at)) / 1000);
  return { id: manifest.id, files: manifest.files.length, bytes, size: formatBytes(bytes), duration_seconds: seconds };
}

async function applyRetention(context: Context): Promise<unknown> {
  const ports = backupPorts(context.ports);
  const current = (context.outputs['create-directory'] as DirectoryOutput | undefined)?.id;
  const doomed = retentionPlan(await listBackups(ports.root), ports.retention).filter((backup) => backup.id !== current);
  for (const backup of doomed) await removeBackup(ports.root, backup.id);
  return { removed: doomed.map((backup) => backup.id), policy: ports.retention };
}

/** What `takeBackup` made: the sealed backup's id and size. */
export interface TakenBackup {
  id: string;
  files: number;
  bytes: number;
}

/**
 * A whole backup taken inside another runbook's step (restore's safety point), by the same
 * functions as the `backup` runbook's steps, in their order: its directory belongs to the calling
 * run, so a run taken over after a crash finds it, keeps its finished dumps, or returns it as it
 * is when it was sealed already. No retention: the backup being restored must not go meanwhile.
 */
export async function takeBackup(context: StepContext<unknown>): Promise<TakenBackup> {
  const outputs: Record<string, unknown> = {};
  const step: Context = { ...context, args: {}, outputs };
  const ports = backupPorts(context.ports);
  outputs['check'] = await checkReadiness(ports);
  const directory = await createDirectory(step);
  outputs['create-directory'] = directory;
  const sealed = await readBackup(ports.root, directory.id).catch(() => undefined);
  if (sealed) return { id: directory.id, files: sealed.manifest.files.length, bytes: sealed.manifest.files.reduce((sum, file) => sum + file.bytes, 0) };
  outputs['dump-databases'] = await dumpDatabases(step);
  outputs['save-state'] = await saveState(step);
  await verifyFiles(step);
  const done = (await sealBackup(step)) as { files: number; bytes: number };
  return { id: directory.id, files: done.files, bytes: done.bytes };
}

export const backupRunbook = defineRunbook({
  name: 'backup',
  summary: "Dump the stack's databases, save the policy engine's modes, the config and the services' versions, check them, and keep them under ACGS_BACKUP_DIR",
  level: 1,
  args: BackupArgs,
  steps: [
    {
      id: 'check',
      kind: 'check',
      title: 'Check pg_dump, the databases and the room on the backup disk',
      timeoutMs: 60_000,
      idempotent: true,
      run: async (context) => checkReadiness(backupPorts(context.ports)),
      async dryRun(context) {
        return { mode: 'read-only-check', text: describeCheck(await checkReadiness(backupPorts(context.ports))) };
      },
    },
    {
      id: 'create-directory',
      kind: 'act',
      title: "Create the backup's directory and note the audit chain's head",
      timeoutMs: 30_000,
      idempotent: true,
      run: createDirectory,
      compensate: removeUnsealed,
      async dryRun(context) {
        return { mode: 'description', text: `would create a new directory under ${backupPorts(context.ports).root} and note the audit chain's head` };
      },
    },
    {
      id: 'dump-databases',
      kind: 'act',
      title: 'Dump each database with pg_dump',
      timeoutMs: 6 * 60 * 60_000,
      idempotent: true,
      run: dumpDatabases,
      async dryRun(context) {
        const names = backupPorts(context.ports).databases.map((database) => describeDatabase(database.name, database.url));
        return { mode: 'description', text: `would dump ${names.join(', ') || 'no database'} (custom format, with row counts from the same snapshot)` };
      },
    },
    {
      id: 'save-state',
      kind: 'act',
      title: "Save the policy engine's modes, the config and the services' versions",
      timeoutMs: 60_000,
      idempotent: true,
      run: saveState,
      async dryRun(context) {
        const ports = backupPorts(context.ports);
        const config = ports.configFiles.map((file) => file.path).join(', ') || 'no config file (ACGS_CONFIG is not set)';
        return { mode: 'description', text: `would save the modes from the policy engine, ${config}, and each service's version from its /health` };
      },
    },
    {
      id: 'verify-files',
      kind: 'verify',
      title: "Read every file back: checksums, and each dump's table of contents",
      timeoutMs: 60 * 60_000,
      idempotent: true,
      run: verifyFiles,
      async dryRun() {
        return { mode: 'description', text: 'would hash every file again and list each dump with pg_restore --list' };
      },
    },
    {
      id: 'write-manifest',
      kind: 'act',
      title: 'Write the manifest, which makes the backup complete',
      timeoutMs: 30_000,
      idempotent: true,
      run: sealBackup,
      async dryRun() {
        return { mode: 'description', text: 'would write manifest.json (sizes, SHA-256, tool versions, the audit chain head) last' };
      },
    },
    {
      id: 'retention',
      kind: 'act',
      title: 'Remove the backups the retention policy lets go',
      timeoutMs: 10 * 60_000,
      idempotent: true,
      run: applyRetention,
      async dryRun(context) {
        const ports = backupPorts(context.ports);
        const doomed = retentionPlan(await listBackups(ports.root), ports.retention);
        const ids = doomed.map((backup) => backup.id).join(', ') || 'none';
        return { mode: 'read-only-check', text: `keeps ${ports.retention.keepCount} complete backups and everything younger than ${ports.retention.keepDays} days; would remove today: ${ids}` };
      },
    },
  ],
});
