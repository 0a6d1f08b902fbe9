/**
 * `backup verify <id>` (Level 1): is this backup usable? Its files against the manifest's
 * checksums, each dump's table of contents, then a real restore of each dump into a scratch
 * database (stop at the first error, one transaction) whose row counts must equal the manifest's.
 * The outcome, good or bad, is recorded beside the backup (verification.json); scratch databases
 * are dropped whatever happens.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { PgToolError, listDump, restoreDump } from '../../services/stack/backup/postgres-dump.js';
import { tableRowCounts, withScratchDatabase } from '../../services/stack/backup/scratch-database.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import { checkFiles, readBackup, recordVerification } from './backup-catalog.js';
import { BackupIdSchema, type BackupFile, type BackupManifest } from './backup-manifest.js';
import { backupPorts, describeDatabase, errorText, sweepLeftoverScratch } from './backup-steps-support.js';

export const BackupVerifyArgs = z.object({ id: BackupIdSchema }).strict();
type Args = z.output<typeof BackupVerifyArgs>;
type Context = StepContext<Args>;

async function backupOf(context: Context): Promise<{ dir: string; manifest: BackupManifest }> {
  return readBackup(backupPorts(context.ports).root, context.args.id);
}

function dumpsOf(manifest: BackupManifest): BackupFile[] {
  return manifest.files.filter((file) => file.kind === 'postgres-dump');
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

export const backupVerifyRunbook = defineRunbook({
  name: 'backup-verify',
  summary: 'Check a backup: checksums, the dumps’ tables of contents, and a real restore of each dump into a scratch database with its row counts',
  level: 1,
  args: BackupVerifyArgs,
  // A failed verification is a finding, recorded with the backup; running it again is a new run.
  onStepFailure: 'fail',
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
      title: 'Hash every file again and compare with the manifest',
      timeoutMs: 60 * 60_000,
      idempotent: true,
      async run(context) {
        const { dir, manifest } = await backupOf(context);
        const problems = await checkFiles(dir, manifest);
        if (problems.length > 0) await failVerification(context, dir, problems.map((problem) => problem.detail).join('; '));
        return { files: manifest.files.length };
      },
      async dryRun() {
        return { mode: 'description', text: "would read every file of the backup and compare its size and SHA-256 with the manifest's" };
      },
    },
    {
      id: 'table-of-contents',
      kind: 'verify',
      title: "List each dump's table of contents (pg_restore --list)",
      timeoutMs: 10 * 60_000,
      idempotent: true,
      async run(context) {
        const { dir, manifest } = await backupOf(context);
        const tables: Record<string, number> = {};
        for (const file of dumpsOf(manifest)) {
          let contents;
          try {
            contents = await listDump(join(dir, file.name));
          } catch (error) {
            return failVerification(context, dir, `${file.name}: ${errorText(error)}`);
          }
          const missing = Object.keys(file.row_counts ?? {}).filter((table) => !contents.tablesWithData.includes(table));
          if (missing.length > 0) await failVerification(context, dir, `${file.name} lacks the data of ${missing.join(', ')}`);
          tables[file.name] = contents.tablesWithData.length;
        }
        return { tables_per_dump: tables };
      },
      async dryRun() {
        return { mode: 'description', text: 'would list each dump with pg_restore --list and look for every table the manifest counted' };
      },
    },
    {
      id: 'restore',
      kind: 'verify',
      title: 'Restore each dump into a scratch database and count its rows',
      timeoutMs: 6 * 60 * 60_000,
      idempotent: true,
      async run(context) {
        const ports = backupPorts(context.ports);
        const server = ports.scratchServerUrl ?? ports.databases[0]?.url;
        const { dir, manifest } = await backupOf(context);
        if (!server) throw new Error(`there is no PostgreSQL server to restore into: ${ports.databasesProblem ?? 'no database is configured'}`);
        const restored: Record<string, number> = {};
        for (const file of dumpsOf(manifest)) {
          let counts: Record<string, number>;
          let restoring = false;
          let restoreFailure: unknown;
          try {
            counts = await withScratchDatabase(server, `verify ${file.name}`, async (scratchUrl) => {
              restoring = true;
              await restoreDump({ file: join(dir, file.name), databaseUrl: scratchUrl, signal: context.signal }).catch((error: unknown) => {
                restoreFailure = error;
                throw error;
              });
              return tableRowCounts(scratchUrl);
            });
          } catch (error) {
            // No scratch database (the server is down, the role may not create one) says nothing
            // about the backup: the step fails without recording the backup as bad.
            if (!restoring) throw new Error(`no scratch database could be created on ${describeDatabase('the scratch server', server)}: ${errorText(error)}`);
            // Only pg_restore refusing the dump makes the backup bad; a stopped step (abort, lost
            // lease, timeout), a count that could not be read or a scratch database that would not
            // drop fails the step and leaves the backup's verification as it was.
            if (restoreFailure instanceof PgToolError && restoreFailure.exitCode !== null && !context.signal.aborted) {
              return failVerification(context, dir, `${file.name} did not restore: ${errorText(restoreFailure)}`);
            }
            throw error;
          }
          const differences = countDifferences(file.row_counts ?? {}, counts);
          if (differences.length > 0) await failVerification(context, dir, `${file.name} restored with other row counts: ${differences.join('; ')}`);
          restored[file.name] = Object.values(counts).reduce((sum, rows) => sum + rows, 0);
        }
        return { rows_restored: restored };
      },
      async dryRun(context) {
        const ports = backupPorts(context.ports);
        return { mode: 'description', text: `would restore each dump into a scratch database on ${ports.scratchServerUrl ? 'the scratch server' : 'the first database’s server'} (dropped afterwards) and compare its row counts with the manifest's` };
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
