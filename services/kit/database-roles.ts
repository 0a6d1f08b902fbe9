/**
 * Two database roles for a hash chain (issue 10, item 5): the owner role runs the migrations and
 * owns the tables; the runtime role, which the process runs as, gets only what it does. A role
 * that owns a table can switch its triggers off or replace its trigger functions, so the runtime
 * role must own none of the chain's objects: objects a former set-up left owned by it are taken
 * over by the owner role first.
 */
import pg from 'pg';
import { redactDatabaseUrl } from './postgres.js';

export interface DatabaseRole {
  name: string;
  superuser: boolean;
}

export async function roleOf(databaseUrl: string): Promise<DatabaseRole> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<DatabaseRole>('SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user');
    return rows[0]!;
  } catch (error) {
    throw new Error(`could not connect to ${redactDatabaseUrl(databaseUrl)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RestrictionPlan {
  /** Tables and functions (without arguments) the runtime role must not own. */
  ownedTables: readonly string[];
  ownedFunctions: readonly string[];
  /** Revoked from the runtime role before the grants, so nothing earlier lingers. */
  revokeAllOn: readonly string[];
  grants: readonly { privileges: string; tables: readonly string[] }[];
}

const list = (names: readonly string[]) => names.map((name) => pg.escapeIdentifier(name)).join(', ');

/** Takes the plan's objects over from the runtime role (returns their names); throws a message saying what to do. */
export async function takeOverFrom(owner: pg.Pool, runtimeRole: string, plan: Pick<RestrictionPlan, 'ownedTables' | 'ownedFunctions'>): Promise<string[]> {
  const taken: string[] = [];
  const tables = await owner.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]) AND pg_get_userbyid(c.relowner) = $2`,
    [plan.ownedTables, runtimeRole],
  );
  const functions = await owner.query<{ name: string }>(
    `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = current_schema() AND p.proname = ANY($1::text[]) AND pg_get_userbyid(p.proowner) = $2`,
    [plan.ownedFunctions, runtimeRole],
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
      `the chain's tables are owned by the runtime role "${runtimeRole}", and the migrations role could not take them over (${(error as Error).message}): run once with a superuser, or a role that is a member of "${runtimeRole}"`,
      { cause: error },
    );
  }
  return taken;
}

/** Grants the runtime role exactly the plan's privileges; idempotent. */
export async function grantRuntimeRole(owner: pg.Pool, runtimeRole: string, plan: Pick<RestrictionPlan, 'revokeAllOn' | 'grants'>): Promise<void> {
  const role = pg.escapeIdentifier(runtimeRole);
  await owner.query(`REVOKE ALL ON TABLE ${list(plan.revokeAllOn)} FROM ${role}`);
  for (const grant of plan.grants) await owner.query(`GRANT ${grant.privileges} ON TABLE ${list(grant.tables)} TO ${role}`);
}
