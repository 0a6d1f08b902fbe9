/**
 * The command path's guards for tests: the real authorization policy (wasm, default rules plus
 * the test's overrides) with the test's roles and fixed modes, and the bot's audit trail on a
 * fresh database of the real PostgreSQL with its own spool directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/index.js';
import { Authorizer, type AuthorizationOverrides, authorizationDataFor, RoleResolver } from '../../bot/authorization/index.js';
import { type CommandGate, createCommandGate, type EngineModes, fixedModes, type StackModes } from '../../bot/command-path/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export interface CommandAccess {
  authorization: CommandGate;
  trail?: AuditTrail;
}

/**
 * Scale as the interim rule had it (admins, at once), for tests about the handler. The default
 * rules' approval for Level 2 is tested with the command path (test/command-path/).
 */
export const SCALE_WITHOUT_APPROVALS = { commands: { scale: { level: 2, requesters: ['admins'], approvals: 0, approver_roles: [] } } };

export interface GateOptions {
  roles: Record<string, string[]>;
  overrides?: AuthorizationOverrides;
  modes?: EngineModes | StackModes;
  channels?: Record<string, string>;
}

export async function testGate(options: GateOptions): Promise<CommandGate> {
  const authorizer = await Authorizer.load({ data: authorizationDataFor(options.overrides) });
  if (!authorizer.status.ok) throw new Error(`the authorization policy did not load: ${authorizer.status.problem}`);
  const modes = options.modes === undefined ? fixedModes({ strict: false, lockdown: false }) : 'read' in options.modes ? options.modes : fixedModes(options.modes);
  return createCommandGate({ authorizer, roles: new RoleResolver({ roles: options.roles }), modes, ...(options.channels ? { channels: options.channels } : {}) });
}

export interface TestTrail {
  trail: AuditTrail;
  pool: pg.Pool;
  db: TestDatabase;
  spoolDir: string;
  close(): Promise<void>;
}

/** A started trail on its own database; `databaseUrl` lets a test put a proxy in front of it. */
export async function openTestTrail(options: { prefix?: string; databaseUrl?: (db: TestDatabase) => string; writeTimeoutMs?: number } = {}): Promise<TestTrail> {
  const db = await createTestDatabase(options.prefix ?? 'acgs_cmd_trail');
  const pool = createPool({ databaseUrl: options.databaseUrl?.(db) ?? db.url, max: 2, applicationName: 'acgs-command-trail-test' });
  const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-command-trail-'));
  const trail = createAuditTrail({ pool, spoolDir, writeTimeoutMs: options.writeTimeoutMs ?? 3000, retryMinMs: 50, retryMaxMs: 500 });
  await trail.start();
  return {
    trail,
    pool,
    db,
    spoolDir,
    async close() {
      await trail.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await db.drop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Gate and trail together, closed with one call. */
export async function openCommandAccess(options: GateOptions): Promise<CommandAccess & { close(): Promise<void> }> {
  const authorization = await testGate(options);
  const opened = await openTestTrail();
  return { authorization, trail: opened.trail, close: () => opened.close() };
}
