/**
 * CommandPathDependencies for the stack a process is pointed at by its environment, shared by the CLI
 * and the bot so that `npx acgs health` and `/acgs health` look at the same things.
 */
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { HttpUrl, SecretToken, WholeNumber, parseEnv } from '../../services/kit/env.js';
import { DatabaseUrl } from '../../services/kit/postgres.js';
import { readTokenFile, tokenFile, type TokenKind } from '../../services/stack/local/local-tokens.js';
import { serviceEndpoints } from '../../commands/dependencies.js';
import { createCommandPathDependencies, type CommandPathDependencies } from './command-path-dependencies.js';
import { openStackPostgres, openStackRedis } from '../../services/stack/stack-connections.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';

const StackEnv = z.object({
  POLICY_ENGINE_URL: HttpUrl.optional(),
  AUDIT_ENGINE_URL: HttpUrl.optional(),
  EVOLUTION_OVERSIGHT_URL: HttpUrl.optional(),
  SANDBOX_CONTROLLER_URL: HttpUrl.optional(),
  DATABASE_URL: DatabaseUrl.optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL such as redis://127.0.0.1:6379' }).optional(),
  ACGS_ADMIN_TOKEN: SecretToken.optional(),
  ACGS_SERVICE_TOKEN: SecretToken.optional(),
  ACGS_STATE_DIR: z.string().min(1).default('.acgs'),
  /** Per-check timeout of `health` and the other probes. */
  ACGS_CHECK_TIMEOUT_MS: WholeNumber(100, 60_000).default(2000),
  /** Timeout of ordinary service calls (metrics, lists); verify allows itself more. */
  ACGS_CALL_TIMEOUT_MS: WholeNumber(100, 600_000).default(10_000),
});

export interface EnvDependencies {
  services: CommandPathDependencies;
  /** Where the admin token came from, for messages; never the token. */
  adminTokenSource: 'ACGS_ADMIN_TOKEN' | string | undefined;
  /** ACGS_SERVICE_TOKEN or the file `npm start` writes: what the services' write endpoints require. */
  serviceToken: string | undefined;
  /** Where the service token came from, for messages; never the token. */
  serviceTokenSource: 'ACGS_SERVICE_TOKEN' | string | undefined;
  /**
   * The ioredis client behind the commands' StackRedis port (REDIS_URL), which the bot also uses
   * for its own coordination (approval signals, the delivery ledger).
   */
  redisClient?: Redis;
  /** Closes the PostgreSQL pool and the Redis client, when there are any. */
  close(): Promise<void>;
}

/** A token from its variable, else from the file `npm start` wrote (mode and length checked), else none. */
function stackToken(kind: TokenKind, fromEnv: string | undefined, stateDir: string): { token: string | undefined; source: string | undefined } {
  if (fromEnv) return { token: fromEnv, source: kind === 'admin' ? 'ACGS_ADMIN_TOKEN' : 'ACGS_SERVICE_TOKEN' };
  const file = tokenFile(stateDir, kind);
  const token = readTokenFile(file);
  return { token, source: token ? file : undefined };
}

/**
 * Reads the stack's addresses from the environment: service URLs (`POLICY_ENGINE_URL` ... or the
 * firm ports), `DATABASE_URL`, `REDIS_URL`, the admin token from `ACGS_ADMIN_TOKEN` and the
 * service token from `ACGS_SERVICE_TOKEN`, or from the files `npm start` writes
 * (`$ACGS_STATE_DIR/admin-token`, `service-token`; one that others may read is refused). Throws
 * one error naming every bad variable; secrets are never repeated.
 */
export function commandDependenciesFromEnv(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): EnvDependencies {
  const e = parseEnv(StackEnv, 'acgs', env);
  const stateDir = resolve(cwd, e.ACGS_STATE_DIR);
  const { token: adminToken, source: adminTokenSource } = stackToken('admin', e.ACGS_ADMIN_TOKEN, stateDir);
  const { token: serviceToken, source: serviceTokenSource } = stackToken('service', e.ACGS_SERVICE_TOKEN, stateDir);
  const postgres = e.DATABASE_URL ? openStackPostgres(e.DATABASE_URL, { connectTimeoutMs: e.ACGS_CHECK_TIMEOUT_MS }) : undefined;
  const redis = e.REDIS_URL ? openStackRedis(e.REDIS_URL, { connectTimeoutMs: e.ACGS_CHECK_TIMEOUT_MS }) : undefined;
  const services = createCommandPathDependencies({
    endpoints: serviceEndpoints(e),
    ...(adminToken ? { adminToken } : {}),
    ...(serviceToken ? { serviceToken } : {}),
    ...(postgres ? { database: stackDatabaseOn(postgres) } : {}),
    ...(redis ? { redis: stackRedisOn(redis) } : {}),
    checkTimeoutMs: e.ACGS_CHECK_TIMEOUT_MS,
    callTimeoutMs: e.ACGS_CALL_TIMEOUT_MS,
  });
  return {
    services,
    adminTokenSource,
    serviceToken,
    serviceTokenSource,
    ...(redis ? { redisClient: redis } : {}),
    async close() {
      await Promise.all([postgres?.end().catch(() => undefined), redis ? Promise.resolve(redis.disconnect()) : undefined]);
    },
  };
}
