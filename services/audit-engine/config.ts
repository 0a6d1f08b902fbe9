import { z } from 'zod';
import { SERVICE_PORTS } from '../kit/constitution.js';
import { redactDatabaseUrl } from '../kit/postgres.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/acgs_audit';

export interface AuditEngineConfig {
  databaseUrl: string;
  port: number;
  host: string;
  /** Connections in the pool; 1 for single-session databases such as the embedded PGlite. */
  poolMax: number;
  bodyLimitBytes: number;
  /** Most events one group-commit transaction takes (requests are never split). */
  maxGroupEvents: number;
  /** Rows read per query while verify walks the chain. */
  verifyBatchSize: number;
}

const IntegerFromEnv = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\/./.test(value) && URL.canParse(value), 'must be a postgres:// URL')
    .default(DEFAULT_DATABASE_URL),
  PORT: IntegerFromEnv(0, 65535).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_POOL_MAX: IntegerFromEnv(1, 100).default(10),
  AUDIT_BODY_LIMIT_BYTES: IntegerFromEnv(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  AUDIT_MAX_GROUP_EVENTS: IntegerFromEnv(1, 100_000).default(5000),
  AUDIT_VERIFY_BATCH_SIZE: IntegerFromEnv(1, 100_000).default(1000),
});

/** Reads the Audit Engine's settings from the environment; a bad value names its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AuditEngineConfig {
  // Empty variables count as unset, as shells and compose files often leave them empty.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const shown = name === 'DATABASE_URL' ? redactDatabaseUrl(String(env[name])) : env[name];
      return `${name} ${issue.message} (got "${shown}")`;
    });
    throw new Error(`Invalid audit-engine configuration: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  return {
    databaseUrl: values.DATABASE_URL,
    port: values.PORT ?? SERVICE_PORTS['audit-engine'],
    host: values.HOST,
    poolMax: values.DATABASE_POOL_MAX,
    bodyLimitBytes: values.AUDIT_BODY_LIMIT_BYTES,
    maxGroupEvents: values.AUDIT_MAX_GROUP_EVENTS,
    verifyBatchSize: values.AUDIT_VERIFY_BATCH_SIZE,
  };
}
