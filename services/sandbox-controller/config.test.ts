import { describe, expect, it } from 'vitest';
import { DEFAULT_DOCKER_HOST, DEFAULT_SANDBOX_IMAGE, configFromEnv } from './config.js';

describe('sandbox controller configuration', () => {
  it('has working defaults with nothing set', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({
      image: DEFAULT_SANDBOX_IMAGE,
      dockerHost: DEFAULT_DOCKER_HOST,
      runtime: 'auto',
      maxConcurrent: 4,
      outputLimitBytes: 65536,
      policyEngineUrl: 'http://127.0.0.1:8004',
    });
    expect(config.nodeImage).toBeUndefined();
    expect(config.auditSpoolDir).toBe('.acgs/sandbox-controller/audit-outbox');
  });

  it('keeps the audit outbox under ACGS_STATE_DIR', () => {
    expect(configFromEnv({ ACGS_STATE_DIR: '/var/lib/acgs/sandbox' }).auditSpoolDir).toBe('/var/lib/acgs/sandbox/audit-outbox');
  });

  it('spools audit events in AUDIT_SPOOL_DIR when it is set, as docker-compose.yml sets it', () => {
    const config = configFromEnv({ ACGS_STATE_DIR: '/var/lib/acgs', AUDIT_SPOOL_DIR: '/app/.acgs/spool/sandbox-controller' });
    expect(config.auditSpoolDir).toBe('/app/.acgs/spool/sandbox-controller');
    expect(configFromEnv({ ACGS_STATE_DIR: '/var/lib/acgs', AUDIT_SPOOL_DIR: '' }).auditSpoolDir).toBe('/var/lib/acgs/audit-outbox');
  });

  it('reads the admin token from ACGS_ADMIN_TOKEN and leaves it unset otherwise', () => {
    expect(configFromEnv({ ACGS_ADMIN_TOKEN: 'a-secret' }).adminToken).toBe('a-secret');
    expect(configFromEnv({}).adminToken).toBeUndefined();
  });

  it('reads the environment, treating empty values as unset', () => {
    expect(configFromEnv({ DOCKER_HOST: 'unix:///run/other/docker.sock' }).dockerHost).toBe('unix:///run/other/docker.sock');
    const config = configFromEnv({ SANDBOX_MAX_CONCURRENT: '2', SANDBOX_RUNTIME: 'runc', SANDBOX_NODE_IMAGE: 'acgs-test/node:latest', SANDBOX_IMAGE: '' });
    expect(config).toMatchObject({ maxConcurrent: 2, runtime: 'runc', nodeImage: 'acgs-test/node:latest', image: DEFAULT_SANDBOX_IMAGE });
  });

  it('names the variable when a value is invalid', () => {
    expect(() => configFromEnv({ SANDBOX_MAX_CONCURRENT: 'many' })).toThrow(/SANDBOX_MAX_CONCURRENT/);
    expect(() => configFromEnv({ SANDBOX_RUNTIME: 'kata' })).toThrow(/SANDBOX_RUNTIME/);
    expect(() => configFromEnv({ DOCKER_HOST: 'docker.sock' })).toThrow(/DOCKER_HOST/);
    expect(() => configFromEnv({ POLICY_ENGINE_URL: 'not a url' })).toThrow(/POLICY_ENGINE_URL/);
  });
});
