/**
 * `backup` and `backup verify` on the embedded default of `npm start`: the databases are PGlite
 * instances in worker threads, as npm start runs them, written by the real Audit Engine (its own
 * app, one connection) and by the bot's audit trail. No PostgreSQL server is needed for the
 * dumps nor for the scratch restores (the run store of this harness is the only thing on one).
 * Verify walks both audit chains in the restored copies, as it does for PostgreSQL; a row edited
 * inside a dump (its manifest entry rewritten to match) is found and named.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditTrail, type AuditTrail } from '../../bot/audit-trail/index.js';
import { createTrailReader } from '../../bot/audit-trail/trail-store.js';
import { buildApp } from '../../services/audit-engine/app.js';
import { loadConfig } from '../../services/audit-engine/config.js';
import { createPool } from '../../services/kit/postgres.js';
import type { Service } from '../../services/kit/service.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../services/stack/local/embedded-postgres.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN } from '../../test/testing/tokens.js';
import { readBackup, writeManifest } from './backup-catalog.js';
import { backupDatabasesFromEnv } from './backup-ports.js';
import { backupHarness, type BackupHarness } from './testing/backup-harness.js';
import { BACKUP_OUTCOME } from './testing/run-attempts.js';


let h: BackupHarness;
let audit: EmbeddedPostgres;
let bot: EmbeddedPostgres;
let auditEngine: Service;
let botPool: ReturnType<typeof createPool>;
let trail: AuditTrail;

const append = (body: unknown) => auditEngine.inject({ method: 'POST', url: '/audit/events', payload: body as object, headers: SERVICE_AUTH });

beforeAll(async () => {
  h = await backupHarness();
  audit = await startEmbeddedPostgres(join(h.workDir, 'pglite', 'audit'));
  bot = await startEmbeddedPostgres(join(h.workDir, 'pglite', 'bot'));
  auditEngine = buildApp({ ...loadConfig({ DATABASE_URL: audit.url, DATABASE_POOL_MAX: '1', ACGS_STATE_DIR: join(h.workDir, 'audit-engine'), AUDIT_VERIFY_INTERVAL_MS: '0' }), serviceToken: TEST_SERVICE_TOKEN });
  await auditEngine.ready();
  for (let n = 0; n < 20; n += 1) expect((await append({ event_type: 'backup_test', agent_id: `agent-${n}` })).statusCode).toBe(201);
  botPool = createPool({ databaseUrl: bot.url, max: 1, applicationName: 'acgs-backup-embedded-test' });
  trail = createAuditTrail({ pool: botPool, spoolDir: join(h.workDir, 'spool'), writeTimeoutMs: 5000, retryMinMs: 50, retryMaxMs: 500 });
  await trail.start();
  for (let n = 0; n < 5; n += 1) await trail.append({ kind: 'command', actor: 'U0ONCALL', command: 'health' });
  const { databases } = backupDatabasesFromEnv({}, { 'audit-engine': audit, bot });
  h.ports.databases = databases;
  // The head as the bot reads it when a backup starts: verify holds the trail in the copy to it.
  h.ports.auditChainHead = async () => createTrailReader(botPool).head();
  // The embedded kind needs no server: verify must not fall back to one.
  delete h.ports.scratchServerUrl;
}, 120_000);

afterAll(async () => {
  await trail?.close().catch(() => undefined);
  await botPool?.end().catch(() => undefined);
  await auditEngine?.close().catch(() => undefined);
  await audit?.stop();
  await bot?.stop();
  await h?.close();
});

async function outputOf(runId: string, step: string): Promise<unknown> {
  return (await h.t.store.attempts(runId)).find((attempt) => attempt.stepId === step && attempt.outcome === 'done')?.output;
}

let backupId: string;

describe('backup and backup verify of the embedded databases', () => {
  it('dumps both while the Audit Engine appends, with the dumps’ tools and row counts in the manifest, and verify restores them', async () => {
    // The Audit Engine keeps appending during the whole backup, one request after another.
    let appending = true;
    let appended = 0;
    const appender = (async () => {
      while (appending) {
        expect((await append({ event_type: 'during_backup', agent_id: `during-${appended}` })).statusCode).toBe(201);
        appended += 1;
      }
    })();
    let run;
    try {
      run = await h.run('backup');
    } finally {
      appending = false;
      await appender;
    }
    expect(run, run.reason ?? '').toMatchObject({ state: 'succeeded', reason: expect.stringMatching(BACKUP_OUTCOME) });
    expect(appended).toBeGreaterThan(0);
    backupId = (await outputOf(run.id, 'create-directory') as { id: string }).id;
    const { dir, manifest } = await readBackup(h.ports.root, backupId);
    const dumps = manifest.files.filter((file) => file.kind === 'pglite-dump');
    expect(dumps.map((file) => [file.name, file.database])).toEqual([
      ['bot.sql', `bot (embedded PGlite in ${join(h.workDir, 'pglite', 'bot')})`],
      ['audit-engine.sql', `audit-engine (embedded PGlite in ${join(h.workDir, 'pglite', 'audit')})`],
    ]);
    // The bot's trail: its five records, in whichever of its tables holds them.
    expect(Object.values(dumps[0]!.row_counts!)).toContain(5);
    const auditCounts = dumps[1]!.row_counts!;
    // Counted in the dumped state: more than before the backup, fewer than after it.
    expect(auditCounts['public.audit_events']).toBeGreaterThanOrEqual(20);
    expect(auditCounts['public.audit_events']).toBeLessThanOrEqual(20 + appended);
    expect(readFileSync(join(dir, 'audit-engine.sql'), 'utf8')).toMatch(/INSERT INTO public\.audit_events VALUES/);
    expect(manifest.tools).toMatchObject({
      'pglite-tools': expect.stringMatching(/^@electric-sql\/pglite-tools \d+\.\d+\.\d+ \(pg_dump built to wasm\)$/),
      pglite: expect.stringMatching(/^@electric-sql\/pglite 0\.5\.\d+$/),
      'bot.sql pg_dump': expect.stringMatching(/^pg_dump \(PostgreSQL\) 18\.\d+, wasm build of @electric-sql\/pglite-tools/),
      'audit-engine.sql pglite': expect.stringMatching(/^PostgreSQL 18\.\d+, @electric-sql\/pglite 0\.5\.\d+$/),
    });
    // No PostgreSQL database in this backup: pg_dump is neither needed nor named.
    expect(manifest.tools.pg_dump).toBeUndefined();

    const verified = await h.run('backup-verify', { id: backupId });
    expect(verified, verified.reason ?? '').toMatchObject({ state: 'succeeded' });
    const restored = (await outputOf(verified.id, 'restore')) as { rows_restored: Record<string, number> };
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, rows) => sum + rows, 0);
    expect(restored.rows_restored).toEqual({ 'bot.sql': total(dumps[0]!.row_counts!), 'audit-engine.sql': total(auditCounts) });
    // Both chains walked in the copies from the genesis, every record of each, up to its head.
    const events = auditCounts['public.audit_events']!;
    expect(restored).toEqual({
      rows_restored: expect.any(Object),
      chains: {
        'bot.sql': { 'bot-trail': { records: 5, head: 5 } },
        'audit-engine.sql': { 'audit-engine': { records: events, head: events } },
      },
    });
    expect(JSON.parse(readFileSync(join(dir, 'verification.json'), 'utf8'))).toMatchObject({ ok: true });
  }, 180_000);
});

describe('backup verify refuses an embedded dump that is not what was taken', () => {
  /**
   * Rewrites a dump (`audit-engine.sql` unless named) and its manifest entry, as damage before the
   * manifest was written would leave it; `rowCounts` rewrites the counts the manifest holds.
   */
  async function tamper(
    change: (sql: string) => string,
    options: { name?: string; rowCounts?: (counts: Record<string, number>) => Record<string, number> } = {},
  ): Promise<string> {
    const name = options.name ?? 'audit-engine.sql';
    const made = await h.run('backup');
    expect(made.state).toBe('succeeded');
    const id = (await outputOf(made.id, 'create-directory') as { id: string }).id;
    const { dir, manifest } = await readBackup(h.ports.root, id);
    const file = join(dir, name);
    const before = readFileSync(file, 'utf8');
    const after = change(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    const content = readFileSync(file);
    await writeManifest(dir, {
      ...manifest,
      files: manifest.files.map((entry) =>
        entry.name === name
          ? { ...entry, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex'), ...(options.rowCounts ? { row_counts: options.rowCounts(entry.row_counts ?? {}) } : {}) }
          : entry,
      ),
    });
    return id;
  }

  /** The dump's INSERT of the Audit Engine event of `agent`, and that event's sequence (the second column). */
  function eventLine(sql: string, agent: string): { line: string; sequence: number } {
    const match = new RegExp(`^INSERT INTO public\\.audit_events VALUES \\('[^']*', (\\d+), .*'${agent}'.*$`, 'm').exec(sql);
    expect(match, `no event of ${agent} in the dump`).not.toBeNull();
    return { line: match![0], sequence: Number(match![1]) };
  }

  const verificationOf = async (id: string) => JSON.parse(readFileSync(join(h.ports.root, id, 'verification.json'), 'utf8')) as { ok: boolean; problem?: string };

  it('cut short: the table of contents says so, and the backup is recorded as failed', async () => {
    const id = await tamper((sql) => sql.slice(0, Math.floor(sql.length * 0.8)));
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.sql: it does not end with "PostgreSQL database dump complete": it was cut short$/);
    expect(await verificationOf(id)).toMatchObject({ ok: false });
  }, 120_000);

  it('a statement broken in the middle: the restore stops at it with PostgreSQL’s words', async () => {
    const id = await tamper((sql) => sql.replace(/INSERT INTO public\.audit_events VALUES \(/, 'INSERT INTO public.audit_events VALUES (('));
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.sql did not restore: syntax error at or near/);
    expect(await verificationOf(id)).toMatchObject({ ok: false, problem: expect.stringMatching(/^audit-engine\.sql did not restore/) });
  }, 120_000);

  it('an Audit Engine event edited inside the dump: the chain walked in the copy names the table and the event', async () => {
    let sequence = 0;
    const id = await tamper((sql) => {
      const event = eventLine(sql, 'agent-6');
      sequence = event.sequence;
      return sql.replace(event.line, event.line.replace("'agent-6'", "'agent-X'"));
    });
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(
      new RegExp(`^step "restore" \\(.*\\) failed: audit-engine\\.sql restored, but the Audit Engine's chain in it \\(public\\.audit_events\\) is broken at event #${sequence}: the content of event \\S+ was altered after it was stored$`),
    );
    expect(await verificationOf(id)).toMatchObject({ ok: false, problem: expect.stringContaining(`(public.audit_events) is broken at event #${sequence}`) });
  }, 120_000);

  it('an Audit Engine event deleted from the dump, its count made to match: the chain still names the gap', async () => {
    let sequence = 0;
    const id = await tamper(
      (sql) => {
        const event = eventLine(sql, 'agent-9');
        sequence = event.sequence;
        return sql.replace(`${event.line}\n`, '');
      },
      { rowCounts: (counts) => ({ ...counts, 'public.audit_events': counts['public.audit_events']! - 1 }) },
    );
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    // The engine's verifier reports the gap at the event after it, naming the missing one.
    expect(run.reason).toMatch(
      new RegExp(`failed: audit-engine\\.sql restored, but the Audit Engine's chain in it \\(public\\.audit_events\\) is broken at event #${sequence + 1}: events ${sequence}\\.\\.${sequence} are missing \\(deleted\\?\\) before event \\S+$`),
    );
  }, 120_000);

  it('a record of the bot’s trail edited inside the dump: verify names the table and the record', async () => {
    const id = await tamper(
      (sql) => sql.replace(/^(INSERT INTO public\.bot_audit_trail VALUES \(3, .*)'U0ONCALL'/m, "$1'U0INTRUDER'"),
      { name: 'bot.sql' },
    );
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(
      /^step "restore" \(.*\) failed: bot\.sql restored, but the bot's audit trail in it \(public\.bot_audit_trail\) is broken at record #3: record #3 was altered after it was written: its content no longer matches its hash$/,
    );
    expect(await verificationOf(id)).toMatchObject({ ok: false, problem: expect.stringContaining('(public.bot_audit_trail) is broken at record #3') });
  }, 120_000);

  it('rows the manifest counted but the dump lacks: the counts differ, table by table', async () => {
    const id = await tamper((sql) => sql.replace(/^INSERT INTO public\.audit_events VALUES .*\n/m, ''));
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.sql restored with other row counts: public\.audit_events: \d+ rows restored, the manifest says \d+$/);
  }, 120_000);
});
