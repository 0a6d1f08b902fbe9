import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createTestDatabase } from '../../test/testing/postgres.js';
import { testToken } from '../../test/testing/tokens.js';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import type { AuditHealth } from '../../services/audit-engine/contract.js';
import { genesisChainHash } from '../../services/audit-engine/hash-chain.js';
import { tableRowCounts } from '../../services/stack/backup/scratch-database.js';
import { RESTORE_APPLICATION } from '../../services/stack/backup/postgres-dump.js';
import { listBackups, readBackup, recordVerification } from './backup-catalog.js';
import type { StepContext } from '../engine/definition.js';
import { requireLockStillOurs } from './restore-lock.js';
import { restoreHarness, type RestoreHarness } from './testing/restore-harness.js';
import { attemptLines, stepOutput } from './testing/run-attempts.js';
import { copyBackup, renameDump, resealFile } from './testing/spoiled-backups.js';

let h: RestoreHarness;
/** A verified backup taken at the start, while the writer runs. */
let good: string;

beforeAll(async () => {
  h = await restoreHarness();
  good = await h.verifiedBackup();
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const attemptsOf = (runId: string) => attemptLines(h.t.store, runId);
const outputOf = (runId: string, stepId: string) => stepOutput(h.t.store, runId, stepId);

const run8 = () => randomBytes(4).toString('hex');

/** A run of another runbook that has not ended, as a deploy waiting for a decision would be. */
async function otherRun(runbook: string, requester: string): Promise<string> {
  const { id } = await h.t.store.create({ runbook, version: 'v1', args: {}, requester, origin: 'typed' });
  await h.t.pool.query("UPDATE runbook_runs SET state = 'needs_decision', reason = 'a stand-in run of this test' WHERE id = $1", [id]);
  return id;
}
/** Ends such a run as a person's abort would, which frees any lock it holds. */
const endRun = (runId: string) => h.t.pool.query("UPDATE runbook_runs SET state = 'aborted', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1", [runId]);
const lockEvents = async (runId: string) =>
  (await h.t.pool.query<{ action: string; runbook: string }>('SELECT action, runbook FROM deploy_lock_events WHERE run_id = $1 ORDER BY id', [runId])).rows.map((row) => `${row.action} ${row.runbook}`);

/** Events the Audit Engine chains after the backup: its checkpoint outside the database moves past the backup's head. */
async function appendAfterBackup(count: number): Promise<void> {
  await h.engine.postEvents(Array.from({ length: count }, (_, index) => ({ event_type: 'restore.later', data: { index } })));
}

/** The Audit Engine's own health once a background walk that began after `since` has ended. */
async function engineHealthAfter(since: string, harness = h): Promise<AuditHealth> {
  let health = await harness.engine.health();
  await expect
    .poll(async () => {
      health = await harness.engine.health();
      return health.integrity !== null && Date.parse(health.integrity.checked_at) > Date.parse(since);
    }, { timeout: 30_000 })
    .toBe(true);
  return health;
}
const auditCounts = () => tableRowCounts(h.audit.db.url);
const writerState = () => h.writer.state();

describe('restore', () => {
  it('shows a plan that reads everything and changes nothing', async () => {
    const pid = h.writer.pid();
    const before = await listBackups(h.ports.root);
    const plan = await h.executor.plan('restore', { id: good });
    const steps = Object.fromEntries(plan.steps.map((step) => [step.id, step.dryRun]));
    expect(steps['check-backup']).toMatchObject({ mode: 'read-only-check' });
    expect(steps['check-backup']!.text).toMatch(new RegExp(`^backup ${good} of .* \\(verified .*, checksums match\\): audit-engine\\.dump replaces audit-engine \\(127\\.0\\.0\\.1:5432/acgs_audit_test_`));
    expect(steps['check-backup']!.text).toMatch(/public\.audit_events 12 rows \(now 12\)/);
    expect(steps['check-backup']!.text).toMatch(/bot\.dump is not restored: the bot's own database holds its audit trail/);
    expect(steps['check-backup']!.text).toMatch(/stops audit-engine meanwhile/);
    expect(steps['safety-backup']).toMatchObject({ mode: 'read-only-check', text: expect.stringMatching(/^would take a full backup first, named like \d{8}T\d{6}Z-<the run id's first 6 hex digits>/) });
    expect(steps['stop-writers']).toMatchObject({ mode: 'read-only-check', text: expect.stringMatching(/^would stop audit-engine \(healthy now\)/) });
    expect(steps['reanchor-audit-chain']).toMatchObject({ mode: 'description', text: expect.stringMatching(/^would ask the Audit Engine \(POST \/audit\/admin\/reanchor, admin token\) to accept its chain rolled back to the head restored into audit-engine \(/) });
    expect(steps['check-health']).toMatchObject({ mode: 'read-only-check', text: 'now: audit-engine healthy' });
    expect(plan.steps.find((step) => step.id === 'restore-databases')).toMatchObject({ idempotent: false, canBeUndone: false });
    expect(plan.steps.find((step) => step.id === 'stop-writers')).toMatchObject({ canBeUndone: true });
    expect(await listBackups(h.ports.root)).toEqual(before);
    expect(h.writer.pid()).toBe(pid);
  });

  it('backs up first, stops the writer, replaces the audit database, checks it, starts the writer again', { timeout: 120_000 }, async () => {
    const { manifest } = await readBackup(h.ports.root, good);
    const backupCounts = manifest.files.find((file) => file.name === 'audit-engine.dump')!.row_counts!;
    // After the backup: a table it does not know, and more rows in the bot's database (never restored).
    await h.sql(h.audit.db.url, 'CREATE TABLE later (n int); INSERT INTO later VALUES (1)');
    await h.sql(h.bot.url, "INSERT INTO bot_records VALUES (41, 'after the backup')");
    // What a backup verify killed mid-restore leaves: swept when a restore starts.
    const leftover = `acgs_scratch_verify_restore_test_20200101000000_${run8()}`;
    await h.sql(TEST_POSTGRES_URL, `CREATE DATABASE ${leftover}`);
    const pid = h.writer.pid();
    const ticksBefore = (await auditCounts())['public.writer_ticks']!;
    expect(ticksBefore).toBeGreaterThan(backupCounts['public.writer_ticks']!);
    // The engine chains 5 more; stopped for the restore, it signs them: its outside checkpoint is #17.
    await appendAfterBackup(5);

    // Started once two approvers approved it (as the bot's approval path submits it): the re-anchor names them.
    const run = await h.settle((await h.executor.submit({ runbook: 'restore', args: { id: good }, requester: 'U0ONCALL', origin: 'approval', approvedBy: ['U0APPROVER1', 'U0APPROVER2'] })).id);
    expect(run, JSON.stringify(run)).toMatchObject({ state: 'succeeded' });
    expect(await attemptsOf(run.id)).toEqual([
      'run check-backup#1 done',
      'run lock#1 done',
      'run safety-backup#1 done',
      'run stop-writers#1 done',
      'run restore-databases#1 done',
      'run verify-restored#1 done',
      'run start-writers#1 done',
      'run reanchor-audit-chain#1 done',
      'run check-health#1 done',
      'run unlock#1 done',
    ]);
    // The safety backup holds the data as it was just before: the writer's later rows, the new table.
    const safety = (await outputOf(run.id, 'safety-backup')) as { id: string };
    expect(safety.id).toMatch(new RegExp(`-${run.id.replace(/-/g, '').slice(0, 6)}$`));
    const safetyManifest = (await readBackup(h.ports.root, safety.id)).manifest;
    const safetyCounts = safetyManifest.files.find((file) => file.name === 'audit-engine.dump')!.row_counts!;
    expect(safetyCounts['public.writer_ticks']).toBeGreaterThanOrEqual(ticksBefore);
    expect(safetyCounts['public.later']).toBe(1);
    expect((await outputOf(run.id, 'restore-databases')) as object).toMatchObject({ safety_backup: safety.id });
    // Counted while the writer was stopped: exactly the backup's rows (a running writer adds one every 10 ms).
    expect(await outputOf(run.id, 'verify-restored')).toEqual({
      databases: [
        {
          database: expect.stringMatching(/^audit-engine /),
          rows: Object.values(backupCounts).reduce((sum, rows) => sum + rows, 0),
          audit_chain: 'valid, 12 events',
          audit_head: { sequence: 12, chain_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
        },
      ],
    });
    // The engine accepted the restored chain, with the evidence: the checkpoint it rolled back from, the head now.
    const reanchored = (await outputOf(run.id, 'reanchor-audit-chain')) as { audit_chain: string; integrity: { checked_at: string } };
    expect(reanchored).toMatchObject({
      audit_chain: expect.stringMatching(/^re-anchored: checkpoint #17 \([0-9a-f]{12}…\) -> head #12 \([0-9a-f]{12}…\), recorded as event #13$/),
      previous: { sequence: 17 },
      head: { sequence: 12 },
      checkpoint: { sequence: 12 },
      integrity: { valid: true, events_checked: 13 },
    });
    const [recorded] = (await h.engine.listEvents({ event_type: 'audit.chain_reanchored' })).events;
    expect(recorded).toMatchObject({ sequence: 13, agent_id: 'U0ONCALL', data: { backup_id: good, run_id: run.id, requested_by: 'U0ONCALL', approved_by: ['U0APPROVER1', 'U0APPROVER2'], rolled_back: { from: { sequence: 17 }, to: { sequence: 12 } } } });
    // And at its next background walk the engine still finds nothing wrong.
    expect(await engineHealthAfter(reanchored.integrity.checked_at)).toMatchObject({ status: 'healthy', integrity: { valid: true } });
    // The writer is a new process, running and writing again; the untouched table and the bot's data stay.
    expect(writerState()).toBe('running');
    expect(h.writer.pid()).not.toBe(pid);
    expect((await h.stack.health('audit-engine')).status).toBe('healthy');
    const now = await auditCounts();
    // The backup's events and the one recording the re-anchor.
    expect(now['public.audit_events']).toBe(backupCounts['public.audit_events']! + 1);
    expect(now['public.later']).toBe(1);
    expect((await tableRowCounts(h.bot.url))['public.bot_records']).toBe(41);
    expect((await h.sql(TEST_POSTGRES_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [leftover])).rowCount).toBe(0);
  });

  it('waits while another run holds the deploy lock, stopping nothing; once free, holds it itself until its end', { timeout: 120_000 }, async () => {
    const pid = h.writer.pid();
    const deploy = await otherRun('deploy', 'U0DEV');
    await h.deployments.acquire(deploy, 'deploy', 'U0DEV');
    const run = await h.settle((await h.executor.submit({ runbook: 'restore', args: { id: good }, requester: 'U0ONCALL', origin: 'test' })).id);
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(new RegExp(`the deploy lock is held by U0DEV's deploy run ${deploy} \\(since .+\\): nothing was stopped or restored`));
    expect(await attemptsOf(run.id)).toEqual(['run check-backup#1 done', 'run lock#1 failed']);
    expect(h.writer.pid()).toBe(pid);
    expect(writerState()).toBe('running');

    await endRun(deploy);
    await h.executor.decide(run.id, 'retry', 'U0ONCALL');
    const retried = await h.settle(run.id);
    expect(retried.state, retried.reason ?? '').toBe('succeeded');
    expect(await lockEvents(run.id)).toEqual(['acquire restore', 'release restore']);
    expect(await h.deployments.lock()).toBeNull();
  });

  it('stops before the writers or the data when the deploy lock is no longer its own, naming who holds it', async () => {
    const restore = await otherRun('restore', 'U0ONCALL');
    const asRestore = { runId: restore, ports: { deployments: h.deployments } } as unknown as StepContext<unknown>;
    await h.deployments.acquire(restore, 'restore', 'U0ONCALL');
    await expect(requireLockStillOurs(asRestore, 'stopped')).resolves.toBeUndefined();
    // A rollback takes it over (as `rollback` may, being the way out of a bad deploy).
    const rollback = await otherRun('rollback', 'U0SRE');
    await h.deployments.takeOver(rollback, 'U0SRE');
    await expect(requireLockStillOurs(asRestore, 'stopped')).rejects.toThrow(new RegExp(`^the deploy lock is no longer this run's: U0SRE's rollback run ${rollback} \\(since .+\\) holds it now\\. Nothing was stopped: abort`));
    await endRun(rollback);
    await expect(requireLockStillOurs(asRestore, 'restored')).rejects.toThrow(/it is free now \(released or force-unlocked\)\. Nothing was restored/);
    await endRun(restore);
  });

  it('never restores an unverified backup unless allowed, nor one that failed verification', async () => {
    const unverified = '20260101T000000Z-aaaaa1';
    const dir = copyBackup(h.ports.root, good, unverified);
    rmSync(join(dir, 'verification.json'));
    const refused = await h.run('restore', { id: unverified });
    expect(refused).toMatchObject({ state: 'needs_decision' });
    expect(refused.reason).toMatch(`backup ${unverified} was never verified; run \`backup verify ${unverified}\` first, or`);
    expect(await attemptsOf(refused.id)).toEqual(['run check-backup#1 failed']);
    await h.executor.abort(refused.id, 'U0ONCALL');
    expect((await h.settle(refused.id)).state).toBe('aborted');

    const allowed = await h.executor.plan('restore', { id: unverified, unverified: 'allow' });
    expect(allowed.steps[0]!.dryRun).toMatchObject({ mode: 'read-only-check', text: expect.stringContaining('never verified, checksums match') });

    await recordVerification(dir, { verified_at: new Date().toISOString(), ok: false, problem: 'audit-engine.dump did not restore', verified_by: 'test' });
    const bad = await h.executor.plan('restore', { id: unverified, unverified: 'allow' });
    expect(bad.steps[0]!.dryRun.error).toMatch(`backup ${unverified} failed its verification`);
    expect(writerState()).toBe('running');
  });

  it('refuses an unknown id, an unfinished backup and files that do not match their checksums, touching nothing', async () => {
    // The runbook's validate refuses before a plan is made or a run recorded.
    await expect(h.executor.plan('restore', { id: '20200101T000000Z-000000' })).rejects.toThrow(/There is no backup "20200101T000000Z-000000"/);
    await expect(h.executor.submit({ runbook: 'restore', args: { id: '20200101T000000Z-000000' }, requester: 'U0ONCALL', origin: 'test' })).rejects.toThrow(/There is no backup/);
    await expect(h.executor.submit({ runbook: 'restore', args: { id: '../etc' }, requester: 'U0ONCALL', origin: 'test' })).rejects.toThrow(/backup id looks like/);

    const unfinished = copyBackup(h.ports.root, good, '20260101T000000Z-aaaaa2');
    rmSync(join(unfinished, 'manifest.json'));
    await expect(h.executor.plan('restore', { id: '20260101T000000Z-aaaaa2' })).rejects.toThrow(/Backup 20260101T000000Z-aaaaa2 is incomplete.*only a complete backup can be restored/);

    // The Audit Engine's data inside the bot's database: restoring it would replace the bot's too.
    const shared = copyBackup(h.ports.root, good, '20260101T000000Z-aaaaa5');
    renameDump(shared, 'audit-engine.dump', 'bot_audit-engine.dump');
    const sharedPlan = await h.executor.plan('restore', { id: '20260101T000000Z-aaaaa5', unverified: 'allow' });
    expect(sharedPlan.steps[0]!.dryRun.error).toMatch(/^bot_audit-engine\.dump holds the data of audit-engine in the bot's own database, which a restore never replaces under the running bot; give them their own databases/);
    // A database the stack does not have (any more).
    const elsewhere = copyBackup(h.ports.root, good, '20260101T000000Z-aaaaa6');
    renameDump(elsewhere, 'audit-engine.dump', 'evolution-oversight.dump');
    const elsewherePlan = await h.executor.plan('restore', { id: '20260101T000000Z-aaaaa6', unverified: 'allow' });
    expect(elsewherePlan.steps[0]!.dryRun.error).toMatch('evolution-oversight.dump was made of the database of evolution-oversight, which the stack does not have as one database now (its databases: audit-engine, bot); restore it by hand');

    const flipped = copyBackup(h.ports.root, good, '20260101T000000Z-aaaaa3');
    const file = join(flipped, 'audit-engine.dump');
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    writeFileSync(file, bytes);
    const pid = h.writer.pid();
    const run = await h.run('restore', { id: '20260101T000000Z-aaaaa3' });
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/does not match its manifest: audit-engine\.dump has SHA-256 .*, the manifest says/);
    expect(await attemptsOf(run.id)).toEqual(['run check-backup#1 failed']);
    await h.executor.abort(run.id, 'U0ONCALL');
    expect((await h.settle(run.id)).state).toBe('aborted');
    expect(h.writer.pid()).toBe(pid);
  });

  it('a dump that fails to restore replaces nothing; abort starts the writer again', { timeout: 120_000 }, async () => {
    const id = '20260101T000000Z-aaaaa4';
    const dir = copyBackup(h.ports.root, good, id);
    // Garbage inside the compressed table data: the table of contents still reads, the restore fails half way.
    const file = join(dir, 'audit-engine.dump');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, Math.floor(bytes.length * 0.9), Math.floor(bytes.length * 0.9) + 32);
    writeFileSync(file, bytes);
    resealFile(dir, 'audit-engine.dump');
    await h.sql(h.audit.db.url, 'CREATE TABLE IF NOT EXISTS marker (n int); INSERT INTO marker VALUES (7)');

    const run = await h.run('restore', { id });
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/audit-engine\.dump did not restore into audit-engine \(.*\): pg_restore exited with 1: .*Its transaction was rolled back: audit-engine \(.*\) holds what it held before\. Replaced already: none; not touched: none\. The writers stay stopped until you decide/);
    expect(writerState()).toBe('held');
    // Nothing replaced: the table made after the backup is still there, the writer's rows are not the backup's.
    const held = await auditCounts();
    expect(held['public.marker']).toBe(1);

    await h.executor.abort(run.id, 'U0ONCALL');
    const aborted = await h.settle(run.id);
    expect(aborted.state).toBe('aborted');
    expect(await attemptsOf(run.id)).toEqual([
      'run check-backup#1 done',
      'run lock#1 done',
      'run safety-backup#1 done',
      'run stop-writers#1 done',
      'run restore-databases#1 failed',
      'compensate stop-writers#2 compensated',
      'compensate lock#2 compensated',
    ]);
    expect(writerState()).toBe('running');
    expect((await h.stack.health('audit-engine')).status).toBe('healthy');
  });

  it('PostgreSQL gone mid-restore: rolled back, the run says so and waits; retry restores', { timeout: 120_000 }, async () => {
    await h.sql(h.audit.db.url, 'CREATE TABLE IF NOT EXISTS marker (n int); DELETE FROM marker; INSERT INTO marker VALUES (8)');
    // The test holds a lock the restore's DROP must wait for, then ends the restore's session, as a
    // server going away would.
    const locker = new pg.Client({ connectionString: h.audit.db.url });
    await locker.connect();
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE audit_events IN ACCESS SHARE MODE');
      const submitted = await h.executor.submit({ runbook: 'restore', args: { id: good }, requester: 'U0ONCALL', origin: 'test' });
      const settled = h.settle(submitted.id);
      let terminated = false;
      for (let waited = 0; !terminated; waited += 50) {
        if (waited > 60_000) throw new Error('the restore never reached the lock');
        const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'", [h.audit.db.name, RESTORE_APPLICATION]);
        if (rows[0]) terminated = (await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid])).rowCount === 1;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await locker.query('COMMIT');
      const run = await settled;
      expect(run.state).toBe('needs_decision');
      expect(run.reason).toMatch(/audit-engine\.dump did not restore into .*pg_restore exited with 1: .*terminating connection.*Its transaction was rolled back: .* holds what it held before/);
      expect((await auditCounts())['public.marker']).toBe(1);
      expect(writerState()).toBe('held');

      await h.executor.decide(run.id, 'retry', 'U0ONCALL');
      const retried = await h.settle(run.id);
      expect(retried.state, retried.reason ?? '').toBe('succeeded');
      expect((await attemptsOf(run.id)).slice(4)).toEqual([
        'run restore-databases#1 failed',
        'run restore-databases#2 done',
        'run verify-restored#1 done',
        'run start-writers#1 done',
        'run reanchor-audit-chain#1 done',
        'run check-health#1 done',
        'run unlock#1 done',
      ]);
      expect(writerState()).toBe('running');
    } finally {
      await locker.end().catch(() => undefined);
      await admin.end();
    }
  });

  it('without the re-anchor the engine reports the restored chain as rolled back (degraded); the step refused says why, a retry re-anchors', { timeout: 120_000 }, async () => {
    await appendAfterBackup(3);
    const { events } = await h.engine.listEvents({ limit: 1 });
    const before = events[0]!.sequence;
    // A client the engine refuses: the step fails, so nothing re-anchors the chain meanwhile.
    h.commands.auditEngine = createAuditEngineClient(h.engineUrl, { adminToken: testToken() });
    try {
      const run = await h.run('restore', { id: good });
      expect(run.state).toBe('needs_decision');
      expect(run.reason).toMatch(
        /step "reanchor-audit-chain" .* failed: the Audit Engine did not accept the restored chain at #12 \([0-9a-f]{12}…\): .*admin token.*\. The restored data stays and the writers run; until the chain is re-anchored the Audit Engine reports the rollback \(degraded\)/,
      );
      expect(writerState()).toBe('running');
      const degraded = await engineHealthAfter(new Date().toISOString());
      expect(degraded).toMatchObject({ status: 'degraded', integrity: { valid: false } });
      expect(degraded.integrity!.first_broken!.message).toMatch(new RegExp(`#${before}`));

      h.commands.auditEngine = h.engine;
      await h.executor.decide(run.id, 'retry', 'U0ONCALL');
      const retried = await h.settle(run.id);
      expect(retried.state, retried.reason ?? '').toBe('succeeded');
      expect((await attemptsOf(run.id)).slice(6)).toEqual(['run start-writers#1 done', 'run reanchor-audit-chain#1 failed', 'run reanchor-audit-chain#2 done', 'run check-health#1 done', 'run unlock#1 done']);
      const reanchored = (await outputOf(run.id, 'reanchor-audit-chain')) as { previous: { sequence: number }; integrity: { checked_at: string } };
      expect(reanchored).toMatchObject({ previous: { sequence: before }, head: { sequence: 12 } });
      expect(await engineHealthAfter(reanchored.integrity.checked_at)).toMatchObject({ status: 'healthy', integrity: { valid: true } });
    } finally {
      h.commands.auditEngine = h.engine;
    }
  });

  it("skips the re-anchor, saying why, when the Audit Engine's database is not restored", { timeout: 120_000 }, async () => {
    // A stack with Evolution Oversight's database too, and a backup holding only that one.
    const evolution = await createTestDatabase('acgs_rs_evolution');
    const databases = h.ports.databases as Array<(typeof h.ports.databases)[number]>;
    databases.push({ name: 'evolution-oversight', url: evolution.url });
    try {
      const dir = copyBackup(h.ports.root, good, '20260101T000000Z-aaaaa7');
      renameDump(dir, 'audit-engine.dump', 'evolution-oversight.dump');
      const plan = await h.executor.plan('restore', { id: '20260101T000000Z-aaaaa7', unverified: 'allow' });
      expect(plan.steps.find((step) => step.id === 'reanchor-audit-chain')!.dryRun).toEqual({ mode: 'description', text: "nothing: the Audit Engine's database is not part of this restore" });
      const { events } = await h.engine.listEvents({ limit: 1 });
      const run = await h.run('restore', { id: '20260101T000000Z-aaaaa7', unverified: 'allow' });
      expect(run.state, run.reason ?? '').toBe('succeeded');
      expect(await outputOf(run.id, 'reanchor-audit-chain')).toEqual({ audit_chain: "not re-anchored: the Audit Engine's database was not part of this restore" });
      // Nothing was asked of the engine: no event, its chain as it was.
      expect((await h.engine.listEvents({ limit: 1 })).events[0]!.sequence).toBe(events[0]!.sequence);
    } finally {
      databases.pop();
      await evolution.drop();
    }
  });

  it('a restored audit chain that does not verify stops the run before the writers start', { timeout: 120_000 }, async () => {
    // Someone with superuser rights altered an event before this backup was taken.
    await h.sql(h.audit.db.url, "SET session_replication_role = replica; UPDATE audit_events SET data = '{\"index\": 99}' WHERE sequence = 5");
    const tampered = await h.verifiedBackup();
    const run = await h.run('restore', { id: tampered });
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/the Audit Engine's chain in audit-engine \(.*\) is broken after 4 good events: the content of event .* was altered after it was stored\. The writers are still stopped/);
    expect(writerState()).toBe('held');
    await h.executor.abort(run.id, 'U0ONCALL');
    expect((await h.settle(run.id)).state).toBe('aborted');
    expect(writerState()).toBe('running');
  });
});

describe('restore of a backup taken while the audit chain was empty (a fresh stack)', () => {
  let fresh: RestoreHarness;
  beforeAll(async () => {
    fresh = await restoreHarness({ events: 0 });
  }, 120_000);
  afterAll(async () => {
    await fresh?.close();
  });

  it('re-anchors the engine at the genesis, the re-anchor its first event, and ends healthy', { timeout: 120_000 }, async () => {
    const id = await fresh.verifiedBackup();
    // Chained after the backup; stopped for the restore, the engine signs them: its outside checkpoint is #5.
    await fresh.engine.postEvents(Array.from({ length: 5 }, (_, index) => ({ event_type: 'restore.later', data: { index } })));
    const run = await fresh.run('restore', { id });
    expect(run.state, run.reason ?? '').toBe('succeeded');
    expect((await fresh.t.store.attempts(run.id)).filter((attempt) => attempt.outcome !== 'done')).toEqual([]);
    const outputs = Object.fromEntries((await fresh.t.store.attempts(run.id)).map((attempt) => [attempt.stepId, attempt.output]));
    expect(outputs['verify-restored']).toMatchObject({ databases: [{ audit_chain: 'valid, 0 events', audit_head: { sequence: 0, chain_hash: genesisChainHash() } }] });
    const reanchored = outputs['reanchor-audit-chain'] as { integrity: { checked_at: string } };
    expect(reanchored).toMatchObject({
      audit_chain: expect.stringMatching(/^re-anchored: checkpoint #5 \([0-9a-f]{12}…\) -> head #0 \(the empty chain\), recorded as event #1$/),
      previous: { sequence: 5 },
      checkpoint: { sequence: 0 },
      integrity: { valid: true, events_checked: 1 },
    });
    const { events } = await fresh.engine.listEvents({});
    expect(events.map((event) => [event.sequence, event.event_type])).toEqual([[1, 'audit.chain_reanchored']]);
    expect(events[0]).toMatchObject({ data: { backup_id: id, run_id: run.id, rolled_back: { from: { sequence: 5 }, to: { sequence: 0 } } } });
    expect(await engineHealthAfter(reanchored.integrity.checked_at, fresh)).toMatchObject({ status: 'healthy', integrity: { valid: true } });
  });
});
