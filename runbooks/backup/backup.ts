/**
 * `backup` (Level 1): a logical dump of each of the stack's databases, the policy engine's modes,
 * the config and the services' versions, written under ACGS_BACKUP_DIR in a directory of its own,
 * checked, and sealed with its manifest (written last: a directory without one never finished and
 * is never listed as complete). Then retention removes what the policy lets go.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import type { BackupDatabase, BackupPorts } from '../engine/ports.js';
import { MANIFEST_FILE, RUN_FILE, checkFiles, listBackups, readBackup, removeBackup, retentionPlan, writeManifest } from './backup-catalog.js';
import { BACKUP_ID, newBackupId, type BackupFile, type BackupManifest } from './backup-manifest.js';
import { backupPorts, errorText, formatBytes, freeBytes, writeBackupFile } from './backup-steps-support.js';
import { DUMP_KINDS, contentsOf, dumpFileOf, dumpKindOf, dumpOf, sizeOf, toolVersions, whereIs } from './database-kinds.js';

export const BackupArgs = z.object({}).strict();
type Args = z.output<typeof BackupArgs>;
type Context = StepContext<Args>;

/** Kept free beyond the estimate, so a backup never fills the disk to its last block. */
const HEADROOM_BYTES = 64 * 1024 * 1024;

interface CheckOutput {
  tools: Record<string, string>;
  /** The config files read, and the modes the policy engine reported (saved after the dumps). */
  config_files: string[];
  modes: Record<string, unknown>;
  databases: Array<{ name: string; where: string; databaseBytes: number; tableBytes: number }>;
  neededBytes: number;
  freeBytes: number;
}

/** The config files copied as they are: read now (not only after the dumps), or the check says why. */
async function readConfigFiles(ports: BackupPorts): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  for (const config of ports.configFiles) {
    try {
      contents.set(config.path, await readFile(config.path));
    } catch (error) {
      throw new Error(`the config file ${config.path} could not be read: ${errorText(error)}`);
    }
  }
  return contents;
}

async function readModes(ports: BackupPorts, signal: AbortSignal): Promise<Record<string, unknown>> {
  try {
    return await ports.modes(signal);
  } catch (error) {
    throw new Error(`the policy engine's modes could not be read: ${errorText(error)}`);
  }
}

/**
 * Tools present, the config readable, the policy engine reporting its modes, every database
 * answering, and room on the disk for the dumps: nothing written. The config and the modes are
 * saved after the dumps; asked first, their failure costs no dump.
 */
export async function checkReadiness(ports: BackupPorts, signal: AbortSignal): Promise<CheckOutput> {
  if (ports.databases.length === 0 || ports.databasesProblem) throw new Error(ports.databasesProblem ?? 'no database to back up is configured');
  const tools = await toolVersions(ports.databases);
  const configFiles = [...(await readConfigFiles(ports)).keys()];
  const modes = await readModes(ports, signal);
  const databases: CheckOutput['databases'] = [];
  for (const database of ports.databases) {
    const where = whereIs(database);
    try {
      databases.push({ name: database.name, where, ...(await sizeOf(database)) });
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
  return { tools, config_files: configFiles, modes, databases, neededBytes, freeBytes: free };
}

export function describeCheck(check: CheckOutput): string {
  const sizes = check.databases.map((database) => `${database.where}: ${formatBytes(database.databaseBytes)} on disk, ${formatBytes(database.tableBytes)} of table data`);
  const tools = [check.tools.pg_dump, check.tools['pglite-tools']].filter(Boolean).join('; ');
  const config = check.config_files.length > 0 ? `${check.config_files.join(', ')} readable` : 'no config file (ACGS_CONFIG is not set)';
  return `${tools}; ${config}; the policy engine reports its modes; ${sizes.join('; ')}; the dumps need up to ${formatBytes(check.neededBytes)}, ${formatBytes(check.freeBytes)} free`;
}

/** Written when the directory is made: which run owns it, when it started, the audit chain's head then. */
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
  kind: z.enum(['postgres-dump', 'pglite-dump']).default('postgres-dump'),
  /** What an embedded database's dump says it was made with. */
  tools: z.record(z.string(), z.string()).optional(),
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

async function dumpOne(dir: string, database: BackupDatabase, signal: AbortSignal): Promise<DumpRecord> {
  const where = whereIs(database);
  try {
    return DumpRecord.parse(JSON.parse(await readFile(join(dir, doneRecordName(database.name)), 'utf8')));
  } catch {
    // Not finished before: start this database's dump again, into a fresh file.
  }
  const file = dumpFileOf(database);
  await rm(join(dir, file), { force: true });
  let dump;
  try {
    dump = await dumpOf(database, join(dir, file), signal);
  } catch (error) {
    throw new Error(`the dump of ${where} failed: ${errorText(error)}`);
  }
  const record: DumpRecord = {
    name: database.name,
    where,
    file,
    bytes: dump.bytes,
    sha256: dump.sha256,
    row_counts: dump.rowCounts,
    duration_ms: dump.durationMs,
    kind: dumpKindOf(database),
    ...(dump.tools ? { tools: dump.tools } : {}),
  };
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
  const modes = await readModes(ports, context.signal);
  files.push({ name: 'redis-modes.json', kind: 'redis-modes', ...(await writeBackupFile(dir, 'redis-modes.json', `${JSON.stringify(modes, null, 2)}\n`)) });
  const configs = await readConfigFiles(ports);
  for (const config of ports.configFiles) files.push({ name: config.name, kind: 'config', ...(await writeBackupFile(dir, config.name, configs.get(config.path)!)) });
  const versions = await ports.serviceVersions(context.signal);
  files.push({ name: 'versions.json', kind: 'versions', ...(await writeBackupFile(dir, 'versions.json', `${JSON.stringify(versions, null, 2)}\n`)) });
  return { files, service_versions: versions };
}

function draftManifest(context: Context): { dir: string; manifest: BackupManifest } {
  const check = context.outputs['check'] as CheckOutput;
  const dump = context.outputs['dump-databases'] as DumpOutput;
  // Skipped by a person's decision: the backup then holds no state files, and says so by listing none.
  const state = (context.outputs['save-state'] as { files: StateFile[]; service_versions: Record<string, string> } | undefined) ?? { files: [], service_versions: {} };
  const dumps: BackupFile[] = dump.dumps.map((record) => ({ name: record.file, kind: record.kind, bytes: record.bytes, sha256: record.sha256, database: record.where, row_counts: record.row_counts }));
  // An embedded database's dump names its pg_dump and server: `bot.sql pg_dump` and the like.
  const dumpTools = Object.fromEntries(dump.dumps.flatMap((record) => Object.entries(record.tools ?? {}).map(([tool, version]) => [`${record.file} ${tool}`, version])));
  return {
    dir: dump.dir,
    manifest: {
      format: 1,
      id: dump.id,
      started_at: dump.started_at,
      finished_at: new Date().toISOString(),
      // Who asked, from where, and the run that holds every step's record.
      requested_by: `${context.requester} (${context.origin}, runbook run ${context.runId})`,
      files: [...dumps, ...state.files],
      tools: { ...(check?.tools ?? {}), ...dumpTools },
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
  for (const file of manifest.files.filter((entry) => DUMP_KINDS.includes(entry.kind))) {
    let contents;
    try {
      contents = await contentsOf(file.kind, join(dir, file.name));
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

/** What retention would remove now: never a directory whose run has not ended. */
async function retentionNow(ports: BackupPorts): Promise<ReturnType<typeof retentionPlan>> {
  const unfinished = new Set(await ports.unfinishedRuns('backup'));
  return retentionPlan(await listBackups(ports.root), ports.retention, new Date(), unfinished);
}

async function applyRetention(context: Context): Promise<unknown> {
  const ports = backupPorts(context.ports);
  const current = (context.outputs['create-directory'] as DirectoryOutput | undefined)?.id;
  const doomed = (await retentionNow(ports)).filter((backup) => backup.id !== current);
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
  outputs['check'] = await checkReadiness(ports, context.signal);
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
  source: import.meta.url,
  name: 'backup',
  summary: "Dump the stack's databases, save the policy engine's modes, the config and the services' versions, check them, and keep them under ACGS_BACKUP_DIR",
  level: 1,
  args: BackupArgs,
  outcome: (outputs) => {
    const sealed = outputs['write-manifest'] as { id?: string; files?: number; size?: string } | undefined;
    return sealed?.id ? `backup ${sealed.id} (${sealed.files} files, ${sealed.size}); \`backup verify ${sealed.id}\` checks it restores` : undefined;
  },
  steps: [
    {
      id: 'check',
      kind: 'check',
      title: 'Check pg_dump, the config, the policy engine’s modes, the databases and the room on the backup disk',
      timeoutMs: 60_000,
      idempotent: true,
      run: async (context) => checkReadiness(backupPorts(context.ports), context.signal),
      async dryRun(context) {
        return { mode: 'read-only-check', text: describeCheck(await checkReadiness(backupPorts(context.ports), context.signal)) };
      },
    },
    {
      id: 'create-directory',
      kind: 'act',
      title: "Create the backup's directory and note the audit chain's head",
      timeoutMs: 30_000,
      idempotent: true,
      // Every later step writes into the directory it makes.
      skippable: false,
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
      // The checks and the manifest are built from what it dumped.
      skippable: false,
      run: dumpDatabases,
      async dryRun(context) {
        const databases = backupPorts(context.ports).databases;
        const how = databases.some((database) => database.kind === 'pglite')
          ? "PostgreSQL's with pg_dump's custom format, the embedded PGlite ones as plain SQL with PGlite's pg_dump; each with row counts from the same snapshot"
          : 'custom format, with row counts from the same snapshot';
        return { mode: 'description', text: `would dump ${databases.map(whereIs).join(', ') || 'no database'} (${how})` };
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
        return { mode: 'description', text: "would hash every file again and read each dump's table of contents (pg_restore --list; for a plain SQL dump, pg_dump's own comments and last line)" };
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
        const doomed = await retentionNow(ports);
        const ids = doomed.map((backup) => backup.id).join(', ') || 'none';
        return { mode: 'read-only-check', text: `keeps ${ports.retention.keepCount} complete backups and everything younger than ${ports.retention.keepDays} days; would remove today: ${ids}` };
      },
    },
  ],
});
