/**
 * The DR test's restore test: the newest complete backup restored into scratch databases with
 * backup-verify's own checks (pg_restore --single-transaction --exit-on-error, or an in-memory
 * PGlite for an embedded dump; row counts against the manifest; the audit chains walked in the
 * copy), timed from the first dump's restore to the last one's checks. The scratch databases go
 * whatever happens (withScratchDatabase, withSqlDumpCopy). Unlike `backup verify` it records
 * nothing beside the backup: its finding goes to the trail and the DR report.
 */
import type { BackupListing } from '../backup/backup-catalog.js';
import { listBackups, readBackup } from '../backup/backup-catalog.js';
import { backupPorts, sweepLeftoverScratch } from '../backup/backup-steps-support.js';
import { dumpsOf, verifyDump, verifyEmbeddedDump, type DumpOutcome } from '../backup/backup-verify.js';
import type { StepPorts } from '../engine/ports.js';

export interface RestoreTestResult {
  backup: string;
  backupStartedAt: string;
  restoreMs: number;
  /** Rows restored per dump. */
  rows: Record<string, number>;
  /** Per dump, each chain walked: its records and head. */
  chains: Record<string, DumpOutcome['chains']>;
}

/** A restore that failed its checks: the backup is bad, which is the DR test's finding. */
export class RestoreTestFailed extends Error {
  override readonly name = 'RestoreTestFailed';
}

export async function latestCompleteBackup(ports: StepPorts): Promise<BackupListing> {
  const { root } = backupPorts(ports);
  const latest = (await listBackups(root)).find((backup) => backup.state === 'complete');
  if (!latest) throw new RestoreTestFailed(`there is no complete backup in ${root} to restore: run \`backup\` first`);
  return latest;
}

export async function restoreTest(ports: StepPorts, signal: AbortSignal): Promise<RestoreTestResult> {
  const backup = backupPorts(ports);
  await sweepLeftoverScratch(ports);
  const latest = await latestCompleteBackup(ports);
  const { dir, manifest } = await readBackup(backup.root, latest.id);
  const server = backup.scratchServerUrl ?? backup.databases.find((database) => database.kind !== 'pglite')?.url;
  const rows: Record<string, number> = {};
  const chains: RestoreTestResult['chains'] = {};
  const started = performance.now();
  for (const file of dumpsOf(manifest)) {
    let outcome: DumpOutcome;
    if (file.kind === 'pglite-dump') outcome = await verifyEmbeddedDump({ signal }, backup, dir, file, manifest.audit_chain_head);
    else {
      if (!server) throw new Error(`there is no PostgreSQL server to restore into: ${backup.databasesProblem ?? 'no database is configured'}`);
      outcome = await verifyDump({ signal }, backup, server, dir, file, manifest.audit_chain_head);
    }
    if (outcome.problem) throw new RestoreTestFailed(`backup ${manifest.id}: ${outcome.problem}`);
    rows[file.name] = Object.values(outcome.counts).reduce((sum, count) => sum + count, 0);
    if (Object.keys(outcome.chains).length > 0) chains[file.name] = outcome.chains;
  }
  return { backup: manifest.id, backupStartedAt: manifest.started_at, restoreMs: Math.round(performance.now() - started), rows, chains };
}
