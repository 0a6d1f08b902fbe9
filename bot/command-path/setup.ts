/**
 * Building the command path's two guards for a process (the bot, the CLI): the command gate
 * (policy, roles, the stack's modes) and the bot's audit trail (its PostgreSQL, its spool
 * directory). Both never stop a process from starting: a policy that cannot load gives the
 * fail-closed fallback, a database that is away gives a trail that spools.
 */
import { join, resolve } from 'node:path';
import { type AuditOutbox } from '../../services/kit/audit-outbox.js';
import { createPool } from '../../services/kit/postgres.js';
import { type AuditTrail, createAuditTrail, SpoolDirectoryInUseError } from '../audit-trail/index.js';
import type { TrailCheckpointSettings } from '../audit-trail/audit-trail.js';
import { Authorizer, type AuthorizationOverrides, authorizationDataFor, RoleResolver, type UserGroupDirectory } from '../authorization/index.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { createCommandGate, policyEngineModes, type CommandGate, type StackModes } from './command-gate.js';

export interface GateSetup {
  /** The config file's sections the gate reads. */
  config: { roles: Readonly<Record<string, readonly string[]>>; channels?: Readonly<Partial<Record<string, string>>>; authorization?: AuthorizationOverrides };
  /** Slack user groups, when the process has a Slack connection. */
  groups?: UserGroupDirectory;
  /** Defaults to the Policy Engine's modes through the services' client. */
  modes?: StackModes;
  services: Pick<CommandDependencies, 'policyEngine' | 'checkTimeoutMs'>;
  onProblem?: (problem: string) => void;
}

export interface LoadedGate {
  gate: CommandGate;
  authorizer: Authorizer;
  roles: RoleResolver;
}

/** The Policy Engine's modes (`GET /v1/metrics` -> `mode`), cached a few seconds. */
export function stackModesOf(services: Pick<CommandDependencies, 'policyEngine' | 'checkTimeoutMs'>): StackModes {
  return policyEngineModes(async () => (await services.policyEngine.metrics()).mode, { timeoutMs: services.checkTimeoutMs });
}

export async function loadCommandGate(setup: GateSetup): Promise<LoadedGate> {
  const authorizer = await Authorizer.load({
    data: authorizationDataFor(setup.config.authorization),
    ...(setup.onProblem ? { onProblem: setup.onProblem } : {}),
  });
  const roles = new RoleResolver({ roles: setup.config.roles, ...(setup.groups ? { groups: setup.groups } : {}) });
  const gate = createCommandGate({
    authorizer,
    roles,
    modes: setup.modes ?? stackModesOf(setup.services),
    ...(setup.config.channels ? { channels: setup.config.channels } : {}),
  });
  return { gate, authorizer, roles };
}

/** Where a process's audit spool lives: `<ACGS_STATE_DIR>/bot-trail-spool/<instance>`. */
export function trailSpoolDir(stateDir: string, instance: string): string {
  return join(resolve(stateDir), 'bot-trail-spool', instance);
}

export interface TrailSetup {
  databaseUrl: string;
  /** Connections; 1 for PGlite (single-session). */
  poolMax: number;
  stateDir: string;
  /**
   * Spool directory names to try in order; the first one no running process holds is used. A
   * fixed name (not a pid) means a crashed process's spool is replayed by the next one to start.
   */
  instances: readonly string[];
  outbox?: Pick<AuditOutbox, 'record'>;
  log?: Parameters<typeof createAuditTrail>[0]['log'];
  applicationName: string;
  /**
   * Signed checkpoints (bot/audit-trail/trail-checkpoints.ts); the newest is also kept in the
   * spool directory the process claims, as `trail-checkpoint.json`.
   */
  checkpoints?: Omit<TrailCheckpointSettings, 'localFile'>;
}

export interface OpenedTrail {
  trail: AuditTrail;
  /** The trail's pool: the bot's other tables (the approval store) live in the same database. */
  pool: ReturnType<typeof createPool>;
  spoolDir: string;
  close(): Promise<void>;
}

export async function openCommandTrail(setup: TrailSetup): Promise<OpenedTrail> {
  const pool = createPool({ databaseUrl: setup.databaseUrl, max: setup.poolMax, applicationName: setup.applicationName });
  let lastError: unknown;
  for (const instance of setup.instances) {
    const spoolDir = trailSpoolDir(setup.stateDir, instance);
    const trail = createAuditTrail({
      pool,
      spoolDir,
      ...(setup.outbox ? { outbox: setup.outbox } : {}),
      ...(setup.log ? { log: setup.log } : {}),
      ...(setup.checkpoints ? { checkpoints: { ...setup.checkpoints, localFile: join(spoolDir, 'trail-checkpoint.json') } } : {}),
    });
    try {
      await trail.start();
    } catch (error) {
      lastError = error;
      if (error instanceof SpoolDirectoryInUseError) continue;
      await pool.end().catch(() => undefined);
      throw error;
    }
    return {
      trail,
      pool,
      spoolDir,
      async close() {
        await trail.close().catch(() => undefined);
        await pool.end().catch(() => undefined);
      },
    };
  }
  await pool.end().catch(() => undefined);
  throw new Error(
    `every audit spool directory is held by a running process (${setup.instances.map((instance) => trailSpoolDir(setup.stateDir, instance)).join(', ')}): ${(lastError as Error)?.message}. Give each bot replica its own ACGS_BOT_INSTANCE.`,
  );
}
