/**
 * The bot's database with two roles (issue 10, item 5). The role in DATABASE_URL runs the bot; a
 * role that owns a table can switch its triggers off, so the bot's role must not own the audit
 * trail. ACGS_MIGRATIONS_DATABASE_URL names the owner role: it runs the migrations of the bot's
 * tables (trail, approvals, evolution review cards), takes over trail objects the bot's role
 * owned before, and grants the bot's role only what the bot does:
 *
 *   bot_audit_trail, bot_audit_trail_checkpoints   SELECT, INSERT
 *   bot_audit_trail_head                           SELECT, UPDATE (only forward: its trigger)
 *   approval_requests, approval_votes,
 *   evolution_review_cards                         SELECT, INSERT, UPDATE, DELETE
 *   the three migrations bookkeeping tables        SELECT, REFERENCES (so the bot sees nothing is pending)
 *
 * Without ACGS_MIGRATIONS_DATABASE_URL (the embedded default) one role does both, as before; the
 * signed checkpoints still show a rewrite, but the role can make one.
 */
import pg from 'pg';
import { APPROVALS_MIGRATIONS_TABLE, migrateApprovalStore } from './approvals/index.js';
import { createTrailStore, TRAIL_MIGRATIONS_TABLE } from './audit-trail/trail-store.js';
import { EVOLUTION_REVIEW_MIGRATIONS_TABLE, migrateEvolutionReviewCards } from './evolution-reviews/card-store.js';
import { createPool, redactDatabaseUrl } from '../services/kit/postgres.js';

export const MIGRATIONS_DATABASE_URL_ENV = 'ACGS_MIGRATIONS_DATABASE_URL';

/** The trail's tables and functions: never owned by the bot's role. */
const TRAIL_TABLES = ['bot_audit_trail', 'bot_audit_trail_head', 'bot_audit_trail_checkpoints', TRAIL_MIGRATIONS_TABLE] as const;
const TRAIL_FUNCTIONS = ['bot_audit_trail_reject_change', 'bot_audit_trail_head_only_forward'] as const;
/** The bot's other tables, which it reads and changes freely. */
const WORKING_TABLES = ['approval_requests', 'approval_votes', 'evolution_review_cards'] as const;

export interface BotDatabaseRoles {
  /** The role of DATABASE_URL, which runs the bot. */
  runtimeRole: string;
  /** The role of ACGS_MIGRATIONS_DATABASE_URL, which owns the tables. */
  ownerRole: string;
  /** False when both URLs name the same role (nothing is restricted then). */
  restricted: boolean;
  /** A superuser can do anything whatever is granted: worth a warning. */
  runtimeIsSuperuser: boolean;
}

export interface BotDatabaseSetup {
  ownerUrl: string;
  runtimeUrl: string;
  log?(line: string): void;
}

async function roleOf(databaseUrl: string): Promise<{ name: string; superuser: boolean }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string; superuser: boolean }>(
      'SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
    );
    return rows[0]!;
  } catch (error) {
    throw new Error(`could not connect to ${redactDatabaseUrl(databaseUrl)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Trail objects a former set-up left owned by the bot's role are taken over by the owner role. */
async function takeOverTrail(owner: pg.Pool, runtimeRole: string): Promise<string[]> {
  const taken: string[] = [];
  const tables = await owner.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]) AND pg_get_userbyid(c.relowner) = $2`,
    [TRAIL_TABLES, runtimeRole],
  );
  const functions = await owner.query<{ name: string }>(
    `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = current_schema() AND p.proname = ANY($1::text[]) AND pg_get_userbyid(p.proowner) = $2`,
    [TRAIL_FUNCTIONS, runtimeRole],
  );
  try {
    for (const { name } of tables.rows) {
      await owner.query(`ALTER TABLE ${pg.escapeIdentifier(name)} OWNER TO CURRENT_USER`);
      taken.push(name);
    }
    for (const { name } of functions.rows) {
      await owner.query(`ALTER FUNCTION ${pg.escapeIdentifier(name)}() OWNER TO CURRENT_USER`);
      taken.push(`${name}()`);
    }
  } catch (error) {
    throw new Error(
      `the audit trail is owned by the bot's role "${runtimeRole}", and ${MIGRATIONS_DATABASE_URL_ENV}'s role could not take it over (${(error as Error).message}): use a superuser, or a role that is a member of "${runtimeRole}", once`,
      { cause: error },
    );
  }
  return taken;
}

async function grantRuntimeAccess(owner: pg.Pool, runtimeRole: string): Promise<void> {
  const role = pg.escapeIdentifier(runtimeRole);
  const list = (names: readonly string[]) => names.map((name) => pg.escapeIdentifier(name)).join(', ');
  const statements = [
    `REVOKE ALL ON TABLE ${list(TRAIL_TABLES)} FROM ${role}`,
    `GRANT SELECT, INSERT ON TABLE bot_audit_trail, bot_audit_trail_checkpoints TO ${role}`,
    `GRANT SELECT, UPDATE ON TABLE bot_audit_trail_head TO ${role}`,
    // REFERENCES as well: node-pg-migrate looks for the table's primary key in
    // information_schema, which shows it only to roles with a privilege other than SELECT (and
    // would otherwise try to add one). Harmless: the bot's role cannot create a table to refer from.
    `GRANT SELECT, REFERENCES ON TABLE ${list([TRAIL_MIGRATIONS_TABLE, APPROVALS_MIGRATIONS_TABLE, EVOLUTION_REVIEW_MIGRATIONS_TABLE])} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ${list(WORKING_TABLES)} TO ${role}`,
  ];
  for (const statement of statements) await owner.query(statement);
}

/**
 * Migrates the bot's database as the owner role and restricts the bot's role; safe to repeat and
 * to run from several replicas at once (migrations hold an advisory lock; grants are idempotent).
 */
export async function prepareBotDatabase(setup: BotDatabaseSetup): Promise<BotDatabaseRoles> {
  const runtime = await roleOf(setup.runtimeUrl);
  const ownerRole = await roleOf(setup.ownerUrl);
  const owner = createPool({ databaseUrl: setup.ownerUrl, max: 1, applicationName: 'acgs-bot-migrations' });
  try {
    const restricted = runtime.name !== ownerRole.name;
    if (restricted) {
      const taken = await takeOverTrail(owner, runtime.name);
      if (taken.length > 0) setup.log?.(`took the audit trail's ${taken.join(', ')} over from the bot's role "${runtime.name}"`);
    }
    await createTrailStore(owner).initialize();
    await migrateApprovalStore(owner, setup.log);
    await migrateEvolutionReviewCards(owner, setup.log);
    if (restricted) await grantRuntimeAccess(owner, runtime.name);
    return { runtimeRole: runtime.name, ownerRole: ownerRole.name, restricted, runtimeIsSuperuser: runtime.superuser };
  } finally {
    await owner.end().catch(() => undefined);
  }
}
