import { join } from 'node:path';
import { z } from 'zod';
import { SERVICE_PORTS } from '../kit/service-ports.js';
import { HttpUrl, Port, SecretToken, WholeNumber, parseEnv } from '../kit/env.js';
import { DatabasePoolMax, DatabaseUrl } from '../kit/postgres.js';

const EnvSchema = z.object({
  PORT: Port.default(SERVICE_PORTS['evolution-oversight']),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: DatabaseUrl.default('postgres://postgres@127.0.0.1:5432/acgs_evolution'),
  DATABASE_POOL_MAX: DatabasePoolMax.default(10),
  POLICY_ENGINE_URL: HttpUrl.default('http://127.0.0.1:8004'),
  POLICY_ENGINE_TIMEOUT_MS: WholeNumber(50, 60_000).default(3000),
  AUDIT_ENGINE_URL: HttpUrl.default('http://127.0.0.1:8003'),
  /** The service's own state directory (npm start gives each service one). */
  ACGS_STATE_DIR: z.string().min(1).default(join('.acgs', 'evolution-oversight')),
  /** Where audit events wait until the Audit Engine takes them; defaults inside ACGS_STATE_DIR. */
  AUDIT_SPOOL_DIR: z.string().min(1).optional(),
  /** Required by proposals and reviews, and sent with this service's own audit events. */
  ACGS_SERVICE_TOKEN: SecretToken.optional(),
});

export interface EvolutionOversightConfig {
  port: number;
  host: string;
  databaseUrl: string;
  databasePoolMax: number;
  policyEngineUrl: string;
  policyEngineTimeoutMs: number;
  auditEngineUrl: string;
  auditSpoolDir: string;
  /** How often queued audit events are pushed; tests shorten it. */
  auditFlushIntervalMs?: number;
  /**
   * ACGS_SERVICE_TOKEN: what proposals and reviews require (unset keeps them closed, 401), and
   * what this service's audit outbox sends to the Audit Engine.
   */
  serviceToken?: string | undefined;
}

/** Reads the configuration from the environment; a bad value fails naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EvolutionOversightConfig {
  const e = parseEnv(EnvSchema, 'evolution-oversight', env);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    policyEngineUrl: e.POLICY_ENGINE_URL,
    policyEngineTimeoutMs: e.POLICY_ENGINE_TIMEOUT_MS,
    auditEngineUrl: e.AUDIT_ENGINE_URL,
    auditSpoolDir: e.AUDIT_SPOOL_DIR ?? join(e.ACGS_STATE_DIR, 'audit-spool'),
    serviceToken: e.ACGS_SERVICE_TOKEN,
  };
}
