import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('evolution-oversight configuration', () => {
  it('defaults to port 8002, loopback, the local database and the local Policy and Audit Engines', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8002,
      host: '127.0.0.1',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/acgs_evolution',
      databasePoolMax: 10,
      policyEngineUrl: 'http://127.0.0.1:8004',
      auditEngineUrl: 'http://127.0.0.1:8003',
    });
  });

  it('keeps the audit spool inside the state directory unless told otherwise', () => {
    expect(loadConfig({ ACGS_STATE_DIR: '/var/lib/acgs/eo' }).auditSpoolDir).toBe('/var/lib/acgs/eo/audit-spool');
    expect(loadConfig({ ACGS_STATE_DIR: '/x', AUDIT_SPOOL_DIR: '/spool' }).auditSpoolDir).toBe('/spool');
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ POLICY_ENGINE_URL: 'not a url' })).toThrow(/POLICY_ENGINE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/evolution' })).toThrow(/DATABASE_URL: must be a postgres/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_POOL_MAX: '0' })).toThrow(/DATABASE_POOL_MAX/);
  });

  it('does not echo the database password when the URL is rejected', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/x' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });

  it('takes numbers only as plain digits, and lists every bad variable in one message', () => {
    const attempt = () => loadConfig({ PORT: '8e3', POLICY_ENGINE_TIMEOUT_MS: ' 500', AUDIT_ENGINE_URL: 'ftp://audit' });
    expect(attempt).toThrow(/^Invalid evolution-oversight configuration: PORT: .*; POLICY_ENGINE_TIMEOUT_MS: .*; AUDIT_ENGINE_URL: /);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', POLICY_ENGINE_URL: '' }).port).toBe(8002);
  });
});
