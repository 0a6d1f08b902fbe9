/**
 * The `backup` port (engine/ports.ts BackupPorts) built from the environment and the command
 * dependencies: which databases to dump, where backups go, how long they are kept, and how the
 * policy engine's modes and the services' versions are read. The bot hands it to the executor;
 * only the audit chain's head comes from the bot itself.
 */
import { join } from 'node:path';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { EmbeddedDumpSource } from '../../services/stack/backup/pglite-dump.js';
import type { BackupDatabase, BackupPorts, PostgresBackupDatabase } from '../engine/ports.js';

export interface BackupEnv {
  DATABASE_URL?: string;
  ACGS_MIGRATIONS_DATABASE_URL?: string;
  AUDIT_DATABASE_URL?: string;
  AUDIT_MIGRATIONS_DATABASE_URL?: string;
  EVOLUTION_DATABASE_URL?: string;
  ACGS_BACKUP_DIR?: string;
  ACGS_STATE_DIR?: string;
  ACGS_CONFIG?: string;
  ACGS_BACKUP_KEEP_COUNT?: string;
  ACGS_BACKUP_KEEP_DAYS?: string;
}

/**
 * The operations runbook backs up daily (the 02:00 cron) and tests a restore monthly: a week of
 * dailies, and nothing younger than the month since the last restore test goes.
 */
export const DEFAULT_RETENTION = { keepCount: 7, keepDays: 30 } as const;

export const EMBEDDED_DATABASES_PROBLEM =
  'DATABASE_URL is not set, and this process runs none of the embedded PGlite databases (npm start runs them and backs them up); set DATABASE_URL to a PostgreSQL server';

/** The stack's databases by the name their dumps carry. */
export const BACKUP_DATABASE_NAMES = ['bot', 'audit-engine', 'evolution-oversight'] as const;
export type BackupDatabaseName = (typeof BACKUP_DATABASE_NAMES)[number];

/** The embedded PGlite databases this process runs (bot/main.ts, local-services.ts), by name. */
export type EmbeddedDatabases = Partial<Record<BackupDatabaseName, EmbeddedDumpSource>>;

/** host:port/database: two URLs with other roles or options still name one database. */
function databaseKey(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}/${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'}`;
}

function sameDatabase(a: string, b: string | undefined): boolean {
  return b !== undefined && databaseKey(a) === databaseKey(b);
}

/**
 * The stack's databases, each once: the bot's (DATABASE_URL), the Audit Engine's and Evolution
 * Oversight's (AUDIT_DATABASE_URL, EVOLUTION_DATABASE_URL, which default to DATABASE_URL as they do
 * for the local stack, local-services.ts). Where the owner role's URL (the migrations URL) names the
 * same database it is used instead: the runtime roles may not read every table. Databases that
 * several users share are dumped once, under their joined names. An embedded PGlite database this
 * process runs (npm start without DATABASE_URL) is dumped by its own thread instead.
 */
export function backupDatabasesFromEnv(env: BackupEnv, embedded: EmbeddedDatabases = {}): { databases: BackupDatabase[]; problem?: string } {
  const owner = (runtime: string, ...owners: Array<string | undefined>) => owners.find((url) => sameDatabase(runtime, url)) ?? runtime;
  const audit = env.AUDIT_DATABASE_URL ?? env.DATABASE_URL;
  const urls: Record<BackupDatabaseName, string | undefined> = {
    bot: env.DATABASE_URL && owner(env.DATABASE_URL, env.ACGS_MIGRATIONS_DATABASE_URL),
    'audit-engine': audit && owner(audit, env.AUDIT_MIGRATIONS_DATABASE_URL, env.ACGS_MIGRATIONS_DATABASE_URL),
    'evolution-oversight': (env.EVOLUTION_DATABASE_URL ?? env.DATABASE_URL) && owner((env.EVOLUTION_DATABASE_URL ?? env.DATABASE_URL)!, env.ACGS_MIGRATIONS_DATABASE_URL),
  };
  if (!env.DATABASE_URL && Object.keys(embedded).length === 0) return { databases: [], problem: EMBEDDED_DATABASES_PROBLEM };
  const databases: BackupDatabase[] = [];
  const byDatabase = new Map<string, PostgresBackupDatabase>();
  const unknown: string[] = [];
  for (const name of BACKUP_DATABASE_NAMES) {
    const source = embedded[name];
    const url = urls[name];
    if (source) {
      databases.push({ kind: 'pglite', name, source });
    } else if (!url) {
      unknown.push(name);
    } else {
      const key = databaseKey(url);
      const seen = byDatabase.get(key);
      if (seen) seen.name = `${seen.name}_${name}`;
      else {
        const database = { name, url };
        byDatabase.set(key, database);
        databases.push(database);
      }
    }
  }
  if (unknown.length > 0) return { databases, problem: `no database is known for ${unknown.join(', ')}: set DATABASE_URL (or its own *_DATABASE_URL)` };
  return { databases };
}

function wholeNumber(raw: string | undefined, fallback: number, variable: string, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${variable} must be a whole number of at least ${min}, not "${raw}"`);
  return Number(raw);
}

/** Retention from ACGS_BACKUP_KEEP_COUNT / ACGS_BACKUP_KEEP_DAYS; a malformed value is refused, naming it. */
export function retentionFromEnv(env: BackupEnv): BackupPorts['retention'] {
  return {
    keepCount: wholeNumber(env.ACGS_BACKUP_KEEP_COUNT, DEFAULT_RETENTION.keepCount, 'ACGS_BACKUP_KEEP_COUNT', 1),
    keepDays: wholeNumber(env.ACGS_BACKUP_KEEP_DAYS, DEFAULT_RETENTION.keepDays, 'ACGS_BACKUP_KEEP_DAYS', 0),
  };
}

/** ACGS_BACKUP_DIR, else `backups/` in the state directory. */
export function backupRootFromEnv(env: BackupEnv): string {
  return env.ACGS_BACKUP_DIR || join(env.ACGS_STATE_DIR || '.acgs', 'backups');
}

type HealthOf = () => Promise<{ version: string }>;

async function versionOf(health: HealthOf | undefined): Promise<string> {
  if (!health) return 'unknown: no client for it in this process';
  try {
    return (await health()).version;
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  }
}

export interface BackupPortsOptions {
  env: BackupEnv;
  commands: Partial<CommandDependencies>;
  /** From the bot: its trail's head, its unfinished runs, its trail verified in a restored copy. */
  auditChainHead: BackupPorts['auditChainHead'];
  unfinishedRuns?: BackupPorts['unfinishedRuns'];
  verifyTrailCopy?: BackupPorts['verifyTrailCopy'];
  /** The embedded PGlite databases this process runs, when it runs them. */
  embedded?: EmbeddedDatabases;
}

/** Without the bot's ports the step that needs one fails saying so, never guessing. */
function notSetUp(what: string): () => Promise<never> {
  return async () => {
    throw new Error(`${what} is not set up in this process (the bot hands it to createBackupPorts)`);
  };
}

export function createBackupPorts({ env, commands, auditChainHead, unfinishedRuns, verifyTrailCopy, embedded }: BackupPortsOptions): BackupPorts {
  const { databases, problem } = backupDatabasesFromEnv(env, embedded);
  return {
    root: backupRootFromEnv(env),
    databases,
    ...(problem ? { databasesProblem: problem } : {}),
    configFiles: env.ACGS_CONFIG ? [{ name: 'acgs-config.yaml', path: env.ACGS_CONFIG }] : [],
    retention: retentionFromEnv(env),
    auditChainHead,
    unfinishedRuns: unfinishedRuns ?? notSetUp('the run store (which backup runs have not ended)'),
    verifyTrailCopy: verifyTrailCopy ?? notSetUp("the bot's audit trail verifier"),
    async modes() {
      // The engine reports the modes it holds (Redis's shared ones merged with its own state
      // file) in /health; the Redis hash itself is signed per replica and not for reading here.
      if (!commands.policyEngine) throw new Error('the policy engine client is not set up in this process');
      const health = (await commands.policyEngine.health()) as { modes?: Record<string, unknown> };
      if (!health.modes) throw new Error('the policy engine did not report its modes in /health');
      return health.modes;
    },
    async serviceVersions() {
      const entries = await Promise.all([
        ['policy-engine', versionOf(commands.policyEngine?.health)],
        ['audit-engine', versionOf(commands.auditEngine?.health)],
        ['evolution-oversight', versionOf(commands.evolutionOversight?.health)],
        ['sandbox-controller', versionOf(commands.sandboxController?.health)],
      ].map(async ([name, version]) => [name, await version] as const));
      return Object.fromEntries(entries) as Record<string, string>;
    },
  };
}
