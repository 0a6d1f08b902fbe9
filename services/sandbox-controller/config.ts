import { join } from 'node:path';
import { z } from 'zod';

export const DEFAULT_SANDBOX_IMAGE = 'acgs-test/busybox:latest';
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

const PositiveInt = (max: number, min = 1) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z.object({
  POLICY_ENGINE_URL: z.url().default('http://127.0.0.1:8004'),
  AUDIT_ENGINE_URL: z.url().default('http://127.0.0.1:8003'),
  ACGS_STATE_DIR: z.string().min(1).default('.acgs/sandbox-controller'),
  /** Where audit events wait until the Audit Engine takes them; defaults inside ACGS_STATE_DIR. */
  AUDIT_SPOOL_DIR: z.string().min(1).optional(),
  /** Guards the /admin endpoints; unset keeps them closed (401) rather than open. */
  ACGS_ADMIN_TOKEN: z.string().min(1).optional(),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|http):\/\//, 'must look like unix:///var/run/docker.sock or tcp://127.0.0.1:2375')
    .default(DEFAULT_DOCKER_HOST),
  SANDBOX_IMAGE: z.string().min(1).default(DEFAULT_SANDBOX_IMAGE),
  /** Enables `language: "node"`; e.g. acgs-test/node:latest. */
  SANDBOX_NODE_IMAGE: z.string().min(1).optional(),
  /** `auto`: gVisor when the engine has a working runsc, else hardened runc. */
  SANDBOX_RUNTIME: z.enum(['auto', 'runsc', 'runc']).default('auto'),
  SANDBOX_MAX_CONCURRENT: PositiveInt(256).default(4),
  SANDBOX_OUTPUT_LIMIT_BYTES: PositiveInt(16 * 1024 * 1024).default(64 * 1024),
  /** gVisor's own threads count against it: below 64 runsc containers fail to start. */
  SANDBOX_PIDS_LIMIT: PositiveInt(4096, 64).default(128),
  SANDBOX_TMPFS_MB: PositiveInt(1024).default(64),
  POLICY_TIMEOUT_MS: PositiveInt(60_000).default(2000),
});

export interface SandboxConfig {
  policyEngineUrl: string;
  auditEngineUrl: string;
  /** The durable audit outbox: `AUDIT_SPOOL_DIR`, else `$ACGS_STATE_DIR/audit-outbox`. */
  auditSpoolDir: string;
  adminToken: string | undefined;
  dockerHost: string;
  image: string;
  nodeImage: string | undefined;
  runtime: 'auto' | 'runsc' | 'runc';
  maxConcurrent: number;
  outputLimitBytes: number;
  pidsLimit: number;
  tmpfsMb: number;
  policyTimeoutMs: number;
}

/** Reads the configuration from the environment; a bad value throws naming the variable. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  // Empty strings mean "unset", as in shell `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`sandbox-controller configuration is invalid: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    policyEngineUrl: e.POLICY_ENGINE_URL,
    auditEngineUrl: e.AUDIT_ENGINE_URL,
    auditSpoolDir: e.AUDIT_SPOOL_DIR ?? join(e.ACGS_STATE_DIR, 'audit-outbox'),
    adminToken: e.ACGS_ADMIN_TOKEN,
    dockerHost: e.DOCKER_HOST,
    image: e.SANDBOX_IMAGE,
    nodeImage: e.SANDBOX_NODE_IMAGE,
    runtime: e.SANDBOX_RUNTIME,
    maxConcurrent: e.SANDBOX_MAX_CONCURRENT,
    outputLimitBytes: e.SANDBOX_OUTPUT_LIMIT_BYTES,
    pidsLimit: e.SANDBOX_PIDS_LIMIT,
    tmpfsMb: e.SANDBOX_TMPFS_MB,
    policyTimeoutMs: e.POLICY_TIMEOUT_MS,
  };
}
