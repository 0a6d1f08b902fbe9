/**
 * The `backup` port (engine/ports.ts BackupPorts) built from the environment and the command
 * dependencies: which databases to dump, where backups go, how long they are kept, and how the
 * policy engine's modes and the services' versions are read. The bot hands it to the executor;
 * only the audit chain's head comes from the bot itself.
 */
import { join } from 'node:path';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { BackupDatabase, BackupPorts } from '../engine/ports.js';

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
  'the stack runs on the embedded PGlite databases (DATABASE_URL is not set), which pg_dump cannot back up yet; set DATABASE_URL to a PostgreSQL server';

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
 * several users share are dumped once, under their joined names.
 */
export function backupDatabasesFromEnv(env: BackupEnv): { databases: BackupDatabase[]; problem?: string } {
  if (!env.DATABASE_URL) return { databases: [], problem: EMBEDDED_DATABASES_PROBLEM };
  const owner = (runtime: string, ...owners: Array<string | undefined>) => owners.find((url) => sameDatabase(runtime, url)) ?? runtime;
  const audit = env.AUDIT_DATABASE_URL ?? env.DATABASE_URL;
  const wanted: BackupDatabase[] = [
    { name: 'bot', url: owner(env.DATABASE_URL, env.ACGS_MIGRATIONS_DATABASE_URL) },
    { name: 'audit-engine', url: owner(audit, env.AUDIT_MIGRATIONS_DATABASE_URL, env.ACGS_MIGRATIONS_DATABASE_URL) },
    { name: 'evolution-oversight', url: owner(env.EVOLUTION_DATABASE_URL ?? env.DATABASE_URL, env.ACGS_MIGRATIONS_DATABASE_URL) },
  ];
  const byDatabase = new Map<string, BackupDatabase>();
  for (const database of wanted) {
    const key = databaseKey(database.url);
    const seen = byDatabase.get(key);
    byDatabase.set(key, seen ? { ...seen, name: `${seen.name}_${database.name}` } : database);
  }
  return { databases: [...byDatabase.values()] };
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
}

/** Without the bot's ports the step that needs one fails saying so, never guessing. */
function notSetUp(what: string): () => Promise<never> {
  return async () => {
    throw new Error(`${what} is not set up in this process (the bot hands it to createBackupPorts)`);
  };
}

export function createBackupPorts({ env, commands, auditChainHead, unfinishedRuns, verifyTrailCopy }: BackupPortsOptions): BackupPorts {
  const { databases, problem } = backupDatabasesFromEnv(env);
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
