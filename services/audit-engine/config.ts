import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SERVICE_PORTS } from '../kit/service-ports.js';
import { Port, SecretToken, WholeNumber, parseEnv } from '../kit/env.js';
import { DatabasePoolMax, DatabaseUrl } from '../kit/postgres.js';

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
  /** Pause between background verifications (the first runs at start-up); 0 disables them. */
  verifyIntervalMs: number;
  /**
   * MIGRATIONS_DATABASE_URL: the owner role that runs the migrations and grants DATABASE_URL's role
   * only INSERT/SELECT on the events (README.md, "Two roles"); unset, DATABASE_URL's role does both.
   */
  migrationsDatabaseUrl?: string | undefined;
  /** The checkpoint signing key: AUDIT_CHECKPOINT_SIGNING_KEY, else this file (created 0600). */
  checkpointKey: { value: string | undefined; file: string };
  /**
   * The newest checkpoint is also kept in this file, outside the database: `<ACGS_STATE_DIR>/audit-checkpoint.json`,
   * only when ACGS_STATE_DIR is set (the file belongs to one database; processes sharing the default directory may not share one).
   */
  checkpointFile?: string | undefined;
  /** A signed checkpoint once this many events were appended since the last one... */
  checkpointEveryEvents: number;
  /** ...and at least this often while events arrive; also at shutdown. */
  checkpointIntervalMs: number;
  /** ACGS_SERVICE_TOKEN: what `POST /audit/events` requires; unset keeps it closed (401). */
  serviceToken?: string | undefined;
  /** ACGS_ADMIN_TOKEN: what the admin endpoint (`POST /audit/admin/reanchor`) requires; unset keeps it closed (401). */
  adminToken?: string | undefined;
}

const EnvSchema = z.object({
  DATABASE_URL: DatabaseUrl.default(DEFAULT_DATABASE_URL),
  PORT: Port.default(SERVICE_PORTS['audit-engine']),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_POOL_MAX: DatabasePoolMax.default(10),
  AUDIT_BODY_LIMIT_BYTES: WholeNumber(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  AUDIT_MAX_GROUP_EVENTS: WholeNumber(1, 100_000).default(5000),
  AUDIT_VERIFY_BATCH_SIZE: WholeNumber(1, 100_000).default(1000),
  AUDIT_VERIFY_INTERVAL_MS: WholeNumber(0, 7 * 24 * 3600 * 1000).default(10 * 60 * 1000),
  MIGRATIONS_DATABASE_URL: DatabaseUrl.optional(),
  AUDIT_CHECKPOINT_SIGNING_KEY: z.string().min(1).optional(),
  ACGS_STATE_DIR: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_EVERY_EVENTS: WholeNumber(1, 1_000_000).default(1000),
  AUDIT_CHECKPOINT_INTERVAL_MS: WholeNumber(1000, 24 * 3600 * 1000).default(60 * 1000),
  ACGS_SERVICE_TOKEN: SecretToken.optional(),
  ACGS_ADMIN_TOKEN: SecretToken.optional(),
});

/** Reads the Audit Engine's settings from the environment; a bad value names its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AuditEngineConfig {
  const values = parseEnv(EnvSchema, 'audit-engine', env);
  return {
    databaseUrl: values.DATABASE_URL,
    port: values.PORT,
    host: values.HOST,
    poolMax: values.DATABASE_POOL_MAX,
    bodyLimitBytes: values.AUDIT_BODY_LIMIT_BYTES,
    maxGroupEvents: values.AUDIT_MAX_GROUP_EVENTS,
    verifyBatchSize: values.AUDIT_VERIFY_BATCH_SIZE,
    verifyIntervalMs: values.AUDIT_VERIFY_INTERVAL_MS,
    migrationsDatabaseUrl: values.MIGRATIONS_DATABASE_URL,
    checkpointKey: { value: values.AUDIT_CHECKPOINT_SIGNING_KEY, file: join(resolve(values.ACGS_STATE_DIR ?? '.acgs'), 'audit-checkpoint-signing.key') },
    checkpointFile: values.ACGS_STATE_DIR ? join(resolve(values.ACGS_STATE_DIR), 'audit-checkpoint.json') : undefined,
    checkpointEveryEvents: values.AUDIT_CHECKPOINT_EVERY_EVENTS,
    checkpointIntervalMs: values.AUDIT_CHECKPOINT_INTERVAL_MS,
    serviceToken: values.ACGS_SERVICE_TOKEN,
    adminToken: values.ACGS_ADMIN_TOKEN,
  };
}
