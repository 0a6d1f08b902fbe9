import { describe, expect, it } from 'vitest';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { DEFAULT_RETENTION, EMBEDDED_DATABASES_PROBLEM, backupDatabasesFromEnv, backupRootFromEnv, createBackupPorts, retentionFromEnv } from './backup-ports.js';

describe('the databases a backup dumps', () => {
  it('without DATABASE_URL (the embedded PGlite default): none, and why', () => {
    expect(backupDatabasesFromEnv({})).toEqual({ databases: [], problem: EMBEDDED_DATABASES_PROBLEM });
  });

  it('one DATABASE_URL for everything (npm start on a server): that database, once, under every user’s name', () => {
    expect(backupDatabasesFromEnv({ DATABASE_URL: 'postgres://acgs@db:5432/acgs' })).toEqual({
      databases: [{ name: 'bot_audit-engine_evolution-oversight', url: 'postgres://acgs@db:5432/acgs' }],
    });
  });

  it('the compose stack: the bot’s database and the services’ own, each with the owner role where one names the same database', () => {
    const { databases } = backupDatabasesFromEnv({
      DATABASE_URL: 'postgres://acgs_bot:b@db/acgs',
      ACGS_MIGRATIONS_DATABASE_URL: 'postgres://acgs:o@db:5432/acgs',
      AUDIT_DATABASE_URL: 'postgres://acgs_audit:a@db/acgs_audit',
      AUDIT_MIGRATIONS_DATABASE_URL: 'postgres://acgs:o@db/acgs_audit',
      EVOLUTION_DATABASE_URL: 'postgres://acgs:e@db/acgs_evolution',
    });
    expect(databases).toEqual([
      { name: 'bot', url: 'postgres://acgs:o@db:5432/acgs' },
      { name: 'audit-engine', url: 'postgres://acgs:o@db/acgs_audit' },
      // ACGS_MIGRATIONS_DATABASE_URL names another database: the runtime URL stays.
      { name: 'evolution-oversight', url: 'postgres://acgs:e@db/acgs_evolution' },
    ]);
  });
});

describe('the embedded PGlite databases npm start runs', () => {
  const notHere = async () => Promise.reject(new Error('not here'));
  const source = (dataDir: string) => ({ dataDir, url: 'postgres://127.0.0.1:1/postgres', dump: notHere, size: async () => ({ databaseBytes: 0, tableBytes: 0 }), rowCounts: notHere, replaceWith: notHere, discardPrevious: notHere });
  const bot = source('/state/pglite/bot');
  const audit = source('/state/pglite/audit');
  const evolution = source('/state/pglite/evolution');

  it('npm start without DATABASE_URL: its three embedded databases, each dumped by the thread that holds it', () => {
    expect(backupDatabasesFromEnv({}, { bot, 'audit-engine': audit, 'evolution-oversight': evolution })).toEqual({
      databases: [
        { kind: 'pglite', name: 'bot', source: bot },
        { kind: 'pglite', name: 'audit-engine', source: audit },
        { kind: 'pglite', name: 'evolution-oversight', source: evolution },
      ],
    });
  });

  it('the bot embedded, the services on servers of their own: each where it is', () => {
    expect(backupDatabasesFromEnv({ AUDIT_DATABASE_URL: 'postgres://a@db/acgs_audit', EVOLUTION_DATABASE_URL: 'postgres://e@db/acgs_evolution' }, { bot })).toEqual({
      databases: [
        { kind: 'pglite', name: 'bot', source: bot },
        { name: 'audit-engine', url: 'postgres://a@db/acgs_audit' },
        { name: 'evolution-oversight', url: 'postgres://e@db/acgs_evolution' },
      ],
    });
  });

  it('a database neither embedded here nor named by a URL: the backup is refused, naming it, rather than made without it', () => {
    expect(backupDatabasesFromEnv({}, { bot })).toEqual({
      databases: [{ kind: 'pglite', name: 'bot', source: bot }],
      problem: 'no database is known for audit-engine, evolution-oversight: set DATABASE_URL (or its own *_DATABASE_URL)',
    });
  });
});

describe('retention and the backup directory', () => {
  it('defaults, values, and a malformed value refused by name', () => {
    expect(retentionFromEnv({})).toEqual(DEFAULT_RETENTION);
    expect(retentionFromEnv({ ACGS_BACKUP_KEEP_COUNT: '3', ACGS_BACKUP_KEEP_DAYS: '0' })).toEqual({ keepCount: 3, keepDays: 0 });
    expect(() => retentionFromEnv({ ACGS_BACKUP_KEEP_COUNT: '0' })).toThrow('ACGS_BACKUP_KEEP_COUNT must be a whole number of at least 1, not "0"');
    expect(() => retentionFromEnv({ ACGS_BACKUP_KEEP_DAYS: 'a week' })).toThrow('ACGS_BACKUP_KEEP_DAYS must be a whole number of at least 0, not "a week"');
  });

  it('ACGS_BACKUP_DIR, else backups/ in the state directory', () => {
    expect(backupRootFromEnv({ ACGS_BACKUP_DIR: '/srv/backups' })).toBe('/srv/backups');
    expect(backupRootFromEnv({ ACGS_STATE_DIR: '/var/lib/acgs' })).toBe('/var/lib/acgs/backups');
    expect(backupRootFromEnv({})).toBe('.acgs/backups');
  });
});

describe('the ports built from the command dependencies', () => {
  it('a service that does not answer has its version recorded as unreachable, with why; one without a client says so', async () => {
    const ports = createBackupPorts({
      env: { DATABASE_URL: 'postgres://acgs@127.0.0.1:5432/acgs', ACGS_CONFIG: '/etc/acgs.yaml' },
      commands: { policyEngine: createPolicyEngineClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 }) },
      auditChainHead: async () => null,
    });
    expect(ports.configFiles).toEqual([{ name: 'acgs-config.yaml', path: '/etc/acgs.yaml' }]);
    const versions = await ports.serviceVersions(new AbortController().signal);
    expect(versions['policy-engine']).toMatch(/^unreachable: /);
    expect(versions['audit-engine']).toBe('unknown: no client for it in this process');
    await expect(ports.modes(new AbortController().signal)).rejects.toThrow();
  });

  it('without a policy engine client the modes cannot be read, and the error says so', async () => {
    const ports = createBackupPorts({ env: {}, commands: {}, auditChainHead: async () => null });
    expect(ports.databasesProblem).toBe(EMBEDDED_DATABASES_PROBLEM);
    await expect(ports.modes(new AbortController().signal)).rejects.toThrow('the policy engine client is not set up in this process');
  });
});
