import { join } from 'node:path';
import { z } from 'zod';
import { SERVICE_PORTS } from '../kit/service-ports.js';
import { HttpUrl, Port, SecretToken, WholeNumber, parseEnv } from '../kit/env.js';

export const DEFAULT_SANDBOX_IMAGE = 'acgs-test/busybox:latest';
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

const EnvSchema = z.object({
  PORT: Port.default(SERVICE_PORTS['sandbox-controller']),
  HOST: z.string().min(1).default('127.0.0.1'),
  POLICY_ENGINE_URL: HttpUrl.default('http://127.0.0.1:8004'),
  AUDIT_ENGINE_URL: HttpUrl.default('http://127.0.0.1:8003'),
  ACGS_STATE_DIR: z.string().min(1).default('.acgs/sandbox-controller'),
  /** Where audit events wait until the Audit Engine takes them; defaults inside ACGS_STATE_DIR. */
  AUDIT_SPOOL_DIR: z.string().min(1).optional(),
  /** Guards the /admin endpoints; unset keeps them closed (401) rather than open. */
  ACGS_ADMIN_TOKEN: SecretToken.optional(),
  /** Guards POST /sandbox/execute and goes with this service's audit events; unset keeps execute closed (401). */
  ACGS_SERVICE_TOKEN: SecretToken.optional(),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|http):\/\//, 'must look like unix:///var/run/docker.sock or tcp://127.0.0.1:2375')
    .default(DEFAULT_DOCKER_HOST),
  SANDBOX_IMAGE: z.string().min(1).default(DEFAULT_SANDBOX_IMAGE),
  /** Enables `language: "node"`; e.g. acgs-test/node:latest. */
  SANDBOX_NODE_IMAGE: z.string().min(1).optional(),
  /** `auto`: gVisor when the engine has a working runsc, else hardened runc. */
  SANDBOX_RUNTIME: z.enum(['auto', 'runsc', 'runc'], { error: 'must be auto, runsc or runc' }).default('auto'),
  SANDBOX_MAX_CONCURRENT: WholeNumber(1, 256).default(4),
  SANDBOX_OUTPUT_LIMIT_BYTES: WholeNumber(1, 16 * 1024 * 1024).default(64 * 1024),
  /** gVisor's own threads count against it: below 64 runsc containers fail to start. */
  SANDBOX_PIDS_LIMIT: WholeNumber(64, 4096).default(128),
  SANDBOX_TMPFS_MB: WholeNumber(1, 1024).default(64),
  POLICY_TIMEOUT_MS: WholeNumber(1, 60_000).default(2000),
  /** /admin/prune-sandboxes keeps an exited sandbox this long: the controller that ran it may still be reading it. */
  SANDBOX_PRUNE_GRACE_SECONDS: WholeNumber(0, 3600).default(30),
});

export interface SandboxConfig {
  port: number;
  host: string;
  policyEngineUrl: string;
  auditEngineUrl: string;
  /** The durable audit outbox: `AUDIT_SPOOL_DIR`, else `$ACGS_STATE_DIR/audit-outbox`. */
  auditSpoolDir: string;
  adminToken: string | undefined;
  /** ACGS_SERVICE_TOKEN: what `execute` requires, and what the audit outbox sends. */
  serviceToken?: string | undefined;
  dockerHost: string;
  image: string;
  nodeImage: string | undefined;
  runtime: 'auto' | 'runsc' | 'runc';
  maxConcurrent: number;
  outputLimitBytes: number;
  pidsLimit: number;
  tmpfsMb: number;
  policyTimeoutMs: number;
  pruneGraceSeconds: number;
}

/** Reads the configuration from the environment; every bad value is named in one error, secrets never shown. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const e = parseEnv(EnvSchema, 'sandbox-controller', env);
  return {
    port: e.PORT,
    host: e.HOST,
    policyEngineUrl: e.POLICY_ENGINE_URL,
    auditEngineUrl: e.AUDIT_ENGINE_URL,
    auditSpoolDir: e.AUDIT_SPOOL_DIR ?? join(e.ACGS_STATE_DIR, 'audit-outbox'),
    adminToken: e.ACGS_ADMIN_TOKEN,
    serviceToken: e.ACGS_SERVICE_TOKEN,
    dockerHost: e.DOCKER_HOST,
    image: e.SANDBOX_IMAGE,
    nodeImage: e.SANDBOX_NODE_IMAGE,
    runtime: e.SANDBOX_RUNTIME,
    maxConcurrent: e.SANDBOX_MAX_CONCURRENT,
    outputLimitBytes: e.SANDBOX_OUTPUT_LIMIT_BYTES,
    pidsLimit: e.SANDBOX_PIDS_LIMIT,
    tmpfsMb: e.SANDBOX_TMPFS_MB,
    policyTimeoutMs: e.POLICY_TIMEOUT_MS,
    pruneGraceSeconds: e.SANDBOX_PRUNE_GRACE_SECONDS,
  };
}
