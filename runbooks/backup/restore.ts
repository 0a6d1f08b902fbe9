/**
 * `restore <id>` (Level 3, two approvers): replace the stack's databases with a backup's dumps.
 * The backup is checked first (complete, verified, checksums), a fresh backup of today's data is
 * taken (the way back), the services that write the databases are stopped, each dump replaces its
 * live database in one transaction, the restored rows and the Audit Engine's chain are checked
 * while nothing writes, then the writers start again and every service must be healthy.
 * An embedded PGlite database of npm start is replaced whole instead: its dump restored into a
 * fresh PGlite beside it, swapped in by the thread that serves it (embedded-postgres-swap.ts), the
 * replaced one kept until the restored rows were checked.
 * Once the Audit Engine runs again on its restored, older chain, it is asked to accept it (a new
 * signed checkpoint at the restored head and an audit event naming this restore): otherwise the
 * checkpoint it keeps outside the database, further on, would report the rollback as tampering.
 * The bot's own database is never restored (restore-plan.ts says why).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { auditChainAt } from '../../services/audit-engine/chain-at.js';
import type { ChainHead, ReanchorResponse } from '../../services/audit-engine/contract.js';
import { ServiceCallError } from '../../services/clients/http.js';
import { restoreDumpReplacing } from '../../services/stack/backup/postgres-dump.js';
import { tableRowCounts } from '../../services/stack/backup/scratch-database.js';
import type { Stack } from '../../services/stack/stack.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import type { BackupDatabase, EmbeddedBackupDatabase, StepPorts } from '../engine/ports.js';
import { readBackup } from './backup-catalog.js';
import { BackupIdSchema } from './backup-manifest.js';
import { backupPorts, completeBackupRefusal, errorText, formatBytes, sweepLeftoverScratch } from './backup-steps-support.js';
import { checkReadiness, describeCheck, takeBackup, type TakenBackup } from './backup.js';
import { unlockStep } from '../deploy/release-steps.js';
import { requireLockStillOurs, restoreLockStep } from './restore-lock.js';
import { describePlan, planRestore, type PlannedDump, type RestorePlan } from './restore-plan.js';

export const RestoreArgs = z
  .object({
    id: BackupIdSchema,
    /** `allow`: restore a backup that was never verified (one whose verification failed, never). */
    unverified: z.enum(['allow']).optional(),
  })
  .strict();
type Args = z.output<typeof RestoreArgs>;
type Context = StepContext<Args>;

/** How long the writers get to be healthy again after the restore (each replica). */
const START_TIMEOUT_MS = 2 * 60_000;

/** The whole plan (`inspect`: checksums, tables of contents, rows now), or only which dump goes where, for the later dry runs. */
async function plan(context: Context, inspect = true): Promise<RestorePlan> {
  return planRestore(context.ports, context.args.id, { allowUnverified: context.args.unverified === 'allow', inspect });
}

/** The check's plan; a step after a skipped check has nothing to go by and says so. */
function checkedPlan(context: Context): RestorePlan {
  const checked = context.outputs['check-backup'] as RestorePlan | undefined;
  if (!checked) throw new Error('the backup was not checked (its step was skipped): there is no plan to restore by; abort, and start the restore again');
  return checked;
}

function stackOf(ports: StepPorts): Stack {
  const stack = ports.commands?.stack;
  if (!stack) throw new Error(`there is no Stack port in this process (${ports.commands?.stackProblem ?? 'no stack was chosen'})`);
  return stack;
}

/** The database a planned dump replaces, still of the kind the plan found. */
function databaseOf(context: Context, dump: PlannedDump): BackupDatabase {
  const database = backupPorts(context.ports).databases.find((candidate) => candidate.name === dump.database);
  const embedded = dump.kind === 'pglite-dump';
  if (!database || (database.kind === 'pglite') !== embedded) throw new Error(`the stack no longer has the database ${dump.where} ${embedded ? 'embedded' : 'on a PostgreSQL server'}; nothing was restored into it`);
  return database;
}

function urlOf(database: BackupDatabase): string {
  return database.kind === 'pglite' ? database.source.url : database.url;
}

interface RestoredDatabase {
  file: string;
  database: string;
  duration_ms: number;
  /** An embedded database's data directory before the restore, kept until verify-restored passed. */
  previous_dir?: string;
}

async function restoreOne(context: Context, dir: string, dump: PlannedDump): Promise<RestoredDatabase> {
  const database = databaseOf(context, dump);
  const file = join(dir, dump.file);
  if (database.kind === 'pglite') {
    const { durationMs, previousDir } = await database.source.replaceWith({ file, signal: context.signal });
    return { file: dump.file, database: dump.where, duration_ms: durationMs, previous_dir: previousDir };
  }
  const { durationMs } = await restoreDumpReplacing({ file, databaseUrl: database.url, signal: context.signal });
  return { file: dump.file, database: dump.where, duration_ms: durationMs };
}

/** Starts every service in `services`, all of them even when one fails; the failures in one sentence. */
async function startAll(stack: Stack, services: readonly string[]): Promise<{ started: string[] }> {
  const failures: string[] = [];
  const started: string[] = [];
  for (const service of services) {
    try {
      await stack.start(service, { timeoutMs: START_TIMEOUT_MS });
      started.push(service);
    } catch (error) {
      failures.push(`${service}: ${errorText(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`not every writer started again (${failures.join('; ')}); started: ${started.join(', ') || 'none'}`);
  return { started };
}

async function stopWriters(context: Context): Promise<{ stopped: string[] }> {
  const { writers } = checkedPlan(context);
  await requireLockStillOurs(context, 'stopped');
  const stack = stackOf(context.ports);
  const stopped: string[] = [];
  for (const service of writers) {
    try {
      await stack.stop(service);
    } catch (error) {
      // Half stopped is the worst of both: the ones stopped start again before the step fails.
      const restarted = await startAll(stack, stopped).then(
        () => `the ones stopped before (${stopped.join(', ') || 'none'}) run again`,
        (startError: unknown) => errorText(startError),
      );
      throw new Error(`${service} could not be stopped: ${errorText(error)}; ${restarted}. Nothing was restored`);
    }
    stopped.push(service);
  }
  return { stopped };
}

async function startStoppedWriters(context: Context): Promise<unknown> {
  const stopped = (context.outputs['stop-writers'] as { stopped: string[] } | undefined)?.stopped ?? [];
  return startAll(stackOf(context.ports), stopped);
}

async function restoreDatabases(context: Context): Promise<unknown> {
  const checked = checkedPlan(context);
  await requireLockStillOurs(context, 'restored');
  const { dir } = await readBackup(backupPorts(context.ports).root, checked.id);
  const safety = (context.outputs['safety-backup'] as TakenBackup | undefined)?.id;
  const wayBack = safety ? `backup ${safety}, taken just before, holds what was there` : 'no safety backup was taken (its step was skipped)';
  const restored: RestoredDatabase[] = [];
  for (const [index, dump] of checked.dumps.entries()) {
    try {
      restored.push(await restoreOne(context, dir, dump));
    } catch (error) {
      const replaced = restored.map((entry) => entry.database);
      const untouched = checked.dumps.slice(index + 1).map((entry) => entry.where);
      const asBefore = dump.kind === 'pglite-dump' ? 'Nothing of it was swapped in' : 'Its transaction was rolled back';
      const kept = restored.filter((entry) => entry.previous_dir).map((entry) => `${entry.database}'s previous data is kept in ${entry.previous_dir}`);
      throw new Error(
        `${dump.file} did not restore into ${dump.where}: ${errorText(error)}. ${asBefore}: ${dump.where} holds what it held before. ` +
          (kept.length > 0 ? `${kept.join('; ')}. ` : '') +
          `Replaced already: ${replaced.join(', ') || 'none'}; not touched: ${untouched.join(', ') || 'none'}. ` +
          `The writers stay stopped until you decide: retry restores every dump again (each replaces its database whole), abort starts them again on the data as it is now; ${wayBack}`,
      );
    }
  }
  return { restored, safety_backup: safety ?? null };
}

/** `schema.table` -> rows, for the tables the manifest counted: the rest of the database was not the dump's. */
function differences(dump: PlannedDump, counts: Record<string, number>): string[] {
  return dump.tables.filter((rows) => counts[rows.table] !== rows.backup).map((rows) => `${rows.table}: ${counts[rows.table] ?? 'missing'} rows, the manifest says ${rows.backup}`);
}


interface RestoredCheck {
  database: string;
  rows: number;
  audit_chain: string;
  /** The Audit Engine's chain head in the restored rows: where `reanchor-audit-chain` anchors it. */
  audit_head?: ChainHead;
}

async function verifyRestored(context: Context): Promise<unknown> {
  const checked = checkedPlan(context);
  const previous = ((context.outputs['restore-databases'] as { restored?: RestoredDatabase[] } | undefined)?.restored ?? []).filter((entry) => entry.previous_dir);
  const problems: string[] = [];
  const databases: RestoredCheck[] = [];
  for (const dump of checked.dumps) {
    const database = databaseOf(context, dump);
    const url = urlOf(database);
    // The writers are stopped, so an embedded database's one socket session is free for the chain.
    const counts = database.kind === 'pglite' ? await database.source.rowCounts() : await tableRowCounts(url);
    const wrong = differences(dump, counts);
    if (wrong.length > 0) problems.push(`${dump.where} holds other row counts than the backup: ${wrong.join('; ')}`);
    const chain = await auditChainAt(url);
    if (chain && !chain.valid) problems.push(`the Audit Engine's chain in ${dump.where} is broken after ${chain.events} good events: ${chain.problem ?? 'no detail'}`);
    databases.push({
      database: dump.where,
      rows: dump.tables.reduce((sum, rows) => sum + (counts[rows.table] ?? 0), 0),
      audit_chain: chain ? `valid, ${chain.events} events` : 'none in this database',
      ...(chain ? { audit_head: chain.head } : {}),
    });
  }
  if (problems.length > 0) {
    const kept = previous.map((entry) => `${entry.database} before the restore is kept in ${entry.previous_dir}`);
    throw new Error(`${problems.join('; ')}. The writers are still stopped: abort starts them on this data, retry checks again${kept.length > 0 ? `; ${kept.join('; ')}` : ''}`);
  }
  // Checked: the data directories the embedded databases had before are no longer the way back (the safety backup is).
  const discarded: string[] = [];
  for (const entry of previous) {
    const database = backupPorts(context.ports).databases.find((candidate): candidate is EmbeddedBackupDatabase => candidate.kind === 'pglite' && entry.previous_dir!.startsWith(`${candidate.source.dataDir}.`));
    if (!database) continue;
    await database.source.discardPrevious(entry.previous_dir!);
    discarded.push(entry.previous_dir!);
  }
  return { databases, ...(discarded.length > 0 ? { previous_data_removed: discarded } : {}) };
}

/** The Audit Engine, in the Stack's names: a dump it writes is the audit database. */
const AUDIT_ENGINE = 'audit-engine';

const short = (hash: string) => `${hash.slice(0, 12)}…`;

/**
 * Asks the Audit Engine, running again on the restored chain, to accept it: its checkpoint kept
 * outside the database is still the newer one of before the restore, and without this it reports
 * the rollback as tampering (degraded) at its next walk. The head is the one verify-restored walked
 * to while nothing wrote; an empty restored chain is re-anchored too, at its genesis (#0), or the
 * engine would stay degraded until someone did it by hand. Already done (a retry) or nothing rolled back: the engine says there is
 * nothing to re-anchor, and so does the step.
 */
async function reanchorAuditChain(context: Context): Promise<unknown> {
  const checked = checkedPlan(context);
  if (!checked.dumps.some((dump) => dump.writers.includes(AUDIT_ENGINE))) {
    return { audit_chain: `not re-anchored: the Audit Engine's database was not part of this restore` };
  }
  const verified = context.outputs['verify-restored'] as { databases?: RestoredCheck[] } | undefined;
  if (!verified) {
    throw new Error(
      "the restored rows were not checked (verify-restored was skipped), so there is no restored head the Audit Engine could be asked to accept; skip this step too (the Audit Engine will report the rollback until it is re-anchored: POST /audit/admin/reanchor, services/audit-engine/README.md), or abort",
    );
  }
  const head = verified.databases?.find((database) => database.audit_head)?.audit_head;
  if (!head) return { audit_chain: 'not re-anchored: the restored audit database holds no chain' };
  const client = context.ports.commands?.auditEngine;
  if (!client) throw new Error('there is no Audit Engine client in this process, so the restored chain could not be re-anchored');
  let answer: ReanchorResponse;
  try {
    answer = await client.reanchor({ head, backup_id: checked.id, run_id: context.runId, requested_by: context.requester, approved_by: [...context.approvedBy] });
  } catch (error) {
    if (error instanceof ServiceCallError && error.code === 'NOTHING_TO_REANCHOR') return { audit_chain: `not re-anchored: ${error.message}` };
    throw new Error(
      `the Audit Engine did not accept the restored chain at #${head.sequence} (${short(head.chain_hash)}): ${errorText(error)}. The restored data stays and the writers run; until the chain is re-anchored the Audit Engine reports the rollback (degraded)`,
    );
  }
  if (!answer.integrity.valid) {
    throw new Error(`the Audit Engine re-anchored its chain at #${head.sequence}, but its verification right after found a break: ${answer.integrity.first_broken?.message ?? 'no detail'}`);
  }
  return {
    audit_chain: `re-anchored: checkpoint #${answer.previous.sequence} (${short(answer.previous.hash)}) -> head #${answer.head.sequence} (${answer.head.sequence === 0 ? 'the empty chain' : short(answer.head.chain_hash)}), recorded as event #${answer.event.sequence}`,
    ...answer,
  };
}

async function checkHealth(context: Context): Promise<unknown> {
  const stack = stackOf(context.ports);
  const services = await stack.services();
  const health = await Promise.all(services.map(async (service) => stack.health(service).then((answer) => answer.status as string, (error: unknown) => `unknown (${errorText(error)})`)));
  const report = Object.fromEntries(services.map((service, index) => [service, health[index]!]));
  const sick = services.filter((service) => report[service] !== 'healthy');
  if (sick.length > 0) throw new Error(`not every service is healthy after the restore: ${sick.map((service) => `${service} ${report[service]}`).join(', ')} (\`logs <service>\` says why)`);
  return report;
}

export const restoreRunbook = defineRunbook({
  source: import.meta.url,
  name: 'restore',
  summary:
    "Replace the stack's databases with a backup's: check it, back up today's data first, stop the writers, restore, check rows and the audit chain, start them, re-anchor the audit chain, check health",
  level: 3,
  args: RestoreArgs,
  validate: (args, ports) => completeBackupRefusal(ports, args.id, 'restored'),
  steps: [
    {
      id: 'check-backup',
      kind: 'check',
      title: 'Check the backup (complete, verified, checksums) and what it replaces',
      timeoutMs: 60 * 60_000,
      idempotent: true,
      // Every later step goes by the plan this step returns.
      skippable: false,
      async run(context) {
        await sweepLeftoverScratch(context.ports);
        return plan(context);
      },
      async dryRun(context) {
        const checked = await plan(context);
        // Approvers approve this backup as it was verified then: a new verification is a new plan.
        return { mode: 'read-only-check', text: describePlan(checked), target: `backup ${checked.id} (${checked.verification})` };
      },
    },
    restoreLockStep<Args>(),
    {
      id: 'safety-backup',
      kind: 'act',
      title: "Back up today's data first (the way back)",
      timeoutMs: 6 * 60 * 60_000,
      // Its directory belongs to this run: a takeover finds it and keeps what was finished.
      idempotent: true,
      async run(context) {
        const taken = await takeBackup(context);
        return { ...taken, size: formatBytes(taken.bytes) };
      },
      async dryRun(context) {
        const check = describeCheck(await checkReadiness(backupPorts(context.ports), context.signal));
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
        return { mode: 'read-only-check', text: `would take a full backup first, named like ${stamp}-<the run id's first 6 hex digits> (the run's output names it): ${check}` };
      },
    },
    {
      id: 'stop-writers',
      kind: 'act',
      title: 'Stop the services that write these databases',
      timeoutMs: 5 * 60_000,
      idempotent: true,
      // Restoring under running writers would mix their writes into the restored data.
      skippable: false,
      run: stopWriters,
      compensate: startStoppedWriters,
      async dryRun(context) {
        const { writers, writersNotInStack } = await plan(context, false);
        const stack = stackOf(context.ports);
        const now = await Promise.all(writers.map(async (service) => `${service} (${(await stack.health(service)).status} now)`));
        const elsewhere = writersNotInStack.length > 0 ? `; not in this stack: ${writersNotInStack.join(', ')}` : '';
        return { mode: 'read-only-check', text: `would stop ${now.join(', ') || 'nothing'} on ${stack.description}${elsewhere}; aborting later starts them again`, target: `services ${writers.join(', ') || 'none'}` };
      },
    },
    {
      id: 'restore-databases',
      kind: 'act',
      title: 'Replace each database with its dump (pg_restore in one transaction; an embedded one swapped whole)',
      timeoutMs: 6 * 60 * 60_000,
      // A takeover cannot tell whether a killed runner's pg_restore committed: a person decides.
      idempotent: false,
      run: restoreDatabases,
      async dryRun(context) {
        const { dumps } = await plan(context, false);
        const targets = dumps.map((dump) => `${dump.file} -> ${dump.where}`).join(', ');
        const postgres = dumps.filter((dump) => dump.kind === 'postgres-dump').map((dump) => dump.where);
        const embedded = dumps.filter((dump) => dump.kind === 'pglite-dump').map((dump) => dump.where);
        const how = [
          ...(postgres.length > 0 ? [`would run pg_restore --clean --if-exists --single-transaction --exit-on-error into ${postgres.join(', ')}; a failure rolls that database back to what it held`] : []),
          ...(embedded.length > 0 ? [`would restore into a fresh PGlite beside ${embedded.join(', ')} (stopping at the first error, the live one untouched), then swap it in on the same port, keeping the replaced data directory until the restored rows were checked`] : []),
        ];
        return { mode: 'description', text: how.join('; '), target: `databases ${targets || 'none'}` };
      },
    },
    {
      id: 'verify-restored',
      kind: 'verify',
      title: "Count the restored rows against the manifest and walk the Audit Engine's chain",
      timeoutMs: 60 * 60_000,
      idempotent: true,
      run: verifyRestored,
      async dryRun() {
        return { mode: 'description', text: "would count every restored table's rows against the manifest and verify the Audit Engine's hash chain in the restored data, while nothing writes" };
      },
    },
    {
      id: 'start-writers',
      kind: 'act',
      title: 'Start the writers again',
      timeoutMs: 15 * 60_000,
      idempotent: true,
      run: startStoppedWriters,
      async dryRun(context) {
        const { writers } = await plan(context, false);
        return { mode: 'description', text: `would start ${writers.join(', ') || 'nothing'} and wait until each is healthy`, target: `services ${writers.join(', ') || 'none'}` };
      },
    },
    {
      id: 'reanchor-audit-chain',
      kind: 'act',
      title: 'Have the Audit Engine accept its restored chain (a signed checkpoint at the restored head, the re-anchor recorded)',
      timeoutMs: 10 * 60_000,
      // A second call finds nothing to re-anchor.
      idempotent: true,
      run: reanchorAuditChain,
      async dryRun(context) {
        const { dumps } = await plan(context, false);
        const audit = dumps.find((dump) => dump.writers.includes(AUDIT_ENGINE));
        if (!audit) return { mode: 'description', text: "nothing: the Audit Engine's database is not part of this restore" };
        return {
          mode: 'description',
          text: `would ask the Audit Engine (POST /audit/admin/reanchor, admin token) to accept its chain rolled back to the head restored into ${audit.where}: a new signed checkpoint there, and an audit event naming this restore and what was rolled back`,
          target: `audit chain of ${audit.where}`,
        };
      },
    },
    {
      id: 'check-health',
      kind: 'verify',
      title: 'Check the health of every service',
      timeoutMs: 2 * 60_000,
      idempotent: true,
      run: checkHealth,
      async dryRun(context) {
        const stack = stackOf(context.ports);
        const services = await stack.services();
        const now = await Promise.all(services.map(async (service) => `${service} ${(await stack.health(service)).status}`));
        return { mode: 'read-only-check', text: `now: ${now.join(', ')}` };
      },
    },
    unlockStep<Args>(),
  ],
});
