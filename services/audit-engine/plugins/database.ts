import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { type RestrictionPlan, grantRuntimeRole, roleOf, takeOverFrom } from '../../kit/database-roles.js';
import { ensureChainHead } from '../../kit/hash-chain/chain-head.js';
import { chainRestrictionPlan } from '../../kit/hash-chain/chain-schema.js';
import { createPool, describeDatabaseError, ensureDatabaseExists, migrate } from '../../kit/postgres.js';
import type { AuditEngineConfig } from '../config.js';
import { AUDIT_CHAIN_TABLES, genesisChainHash } from '../hash-chain.js';
import fp from 'fastify-plugin';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'audit_engine_migrations';

/**
 * What DATABASE_URL's role may do when MIGRATIONS_DATABASE_URL names an owner role: append and
 * read events and checkpoints, move the head forward, read the bookkeeping table; it owns nothing,
 * so it cannot switch a trigger off (services/kit/hash-chain/chain-schema.ts).
 */
export const AUDIT_DATABASE_PLAN: RestrictionPlan = chainRestrictionPlan(AUDIT_CHAIN_TABLES, MIGRATIONS_TABLE);

/** Migrates as the owner role and restricts the runtime role; returns a line for the log. */
async function migrateAsOwner(ownerUrl: string, runtimeUrl: string, log: (message: string) => void): Promise<string> {
  const runtime = await roleOf(runtimeUrl);
  const owner = createPool({ databaseUrl: ownerUrl, max: 1, applicationName: 'acgs-audit-engine-migrations' });
  try {
    const ownerRole = (await owner.query<{ name: string }>('SELECT current_user AS name')).rows[0]!.name;
    const restricted = ownerRole !== runtime.name;
    if (restricted) {
      const taken = await takeOverFrom(owner, runtime.name, AUDIT_DATABASE_PLAN);
      if (taken.length > 0) log(`took ${taken.join(', ')} over from the runtime role "${runtime.name}"`);
    }
    await migrate(owner, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE, log });
    // The head row too: the runtime role may move it, not create it.
    await ensureChainHead(owner, AUDIT_CHAIN_TABLES, genesisChainHash());
    if (!restricted) return `migrations and appends both run as "${runtime.name}", which therefore owns the chain`;
    await grantRuntimeRole(owner, runtime.name, AUDIT_DATABASE_PLAN);
    return `migrated as "${ownerRole}"; appending as "${runtime.name}", which may only append${runtime.superuser ? ' (WARNING: a superuser, whom no grant restricts)' : ''}`;
  } finally {
    await owner.end().catch(() => undefined);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    auditDb: pg.Pool;
  }
}

export interface DatabasePluginOptions extends Record<string, unknown> {
  config: Pick<AuditEngineConfig, 'databaseUrl' | 'poolMax' | 'migrationsDatabaseUrl'>;
}

/**
 * The PostgreSQL pool; the database is created if missing and migrated before the app is ready,
 * and the pool closes with the app. Wrapped by fastify-plugin, so its decoration reaches every route.
 */
export const databasePlugin = fp<DatabasePluginOptions>(async (app, { config }) => {
  const pool = createPool({ databaseUrl: config.databaseUrl, max: config.poolMax, applicationName: 'acgs-audit-engine' });
  app.decorate('auditDb', pool);
  app.addHook('onReady', async () => {
    try {
      if (config.migrationsDatabaseUrl) {
        if (await ensureDatabaseExists(config.migrationsDatabaseUrl)) app.log.info('created the audit database');
        app.log.info(await migrateAsOwner(config.migrationsDatabaseUrl, config.databaseUrl, (message) => app.log.debug(message)));
      } else if (await ensureDatabaseExists(config.databaseUrl)) app.log.info('created the audit database');
      // With an owner role this only finds nothing pending (the runtime role may read the bookkeeping table).
      const applied = await migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE, log: (message) => app.log.debug(message) });
      if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
    } catch (error) {
      throw new Error(describeDatabaseError(error, config.databaseUrl), { cause: error });
    }
  });
  app.addHook('onClose', async () => {
    await pool.end();
  });
});
