import { describe, expect, it } from 'vitest';
import { DEFAULT_DOCKER_HOST, DEFAULT_SANDBOX_IMAGE, loadConfig } from './config.js';

describe('sandbox controller configuration', () => {
  it('has working defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      image: DEFAULT_SANDBOX_IMAGE,
      dockerHost: DEFAULT_DOCKER_HOST,
      runtime: 'auto',
      maxConcurrent: 4,
      outputLimitBytes: 65536,
      policyEngineUrl: 'http://127.0.0.1:8004',
      port: 8001,
      host: '127.0.0.1',
      pruneGraceSeconds: 30,
    });
    expect(config.nodeImage).toBeUndefined();
    expect(config.auditSpoolDir).toBe('.acgs/sandbox-controller/audit-outbox');
  });

  it('keeps the audit outbox under ACGS_STATE_DIR', () => {
    expect(loadConfig({ ACGS_STATE_DIR: '/var/lib/acgs/sandbox' }).auditSpoolDir).toBe('/var/lib/acgs/sandbox/audit-outbox');
  });

  it('spools audit events in AUDIT_SPOOL_DIR when it is set, as docker-compose.yml sets it', () => {
    const config = loadConfig({ ACGS_STATE_DIR: '/var/lib/acgs', AUDIT_SPOOL_DIR: '/app/.acgs/spool/sandbox-controller' });
    expect(config.auditSpoolDir).toBe('/app/.acgs/spool/sandbox-controller');
    expect(loadConfig({ ACGS_STATE_DIR: '/var/lib/acgs', AUDIT_SPOOL_DIR: '' }).auditSpoolDir).toBe('/var/lib/acgs/audit-outbox');
  });

  it('reads the admin and service tokens from ACGS_ADMIN_TOKEN and ACGS_SERVICE_TOKEN and leaves them unset otherwise', () => {
    const admin = 'a'.repeat(32);
    const service = 's'.repeat(40);
    expect(loadConfig({ ACGS_ADMIN_TOKEN: admin, ACGS_SERVICE_TOKEN: service })).toMatchObject({ adminToken: admin, serviceToken: service });
    expect(loadConfig({})).toMatchObject({ adminToken: undefined, serviceToken: undefined });
  });

  it('refuses admin and service tokens shorter than 32 characters, naming the variable but never the value', () => {
    for (const name of ['ACGS_ADMIN_TOKEN', 'ACGS_SERVICE_TOKEN']) {
      for (const value of ['tiny-secret', 'a-secret-of-twenty-nine-chars', 'x'.repeat(31)]) {
        const attempt = () => loadConfig({ [name]: value });
        expect(attempt).toThrow(`${name}: must be at least 32 characters; generate one with: openssl rand -hex 32 (value hidden)`);
        expect(attempt).not.toThrow(value);
      }
    }
  });

  it('reads the environment, treating empty values as unset', () => {
    expect(loadConfig({ DOCKER_HOST: 'unix:///run/other/docker.sock' }).dockerHost).toBe('unix:///run/other/docker.sock');
    const config = loadConfig({ SANDBOX_MAX_CONCURRENT: '2', SANDBOX_RUNTIME: 'runc', SANDBOX_NODE_IMAGE: 'acgs-test/node:latest', SANDBOX_IMAGE: '' });
    expect(config).toMatchObject({ maxConcurrent: 2, runtime: 'runc', nodeImage: 'acgs-test/node:latest', image: DEFAULT_SANDBOX_IMAGE });
  });

  it('reads the prune grace period, 0 allowing an exited sandbox to go at once', () => {
    expect(loadConfig({ SANDBOX_PRUNE_GRACE_SECONDS: '0' }).pruneGraceSeconds).toBe(0);
    expect(loadConfig({ SANDBOX_PRUNE_GRACE_SECONDS: '120' }).pruneGraceSeconds).toBe(120);
  });

  it('reads PORT and HOST, where the service listens', () => {
    expect(loadConfig({ PORT: '0', HOST: '0.0.0.0' })).toMatchObject({ port: 0, host: '0.0.0.0' });
  });

  it.each([
    [{ SANDBOX_MAX_CONCURRENT: 'many' }, 'SANDBOX_MAX_CONCURRENT: must be a whole number from 1 to 256 (got "many")'],
    [{ SANDBOX_MAX_CONCURRENT: '0' }, 'SANDBOX_MAX_CONCURRENT: must be a whole number from 1 to 256 (got "0")'],
    [{ SANDBOX_PIDS_LIMIT: '32' }, 'SANDBOX_PIDS_LIMIT: must be a whole number from 64 to 4096 (got "32")'],
    [{ POLICY_TIMEOUT_MS: '1e3' }, 'POLICY_TIMEOUT_MS: must be a whole number from 1 to 60000 (got "1e3")'],
    [{ SANDBOX_PRUNE_GRACE_SECONDS: '-1' }, 'SANDBOX_PRUNE_GRACE_SECONDS: must be a whole number from 0 to 3600 (got "-1")'],
    [{ SANDBOX_PRUNE_GRACE_SECONDS: '7200' }, 'SANDBOX_PRUNE_GRACE_SECONDS: must be a whole number from 0 to 3600 (got "7200")'],
    [{ PORT: '99999' }, 'PORT: must be a whole number from 0 to 65535 (got "99999")'],
    [{ SANDBOX_RUNTIME: 'kata' }, 'SANDBOX_RUNTIME: must be auto, runsc or runc (got "kata")'],
    [{ DOCKER_HOST: 'docker.sock' }, 'DOCKER_HOST: must look like unix:///var/run/docker.sock or tcp://127.0.0.1:2375 (got "docker.sock")'],
    [{ POLICY_ENGINE_URL: 'not a url' }, 'POLICY_ENGINE_URL: must be an http(s) URL such as http://127.0.0.1:8003 (got "not a url")'],
    [{ AUDIT_ENGINE_URL: 'ftp://127.0.0.1/audit' }, 'AUDIT_ENGINE_URL: must be an http(s) URL such as http://127.0.0.1:8003 (got "ftp://127.0.0.1/audit")'],
  ])('refuses %j with one clear message naming the variable', (env, problem) => {
    expect(() => loadConfig(env)).toThrow(`Invalid sandbox-controller configuration: ${problem}`);
  });

  it('lists every bad variable in one error', () => {
    expect(() => loadConfig({ SANDBOX_TMPFS_MB: '0', SANDBOX_RUNTIME: 'kata' })).toThrow(
      /^Invalid sandbox-controller configuration: SANDBOX_RUNTIME: .*; SANDBOX_TMPFS_MB: |^Invalid sandbox-controller configuration: SANDBOX_TMPFS_MB: .*; SANDBOX_RUNTIME: /,
    );
  });

  it('never repeats a password carried in DOCKER_HOST in its error', () => {
    let message = '';
    try {
      loadConfig({ DOCKER_HOST: 'ssh://root:hunter2@build-host' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DOCKER_HOST: must look like unix:///var/run/docker.sock');
    expect(message).toContain('ssh://root:***@build-host');
    expect(message).not.toContain('hunter2');
  });
});
