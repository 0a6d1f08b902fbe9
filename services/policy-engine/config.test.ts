import { describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES, DEFAULT_POLICY_WASM_PATH, loadConfig } from './config.js';

describe('policy engine configuration', () => {
  it('has working defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8004,
      host: '127.0.0.1',
      policyWasmPath: DEFAULT_POLICY_WASM_PATH,
      watchPolicy: true,
      stateDir: '.acgs/policy-engine/',
      auditEngineUrl: 'http://127.0.0.1:8003',
      redisUrl: undefined,
      adminToken: undefined,
      l1CacheSize: 10_000,
      l2LookupMinEvalMs: 0.5,
      bodyLimit: BODY_LIMIT_BYTES,
    });
    expect(DEFAULT_POLICY_WASM_PATH).toMatch(/services\/policy-engine\/policy\.wasm$/);
  });

  it('reads the environment and treats empty values as unset', () => {
    const config = loadConfig({
      POLICY_L1_CACHE_SIZE: '500',
      POLICY_WATCH: 'false',
      REDIS_URL: '',
      ACGS_ADMIN_TOKEN: 'a'.repeat(32),
      ACGS_SERVICE_TOKEN: 's'.repeat(32),
      POLICY_L2_LOOKUP_MIN_EVAL_MS: '0',
    });
    expect(config).toMatchObject({ l1CacheSize: 500, watchPolicy: false, redisUrl: undefined, adminToken: 'a'.repeat(32), serviceToken: 's'.repeat(32), l2LookupMinEvalMs: 0 });
  });

  it.each([
    ['POLICY_L1_CACHE_SIZE', 'lots'],
    ['POLICY_L1_CACHE_SIZE', '0'],
    ['POLICY_L1_CACHE_SIZE', '1e3'],
    ['POLICY_WATCH', 'maybe'],
    ['PORT', '99999'],
    ['REDIS_URL', 'not a url'],
    ['AUDIT_ENGINE_URL', '127.0.0.1:8003'],
    ['AUDIT_ENGINE_URL', 'ftp://127.0.0.1:8003'],
    ['MODE_SYNC_INTERVAL_MS', '-5'],
    ['POLICY_L2_LOOKUP_MIN_EVAL_MS', '-0.1'],
    ['POLICY_L2_LOOKUP_MIN_EVAL_MS', 'fast'],
    ['ACGS_ADMIN_TOKEN', 's'],
    ['ACGS_ADMIN_TOKEN', 'x'.repeat(31)],
    ['ACGS_SERVICE_TOKEN', 'x'.repeat(31)],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`Invalid policy-engine configuration: .*${name}`));
  });

  it('reads where to listen from PORT and HOST', () => {
    expect(loadConfig({ PORT: '0', HOST: '0.0.0.0' })).toMatchObject({ port: 0, host: '0.0.0.0' });
  });

  it('lists every bad variable in one error without repeating the REDIS_URL password', () => {
    const attempt = () => loadConfig({ PORT: 'http', REDIS_URL: 'redis://:hunter2@', POLICY_WATCH: 'maybe' });
    expect(attempt).toThrow(/PORT: .*; .*POLICY_WATCH: must be true or false/);
    expect(attempt).not.toThrow(/hunter2/);
  });
});
