/**
 * `backup verify <id>` (Level 1): is this backup usable? Its files against the manifest's sizes
 * and checksums, then a real restore of each dump into a scratch database (stop at the first error,
 * one transaction; an embedded database's into an in-memory PGlite): its table of contents must
 * hold every table the manifest counted, the restored row counts must equal the manifest's, and the
 * audit chains in it must verify (the same walk for both kinds), the bot's trail still reaching the
 * head the backup recorded. The outcome, good or bad, is recorded beside the
 * backup (verification.json); scratch databases are dropped whatever happens.
 *
 * A dump is read as few times as possible and its waits overlap (bench/README.md): its table of
 * contents is listed while the scratch database is made, and it is hashed while pg_restore reads
 * it. Restoring a dump before its checksum is known risks nothing the checksum would prevent
 * (whoever can change the dump can change the manifest beside it), and a checksum that differs is
 * still the finding reported first.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { createPool } from '../../services/kit/postgres.js';
import { SqlDumpRefused, withSqlDumpCopy } from '../../services/stack/backup/pglite-dump.js';
import { PgToolError, listDump, restoreDump, type DumpContents } from '../../services/stack/backup/postgres-dump.js';
import { tableRowCounts, withScratchDatabase } from '../../services/stack/backup/scratch-database.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import type { BackupPorts } from '../engine/ports.js';
import { checkFile, readBackup, recordVerification } from './backup-catalog.js';
import { BackupIdSchema, type BackupFile, type BackupManifest } from './backup-manifest.js';
import { backupPorts, completeBackupRefusal, describeDatabase, errorText, sweepLeftoverScratch } from './backup-steps-support.js';
import { DUMP_KINDS, contentsOf } from './database-kinds.js';
import { verifyRestoredChains, type RestoredChains } from './restored-chains.js';

export const BackupVerifyArgs = z.object({ id: BackupIdSchema }).strict();
type Args = z.output<typeof BackupVerifyArgs>;
type Context = StepContext<Args>;

async function backupOf(context: Context): Promise<{ dir: string; manifest: BackupManifest }> {
  return readBackup(backupPorts(context.ports).root, context.args.id);
}

export function dumpsOf(manifest: BackupManifest): BackupFile[] {
  return manifest.files.filter((file) => DUMP_KINDS.includes(file.kind));
}

/** Records the failed verification beside the backup, then fails the step with the same words. */
async function failVerification(context: Context, dir: string, problem: string): Promise<never> {
  await recordVerification(dir, { verified_at: new Date().toISOString(), ok: false, problem, verified_by: `runbook run ${context.runId}` });
  throw new Error(problem);
}

function countDifferences(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return tables.filter((table) => expected[table] !== actual[table]).map((table) => `${table}: ${actual[table] ?? 'missing'} rows restored, the manifest says ${expected[table] ?? 'none'}`);
}

/** The tables the manifest counted whose data the dump's table of contents lacks, as the finding. */
function lackedTables(file: BackupFile, contents: DumpContents): string | undefined {
  const missing = Object.keys(file.row_counts ?? {}).filter((table) => !contents.tablesWithData.includes(table));
  return missing.length > 0 ? `${file.name} lacks the data of ${missing.join(', ')}` : undefined;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

export interface DumpOutcome {
  counts: Record<string, number>;
  chains: RestoredChains['chains'];
  /** What makes the backup bad, in a sentence; absent when the dump passed every check. */
  problem?: string;
}

/**
 * One dump, checked in the order that best explains a failure: its checksum, its table of
 * contents, the restore, the row counts, the audit chains. Throws (recording nothing) when the
 * failure says nothing about the backup: no scratch database, a stopped step, a count or a chain
 * that could not be read.
 */
export async function verifyDump(context: Pick<Context, 'signal'>, ports: BackupPorts, server: string, dir: string, file: BackupFile, recordedHead: BackupManifest['audit_chain_head']): Promise<DumpOutcome> {
  const path = join(dir, file.name);
  // Only the table of contents, at the head of the file: listed while the scratch database is made.
  const listing = settle(listDump(path));
  let created = false;
  try {
    return await withScratchDatabase(server, `verify ${file.name}`, async (scratchUrl): Promise<DumpOutcome> => {
      created = true;
      ports.scratchDatabaseMade?.(decodeURIComponent(new URL(scratchUrl).pathname.slice(1)));
      // A checksum that differs is the finding: the restore, still running behind the hash, is stopped.
      const differs = new AbortController();
      const checking = settle(checkFile(dir, file));
      void checking.then((checked) => (!checked.ok || checked.value ? differs.abort() : undefined));
      const restoring = settle(restoreDump({ file: path, databaseUrl: scratchUrl, signal: AbortSignal.any([context.signal, differs.signal]) }));
      const [checksum, restore] = await Promise.all([checking, restoring]);
      const none = { counts: {}, chains: {} };
      if (!checksum.ok) throw checksum.error;
      if (checksum.value) return { ...none, problem: checksum.value.detail };
      const contents: Settled<DumpContents> = await listing;
      if (!contents.ok) return { ...none, problem: `${file.name}: ${errorText(contents.error)}` };
      const missing = lackedTables(file, contents.value);
      if (missing) return { ...none, problem: missing };
      if (!restore.ok) {
        // Only pg_restore refusing the dump makes the backup bad; a stopped step (abort, lost
        // lease, timeout) fails the step and leaves the backup's verification as it was.
        if (restore.error instanceof PgToolError && restore.error.exitCode !== null && !context.signal.aborted) return { ...none, problem: `${file.name} did not restore: ${errorText(restore.error)}` };
        throw restore.error;
      }
      const counts = await tableRowCounts(scratchUrl);
      const differences = countDifferences(file.row_counts ?? {}, counts);
      if (differences.length > 0) return { counts, chains: {}, problem: `${file.name} restored with other row counts: ${differences.join('; ')}` };
      const copy = createPool({ databaseUrl: scratchUrl, max: 1, applicationName: 'acgs-backup-verify' });
      try {
        const chains = await verifyRestoredChains({ dumpName: file.name, copy, tables: Object.keys(counts), ports, recordedHead });
        return { counts, ...chains };
      } finally {
        await copy.end().catch(() => undefined);
      }
    });
  } catch (error) {
    // No scratch database (the server is down, the role may not create one) says nothing
    // about the backup: the step fails without recording the backup as bad.
    if (!created) throw new Error(`no scratch database could be created on ${describeDatabase('the scratch server', server)}: ${errorText(error)}`);
    throw error;
  } finally {
    await listing;
  }
}

/**
 * An embedded database's plain SQL dump (hashed in `checksums`: pg_restore never reads it): its
 * table of contents, then a restore into a fresh in-memory PGlite in its own thread (always ended)
 * that stops at the first error, the row counts, and the audit chains walked in that copy by the
 * same code as in a PostgreSQL one. Throws (recording nothing) when the failure says nothing about
 * the backup: the thread could not start, a stopped step, a chain that could not be read.
 */
export async function verifyEmbeddedDump(context: Pick<Context, 'signal'>, ports: BackupPorts, dir: string, file: BackupFile, recordedHead: BackupManifest['audit_chain_head']): Promise<DumpOutcome> {
  const none = { counts: {}, chains: {} };
  let contents: DumpContents;
  try {
    contents = await contentsOf(file.kind, join(dir, file.name));
  } catch (error) {
    return { ...none, problem: `${file.name}: ${errorText(error)}` };
  }
  const missing = lackedTables(file, contents);
  if (missing) return { ...none, problem: missing };
  try {
    return await withSqlDumpCopy({ file: join(dir, file.name), signal: context.signal }, async (copy): Promise<DumpOutcome> => {
      const counts = copy.rowCounts;
      const differences = countDifferences(file.row_counts ?? {}, counts);
      if (differences.length > 0) return { counts, chains: {}, problem: `${file.name} restored with other row counts: ${differences.join('; ')}` };
      const chains = await verifyRestoredChains({ dumpName: file.name, copy, tables: Object.keys(counts), ports, recordedHead });
      return { counts, ...chains };
    });
  } catch (error) {
    if (error instanceof SqlDumpRefused && !context.signal.aborted) return { ...none, problem: `${file.name} did not restore: ${errorText(error)}` };
    throw error;
  }
}

export const backupVerifyRunbook = defineRunbook({
  source: import.meta.url,
  name: 'backup-verify',
  summary: 'Check a backup: checksums, the dumps’ tables of contents, and a real restore of each dump into a scratch database with its row counts and audit chains',
  level: 1,
  args: BackupVerifyArgs,
  // A failed verification is a finding, recorded with the backup; running it again is a new run.
  onStepFailure: 'fail',
  validate: (args, ports) => completeBackupRefusal(ports, args.id, 'verified'),
  steps: [
    {
      id: 'read-manifest',
      kind: 'check',
      title: 'Find the backup and read its manifest',
      timeoutMs: 30_000,
      idempotent: true,
      async run(context) {
        await sweepLeftoverScratch(context.ports);
        const { manifest } = await backupOf(context);
        return { id: manifest.id, started_at: manifest.started_at, files: manifest.files.length, dumps: dumpsOf(manifest).map((file) => file.name) };
      },
      async dryRun(context) {
        const { manifest } = await backupOf(context);
        return { mode: 'read-only-check', text: `backup ${manifest.id} of ${manifest.started_at}: ${manifest.files.length} files, dumps ${dumpsOf(manifest).map((file) => file.name).join(', ') || 'none'}` };
      },
    },
    {
      id: 'checksums',
      kind: 'verify',
      title: "Check every file's size, and the checksums of all but the dumps (hashed while they restore)",
      timeoutMs: 60 * 60_000,
      idempotent: true,
      async run(context) {
        const { dir, manifest } = await backupOf(context);
        const problems = [];
        for (const file of manifest.files) {
          const problem = await checkFile(dir, file, { hash: file.kind !== 'postgres-dump' });
          if (problem) problems.push(problem);
        }
        if (problems.length > 0) await failVerification(context, dir, problems.map((problem) => problem.detail).join('; '));
        return { files: manifest.files.length };
      },
      async dryRun() {
        return { mode: 'description', text: "would compare every file's size with the manifest's, and the SHA-256 of every file but the dumps" };
      },
    },
    {
      id: 'restore',
      kind: 'verify',
      title: 'Restore each dump into a scratch database: its checksum, table of contents, row counts and audit chains',
      timeoutMs: 6 * 60 * 60_000,
      idempotent: true,
      async run(context) {
        const ports = backupPorts(context.ports);
        const server = ports.scratchServerUrl ?? ports.databases.find((database) => database.kind !== 'pglite')?.url;
        const { dir, manifest } = await backupOf(context);
        const restored: Record<string, number> = {};
        const chains: Record<string, RestoredChains['chains']> = {};
        let trailHeadChecked = false;
        for (const file of dumpsOf(manifest)) {
          let outcome: DumpOutcome;
          if (file.kind === 'pglite-dump') {
            outcome = await verifyEmbeddedDump(context, ports, dir, file, manifest.audit_chain_head);
          } else {
            if (!server) throw new Error(`there is no PostgreSQL server to restore into: ${ports.databasesProblem ?? 'no database is configured'}`);
            outcome = await verifyDump(context, ports, server, dir, file, manifest.audit_chain_head);
          }
          if (outcome.problem) return failVerification(context, dir, outcome.problem);
          restored[file.name] = Object.values(outcome.counts).reduce((sum, rows) => sum + rows, 0);
          if (Object.keys(outcome.chains).length > 0) chains[file.name] = outcome.chains;
          trailHeadChecked ||= 'bot-trail' in outcome.chains;
        }
        // A backup whose dumps hold no trail of the bot (none configured) cannot be held to its head.
        const recordedHead = manifest.audit_chain_head && !trailHeadChecked ? { recorded_head: 'not checked: no dump holds the bot’s audit trail' } : {};
        return { rows_restored: restored, ...(Object.keys(chains).length > 0 ? { chains } : {}), ...recordedHead };
      },
      async dryRun(context) {
        const ports = backupPorts(context.ports);
        return {
          mode: 'description',
          text: `would restore each dump into a scratch database on ${ports.scratchServerUrl ? 'the scratch server' : 'the first database’s server'} (an embedded database's into an in-memory PGlite; dropped afterwards), hashing it meanwhile, and compare its table of contents and row counts with the manifest's and verify the audit chains in it`,
        };
      },
    },
    {
      id: 'record',
      kind: 'act',
      title: 'Record the backup as verified',
      timeoutMs: 30_000,
      idempotent: true,
      async run(context) {
        const { dir } = await backupOf(context);
        const verification = { verified_at: new Date().toISOString(), ok: true, verified_by: `runbook run ${context.runId}` };
        await recordVerification(dir, verification);
        return verification;
      },
      async dryRun() {
        return { mode: 'description', text: 'would write verification.json beside the backup' };
      },
    },
  ],
});
