/**
 * Everything a command may talk to, built once per process from the environment: the service
 * clients, the Stack port, the ports to the stack's PostgreSQL and Redis (StackDatabase,
 * StackRedis: the SQL and Redis commands stay in services/stack/), and the bot's audit log (a port,
 * ports.ts). Commands receive this object and never read env or construct clients themselves, so
 * tests hand them a stack on other ports and the CLI and the bot share one construction. The bot's
 * command path holds more than this (bot/command-path/command-path-dependencies.ts).
 */
import { createAuditEngineClient, type AuditEngineClient } from '../services/clients/audit-engine.js';
import { createEvolutionOversightClient, type EvolutionOversightClient } from '../services/clients/evolution-oversight.js';
import { createPolicyEngineClient, type PolicyEngineClient } from '../services/clients/policy-engine.js';
import { sandboxControllerClient, type SandboxControllerClient } from '../services/clients/sandbox-controller.js';
import { SERVICE_NAMES, SERVICE_PORTS, type ServiceName } from '../services/kit/service-ports.js';
import type { StackDatabase } from '../services/stack/stack-database.js';
import type { StackRedis } from '../services/stack/stack-redis.js';
import type { Stack } from '../services/stack/stack.js';
import type { Alerts, AuditLogReader, BackupCatalog, Checklists, Deployments, Incidents, Reports, RunbookRuns, Schedules } from './ports.js';

export interface CommandDependencies {
  /** Base URL of each service. */
  endpoints: Readonly<Record<ServiceName, string>>;
  policyEngine: PolicyEngineClient;
  auditEngine: AuditEngineClient;
  evolutionOversight: EvolutionOversightClient;
  sandboxController: SandboxControllerClient;
  /** The stack's PostgreSQL (the StackDatabase port) when DATABASE_URL is set; absent with the embedded (PGlite) default. */
  database?: StackDatabase;
  /** The stack's Redis (the StackRedis port) when REDIS_URL is set; absent in the embedded default. */
  redis?: StackRedis;
  /** How long one health probe may take before it counts as failed. */
  checkTimeoutMs: number;
  /** The Stack port (Docker containers or local processes); commands that need it refuse without it. */
  stack?: Stack;
  /** Why there is no stack, when choosing one failed (shown by the commands that need it). */
  stackProblem?: string;
  /**
   * The bot's own audit trail, as commands read it (`audit`, `audit verify`, `can`). Without it
   * `audit` says it is not set up (and the command path refuses commands that change the stack).
   */
  trail?: AuditLogReader;
  /** Why there is no trail, when this process could have had one (the CLI: no DATABASE_URL and no npm start). */
  trailProblem?: string;
  /**
   * The bot's runbook engine (runs in its database, a runner in its process). Without it the run
   * commands say the engine is not set up.
   */
  runs?: RunbookRuns;
  /** The backups the bot's `backup` runbook writes; without it `backups` says it is not set up. */
  backups?: BackupCatalog;
  /** Why there are no runs nor backups, when this process could have had them (the CLI: no DATABASE_URL and no npm start). */
  runsProblem?: string;
  /** The runbook's checklists, started and ticked in the bot's database; without it the checklist commands say they are not set up. */
  checklists?: Checklists;
  /** What is deployed and the deploy lock (the bot's records); without it `releases` and `deploy status|unlock` say they are not set up. */
  deployments?: Deployments;
  /** Why there are no deployment records, when this process could have had them (the CLI without DATABASE_URL). */
  deploymentsProblem?: string;
  /** Why there are no checklists, when this process could have had them (the CLI: no DATABASE_URL and no npm start lending them). */
  checklistsProblem?: string;
  /** The bot's alerts (both sources, one store); without it the alert commands say they are not set up. */
  alerts?: Alerts;
  /** Why there are no alerts, when this process could have had them (the CLI without DATABASE_URL). */
  alertsProblem?: string;
  /** The bot's scheduler (bot/schedules); without it `schedule` says it is not set up. */
  schedules?: Schedules;
  /** Why there is no scheduler here, when the caller could reach one elsewhere (the CLI). */
  schedulesProblem?: string;
  /** The reports (bot/reports/); without it `report daily` says they are not set up. */
  reports?: Reports;
  /** Why there are no reports, when this process could have had them (the CLI without DATABASE_URL). */
  reportsProblem?: string;
  /** The bot's incidents (bot/incidents); without it the incident commands say they are not set up. */
  incidents?: Incidents;
  /** Why there are no incidents, when this process could have had them (the CLI without DATABASE_URL). */
  incidentsProblem?: string;
}

export interface ServiceEndpointsEnv {
  POLICY_ENGINE_URL?: string;
  AUDIT_ENGINE_URL?: string;
  EVOLUTION_OVERSIGHT_URL?: string;
  SANDBOX_CONTROLLER_URL?: string;
}

const envKey: Record<ServiceName, keyof ServiceEndpointsEnv> = {
  'policy-engine': 'POLICY_ENGINE_URL',
  'audit-engine': 'AUDIT_ENGINE_URL',
  'evolution-oversight': 'EVOLUTION_OVERSIGHT_URL',
  'sandbox-controller': 'SANDBOX_CONTROLLER_URL',
};

/** Service URLs from `<SERVICE>_URL`, defaulting to the firm ports on loopback. */
export function serviceEndpoints(env: ServiceEndpointsEnv = process.env): Record<ServiceName, string> {
  const endpoints = {} as Record<ServiceName, string>;
  for (const name of SERVICE_NAMES) endpoints[name] = env[envKey[name]] ?? `http://127.0.0.1:${SERVICE_PORTS[name]}`;
  return endpoints;
}

export interface CommandDependenciesOptions {
  endpoints: Record<ServiceName, string>;
  adminToken?: string;
  /** ACGS_SERVICE_TOKEN: sent with audit events, evolution reviews and sandbox executions. */
  serviceToken?: string;
  database?: StackDatabase;
  redis?: StackRedis;
  checkTimeoutMs?: number;
  /** Timeout of ordinary (non-health) service calls. */
  callTimeoutMs?: number;
  stack?: Stack;
  stackProblem?: string;
}

/** The clients and connections; the bot adds its audit trail (bot/command-path/command-path-dependencies.ts). */
export function createCommandDependencies(options: CommandDependenciesOptions): Omit<CommandDependencies, 'trail' | 'trailProblem' | 'runs' | 'backups' | 'runsProblem' | 'checklists' | 'checklistsProblem' | 'deployments' | 'deploymentsProblem' | 'alerts' | 'alertsProblem' | 'reports' | 'reportsProblem' | 'schedulesProblem' | 'incidents' | 'incidentsProblem'> {
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const { endpoints } = options;
  return {
    endpoints,
    policyEngine: createPolicyEngineClient({
      baseUrl: endpoints['policy-engine'],
      adminToken: options.adminToken,
      actor: 'acgs-chatops',
      timeoutMs: callTimeoutMs,
    }),
    auditEngine: createAuditEngineClient(endpoints['audit-engine'], { timeoutMs: callTimeoutMs, serviceToken: options.serviceToken, adminToken: options.adminToken }),
    evolutionOversight: createEvolutionOversightClient(endpoints['evolution-oversight'], callTimeoutMs, { serviceToken: options.serviceToken }),
    sandboxController: sandboxControllerClient(endpoints['sandbox-controller'], {
      adminToken: options.adminToken,
      serviceToken: options.serviceToken,
      timeoutMs: callTimeoutMs,
    }),
    ...(options.database ? { database: options.database } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    checkTimeoutMs: options.checkTimeoutMs ?? 2000,
    ...(options.stack ? { stack: options.stack } : {}),
    ...(options.stackProblem ? { stackProblem: options.stackProblem } : {}),
  };
}
