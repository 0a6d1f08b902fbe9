/**
 * What a restore of one backup would do, worked out before anything changes: the backup exists,
 * is complete, verified (or explicitly allowed not to be) and its files match their checksums;
 * which dump replaces which of today's databases, with each table's rows in the backup against
 * its rows now; which services write those databases (they are stopped meanwhile); and which
 * dumps are left out, with why. Only reads: `restore`'s first step and its dry run are this.
 * Both kinds of database: a PostgreSQL server's (`<name>.dump`) and an embedded PGlite one of
 * npm start (`<name>.sql`), whose rows now its own thread counts (its socket's one session is the
 * service's while it runs).
 */
import { join } from 'node:path';
import { packageVersion } from '../../services/stack/backup/pglite-session-dump.js';
import { pgToolVersion } from '../../services/stack/backup/pg-tools.js';
import { tableRowCounts } from '../../services/stack/backup/scratch-database.js';
import type { BackupDatabase, BackupPorts, StepPorts } from '../engine/ports.js';
import { checkFiles, readBackup, type Verification } from './backup-catalog.js';
import type { BackupFile, BackupManifest } from './backup-manifest.js';
import { backupPorts, errorText } from './backup-steps-support.js';
import { contentsOf, whereIs } from './database-kinds.js';

/** The name the backup port gives the bot's own database (backup-ports.ts). */
export const BOT_DATABASE = 'bot';

/** Why the bot's database is never restored by a run of the bot that runs on it. */
export const BOT_DATABASE_REFUSAL =
  "the bot's own database holds its audit trail, its approvals and this very run; replacing it under the running bot would erase the run's record of itself and fork the trail's chain. Stop the bot and restore it with pg_restore by hand (runbooks/backup/README.md)";

export interface TableRows {
  table: string;
  /** Rows the manifest counted when the dump was made. */
  backup: number;
  /** Rows the live table holds now; null when today's database has no such table. */
  now: number | null;
}

export interface PlannedDump {
  file: string;
  /** pg_restore into a PostgreSQL database, or a fresh PGlite swapped in for an embedded one. */
  kind: BackupFile['kind'];
  /** The backup port's name of the database it replaces (`audit-engine`). */
  database: string;
  /** Host, port and database name, never a password. */
  where: string;
  /** The services (by the Stack's names) that write this database. */
  writers: string[];
  tables: TableRows[];
  /** Tables today's database holds that the dump does not: pg_restore --clean leaves them as they are. */
  untouchedTables: string[];
  /** The same for an embedded database, which is replaced whole: these go. */
  droppedTables: string[];
}

export interface RestorePlan {
  id: string;
  startedAt: string;
  verification: string;
  tool: string;
  dumps: PlannedDump[];
  notRestored: Array<{ file: string; why: string }>;
  /** The Stack's services to stop while the dumps are restored. */
  writers: string[];
  /** Writers the backup names that the Stack does not run here (nothing to stop for them). */
  writersNotInStack: string[];
}

export interface RestoreOptions {
  /** Restore a backup `backup verify` never verified (one that failed verification never is). */
  allowUnverified: boolean;
  /**
   * false: the manifest and the stack only, without hashing the files, listing the dumps or
   * counting today's rows: for the later steps' dry runs, which need only which dump goes where.
   */
  inspect?: boolean;
}

function dumpsOf(manifest: BackupManifest): BackupFile[] {
  return manifest.files.filter((file) => file.kind === 'postgres-dump' || file.kind === 'pglite-dump');
}

/** The users a dump was made for: `bot_audit-engine_evolution-oversight.dump` is three (backup-ports.ts joins shared ones). */
export function usersOf(file: string): string[] {
  return file.replace(/\.(dump|sql)$/, '').split('_');
}

async function rowsNow(database: BackupDatabase): Promise<Record<string, number>> {
  return database.kind === 'pglite' ? database.source.rowCounts() : tableRowCounts(database.url);
}

/** The restoring tools the dumps need, with their versions; pg_restore only where a PostgreSQL dump is restored. */
async function toolOf(dumps: ReadonlyArray<PlannedDump>): Promise<string> {
  const tools: string[] = [];
  if (dumps.some((dump) => dump.kind === 'postgres-dump')) tools.push(await pgToolVersion('pg_restore'));
  if (dumps.some((dump) => dump.kind === 'pglite-dump')) tools.push(`@electric-sql/pglite ${packageVersion('@electric-sql/pglite')}`);
  return tools.join(', ');
}

function verificationWords(verification: Verification | undefined): string {
  if (!verification) return 'never verified';
  return verification.ok ? `verified ${verification.verified_at}` : `failed verification ${verification.verified_at}: ${verification.problem ?? 'no reason recorded'}`;
}

/** The checks that refuse a backup before anything is touched; each throws a sentence saying what to do. */
function requireUsable(id: string, verification: Verification | undefined, options: RestoreOptions): void {
  if (verification && !verification.ok) {
    throw new Error(`backup ${id} failed its verification (${verification.verified_at}: ${verification.problem ?? 'no reason recorded'}); it is never restored. Pick another backup (\`backups\` lists them)`);
  }
  if (!verification && !options.allowUnverified) {
    throw new Error(`backup ${id} was never verified; run \`backup verify ${id}\` first, or, when there is no time for that, ask again with unverified=allow (\`restore ${id} --unverified\`)`);
  }
}

async function planDump(dir: string, file: BackupFile, ports: BackupPorts, inspect: boolean): Promise<PlannedDump | { file: string; why: string }> {
  const name = file.name.replace(/\.(dump|sql)$/, '');
  const users = usersOf(file.name);
  if (users.includes(BOT_DATABASE)) {
    const others = users.filter((user) => user !== BOT_DATABASE);
    if (others.length > 0) {
      throw new Error(
        `${file.name} holds the data of ${others.join(' and ')} in the bot's own database, which a restore never replaces under the running bot; ` +
          'give them their own databases (AUDIT_DATABASE_URL, EVOLUTION_DATABASE_URL) to restore them with `restore`, or restore by hand with the bot stopped',
      );
    }
    return { file: file.name, why: BOT_DATABASE_REFUSAL };
  }
  const target = ports.databases.find((database) => database.name === name);
  if (!target) {
    const now = ports.databases.map((database) => database.name).join(', ') || 'none';
    throw new Error(`${file.name} was made of the database of ${users.join(' and ')}, which the stack does not have as one database now (its databases: ${now}); restore it by hand`);
  }
  const embedded = target.kind === 'pglite';
  if (embedded !== (file.kind === 'pglite-dump')) {
    const was = file.kind === 'pglite-dump' ? 'an embedded PGlite database (npm start without DATABASE_URL)' : 'a PostgreSQL database';
    throw new Error(`${file.name} was made of ${was}, and the stack has the database of ${users.join(' and ')} ${embedded ? 'embedded' : 'on PostgreSQL'} now; restore it by hand (runbooks/backup/README.md)`);
  }
  const where = whereIs(target);
  const counted = file.row_counts ?? {};
  const planned = { file: file.name, kind: file.kind, database: target.name, where, writers: users };
  if (!inspect) return { ...planned, tables: Object.keys(counted).sort().map((table) => ({ table, backup: counted[table]!, now: null })), untouchedTables: [], droppedTables: [] };
  let contents;
  try {
    contents = await contentsOf(file.kind, join(dir, file.name));
  } catch (error) {
    throw new Error(`${file.name} cannot be read: ${errorText(error)}`);
  }
  const missing = Object.keys(file.row_counts ?? {}).filter((table) => !contents.tablesWithData.includes(table));
  if (missing.length > 0) throw new Error(`${file.name} lacks the data of ${missing.join(', ')}`);
  let current: Record<string, number>;
  try {
    current = await rowsNow(target);
  } catch (error) {
    throw new Error(`database ${where} does not answer: ${errorText(error)}`);
  }
  const tables = Object.keys(counted).sort().map((table) => ({ table, backup: counted[table]!, now: current[table] ?? null }));
  const others = Object.keys(current).filter((table) => !(table in counted)).sort();
  return { ...planned, tables, untouchedTables: embedded ? [] : others, droppedTables: embedded ? others : [] };
}

/** The plan, or the reason there is none; reads the backup, the dumps and today's databases, changes nothing. */
export async function planRestore(stepPorts: StepPorts, id: string, options: RestoreOptions): Promise<RestorePlan> {
  const ports = backupPorts(stepPorts);
  const { dir, manifest, verification } = await readBackup(ports.root, id);
  requireUsable(id, verification, options);
  const inspect = options.inspect ?? true;
  const problems = inspect ? await checkFiles(dir, manifest) : [];
  if (problems.length > 0) throw new Error(`backup ${id} does not match its manifest: ${problems.map((problem) => problem.detail).join('; ')}`);
  const dumps: PlannedDump[] = [];
  const notRestored: RestorePlan['notRestored'] = [];
  for (const file of dumpsOf(manifest)) {
    const planned = await planDump(dir, file, ports, inspect);
    if ('why' in planned) notRestored.push(planned);
    else dumps.push(planned);
  }
  if (dumps.length === 0) throw new Error(`backup ${id} holds no dump that \`restore\` replaces (${notRestored.map((entry) => `${entry.file}: ${entry.why}`).join('; ') || 'it has no dumps'})`);
  const tool = await toolOf(dumps);
  const stack = stepPorts.commands?.stack;
  if (!stack) throw new Error(`the services that write the databases cannot be stopped: there is no Stack port in this process (${stepPorts.commands?.stackProblem ?? 'no stack was chosen'})`);
  const running = new Set(await stack.services());
  const named = [...new Set(dumps.flatMap((dump) => dump.writers))].sort();
  return {
    id,
    startedAt: manifest.started_at,
    verification: verificationWords(verification),
    tool,
    dumps,
    notRestored,
    writers: named.filter((service) => running.has(service)),
    writersNotInStack: named.filter((service) => !running.has(service)),
  };
}

function rowsWords(rows: TableRows): string {
  return `${rows.table} ${rows.backup} rows (now ${rows.now === null ? 'absent' : rows.now})`;
}

/** The plan in sentences: what replaces what, what is left out, which services stop. */
export function describePlan(plan: RestorePlan): string {
  const dumps = plan.dumps.map((dump) => {
    const untouched = dump.untouchedTables.length > 0 ? `; left as they are: ${dump.untouchedTables.join(', ')}` : '';
    const dropped = dump.droppedTables.length > 0 ? `; gone afterwards (the dump lacks them): ${dump.droppedTables.join(', ')}` : '';
    // How it is replaced is the restore step's description; the approval message has room for little.
    const how = dump.kind === 'pglite-dump' ? ' whole' : '';
    return `${dump.file} replaces ${dump.where}${how}: ${dump.tables.map(rowsWords).join(', ') || 'no tables'}${untouched}${dropped}`;
  });
  const left = plan.notRestored.map((entry) => `${entry.file} is not restored: ${entry.why}`);
  const writers = plan.writers.length > 0 ? `stops ${plan.writers.join(', ')} meanwhile` : 'no service of the stack writes them';
  const elsewhere = plan.writersNotInStack.length > 0 ? `; not in this stack, so not stopped: ${plan.writersNotInStack.join(', ')}` : '';
  return `backup ${plan.id} of ${plan.startedAt} (${plan.verification}, checksums match): ${[...dumps, ...left].join('; ')}; ${writers}${elsewhere}`;
}
