import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SERVICE_PORTS } from '../kit/service-ports.js';
import { HttpUrl, Port, SecretToken, WholeNumber, parseEnv } from '../kit/env.js';

/** The committed, compiled constitution (built by scripts/build-policy.sh). */
export const DEFAULT_POLICY_WASM_PATH = fileURLToPath(new URL('./policy.wasm', import.meta.url));

const Flag = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((value) => value === 'true' || value === '1');

/** Environment variables of the Policy Engine; README.md documents each. */
const PolicyEngineEnv = z.object({
  PORT: Port.default(SERVICE_PORTS['policy-engine']),
  HOST: z.string().min(1).default('127.0.0.1'),
  POLICY_WASM_PATH: z.string().min(1).default(DEFAULT_POLICY_WASM_PATH),
  POLICY_WATCH: Flag.default(true),
  POLICY_WATCH_DEBOUNCE_MS: WholeNumber(1, 60_000).default(250),
  ACGS_ADMIN_TOKEN: SecretToken.optional(),
  /** Sent with the Policy Engine's audit events (safety violations, mode changes). */
  ACGS_SERVICE_TOKEN: SecretToken.optional(),
  ACGS_STATE_DIR: z.string().min(1).default('.acgs/policy-engine/'),
  AUDIT_ENGINE_URL: HttpUrl.default('http://127.0.0.1:8003'),
  REDIS_URL: z.url({ error: 'must be a URL such as redis://127.0.0.1:6379' }).optional(),
  REDIS_KEY_PREFIX: z.string().min(1).max(64).default('acgs:policy-engine:'),
  POLICY_L1_CACHE_SIZE: WholeNumber(1, 10_000_000).default(10_000),
  POLICY_L2_TTL_SECONDS: WholeNumber(1, 30 * 24 * 3600).default(3600),
  REDIS_COMMAND_TIMEOUT_MS: WholeNumber(1, 10_000).default(50),
  MODE_SYNC_INTERVAL_MS: WholeNumber(1, 3_600_000).default(1000),
  POLICY_L2_LOOKUP_MIN_EVAL_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .min(0, 'must be 0 (always ask Redis first) or more')
    .max(60_000)
    .default(0.5),
});

export interface PolicyEngineConfig {
  port: number;
  host: string;
  policyWasmPath: string;
  watchPolicy: boolean;
  watchDebounceMs: number;
  adminToken: string | undefined;
  /** ACGS_SERVICE_TOKEN, which the Audit Engine requires of the audit outbox. */
  serviceToken?: string | undefined;
  stateDir: string;
  auditEngineUrl: string;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  l1CacheSize: number;
  l2TtlSeconds: number;
  redisCommandTimeoutMs: number;
  modeSyncIntervalMs: number;
  /**
   * An L1 miss asks Redis first only while the policy's evaluations average at least this
   * long; cheaper ones are evaluated at once. 0: always ask Redis first.
   */
  l2LookupMinEvalMs: number;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimit: number;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

/** Parses the environment; every bad value is named in one error, secrets never shown. */
export function loadConfig(env: Record<string, string | undefined> = process.env): PolicyEngineConfig {
  const e = parseEnv(PolicyEngineEnv, 'policy-engine', env);
  return {
    port: e.PORT,
    host: e.HOST,
    policyWasmPath: e.POLICY_WASM_PATH,
    watchPolicy: e.POLICY_WATCH,
    watchDebounceMs: e.POLICY_WATCH_DEBOUNCE_MS,
    adminToken: e.ACGS_ADMIN_TOKEN,
    serviceToken: e.ACGS_SERVICE_TOKEN,
    stateDir: e.ACGS_STATE_DIR,
    auditEngineUrl: e.AUDIT_ENGINE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    l1CacheSize: e.POLICY_L1_CACHE_SIZE,
    l2TtlSeconds: e.POLICY_L2_TTL_SECONDS,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    modeSyncIntervalMs: e.MODE_SYNC_INTERVAL_MS,
    l2LookupMinEvalMs: e.POLICY_L2_LOOKUP_MIN_EVAL_MS,
    bodyLimit: BODY_LIMIT_BYTES,
  };
}
