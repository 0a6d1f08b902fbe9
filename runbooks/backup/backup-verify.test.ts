import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunbookInputError } from '../engine/errors.js';
import { ignoreProgress } from '../engine/step-progress.js';
import { MANIFEST_FILE, listBackups, readBackup, writeManifest } from './backup-catalog.js';
import { backupVerifyRunbook } from './backup-verify.js';
import { backupsOverview } from './backups-overview.js';
import { CLOSED_PORT_URL, backupHarness, verificationOf, type BackupHarness } from './testing/backup-harness.js';

let h: BackupHarness;
beforeAll(async () => {
  h = await backupHarness();
});
afterAll(async () => {
  await h?.close();
});

async function attemptsOf(runId: string): Promise<string[]> {
  return (await h.t.store.attempts(runId)).map((a) => `${a.stepId} ${a.outcome}`);
}

describe('backup verify', () => {
  it('passes on a good backup: checksums, tables of contents, real restores with equal row counts; recorded, no scratch database left', async () => {
    const { id, dir } = await h.freshBackup();
    const run = await h.run('backup-verify', { id });
    expect(run).toMatchObject({ state: 'succeeded', reason: null });
    expect(await attemptsOf(run.id)).toEqual(['read-manifest done', 'checksums done', 'restore done', 'record done']);
    // These dumps hold no audit chain of either kind (backup-verify-chains.test.ts has them).
    expect((await h.t.store.attempts(run.id)).find((a) => a.stepId === 'restore')!.output).toEqual({
      rows_restored: { 'audit-engine.dump': 3000, 'bot.dump': 250 },
      recorded_head: 'not checked: no dump holds the bot’s audit trail',
    });
    expect(verificationOf(dir)).toMatchObject({ ok: true, verified_by: `runbook run ${run.id}` });
    // One scratch database per dump was made, and each is gone.
    expect(h.scratchDatabasesMade.size).toBeGreaterThanOrEqual(2);
    expect(await h.scratchDatabasesLeft()).toEqual([]);

    const [overview] = (await backupsOverview(h.ports.root)).filter((backup) => backup.id === id);
    expect(overview).toMatchObject({ state: 'complete', verification: { state: 'verified' } });
    expect(overview!.bytes).toBeGreaterThan(0);
    // Made by this test a moment ago (the overview clamps nothing here that could hide a wrong clock).
    expect(overview!.ageSeconds).toBeLessThan(120);
  });

  it('a corrupt dump: fails with the file and both hashes (it is hashed while it restores), recorded as failed', async () => {
    const { id, dir } = await h.freshBackup();
    const file = join(dir, 'audit-engine.dump');
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(file, bytes);
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.dump has SHA-256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…$/);
    expect(verificationOf(dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/^audit-engine\.dump has SHA-256/) });
    expect((await backupsOverview(h.ports.root)).find((backup) => backup.id === id)).toMatchObject({ verification: { state: 'failed' } });
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });

  it('a dump truncated before its manifest was written: checksums pass, the restore fails with pg_restore’s words, and the scratch database is removed', async () => {
    const { id, dir } = await h.freshBackup();
    const file = join(dir, 'audit-engine.dump');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const { manifest } = await readBackup(h.ports.root, id);
    const truncated = readFileSync(file);
    await writeManifest(dir, {
      ...manifest,
      files: manifest.files.map((entry) => (entry.name === 'audit-engine.dump' ? { ...entry, bytes: truncated.length, sha256: createHash('sha256').update(truncated).digest('hex') } : entry)),
    });
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.dump did not restore: pg_restore exited with 1: /);
    expect(await attemptsOf(run.id)).toEqual(['read-manifest done', 'checksums done', 'restore failed']);
    expect(verificationOf(dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/^audit-engine\.dump did not restore/) });
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });

  it('a file that is no dump at all: its table of contents fails, saying what pg_restore saw', async () => {
    const { id, dir } = await h.freshBackup();
    const file = join(dir, 'bot.dump');
    writeFileSync(file, 'this is not a dump\n');
    const { manifest } = await readBackup(h.ports.root, id);
    const content = readFileSync(file);
    await writeManifest(dir, {
      ...manifest,
      files: manifest.files.map((entry) => (entry.name === 'bot.dump' ? { ...entry, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') } : entry)),
    });
    const run = await h.run('backup-verify', { id });
    expect(run).toMatchObject({ state: 'failed' });
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: bot\.dump: pg_restore exited with 1: .*input file does not appear to be a valid archive/);
    expect(verificationOf(dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/^bot\.dump: pg_restore exited with 1/) });
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });

  it('an unknown or unfinished backup is refused before a run is recorded, in a sentence saying which, on submit and on a dry run', async () => {
    const { id, dir } = await h.freshBackup();
    rmSync(join(dir, MANIFEST_FILE));
    const before = await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs');
    const refusal = (work: Promise<unknown>) => work.then(() => 'accepted', (failure: unknown) => failure);
    const unknown = await refusal(h.executor.submit({ runbook: 'backup-verify', args: { id: '20200101T000000Z-000000' }, requester: 'U0ONCALL', origin: 'test' }));
    expect(unknown).toBeInstanceOf(RunbookInputError);
    expect(unknown).toMatchObject({ code: 'refused-by-runbook', message: `There is no backup "20200101T000000Z-000000" in ${h.ports.root}.`, hint: '`backups` lists the backups there.' });
    expect(await refusal(h.executor.plan('backup-verify', { id: '20200101T000000Z-000000' }))).toMatchObject({ code: 'refused-by-runbook' });

    const unfinished = await refusal(h.executor.submit({ runbook: 'backup-verify', args: { id }, requester: 'U0ONCALL', origin: 'test' }));
    expect(unfinished).toMatchObject({ code: 'refused-by-runbook', message: `Backup ${id} is incomplete: no manifest: the backup never finished; only a complete backup can be verified.` });
    expect((await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows).toEqual(before.rows);
  });

  it('PostgreSQL down at the restore: the step names the server and why, and the backup is not recorded as bad', async () => {
    const { id, dir } = await h.freshBackup();
    const server = h.ports.scratchServerUrl;
    h.ports.scratchServerUrl = CLOSED_PORT_URL;
    try {
      const run = await h.run('backup-verify', { id });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(/^step "restore" \(.*\) failed: no scratch database could be created on the scratch server \(127\.0\.0\.1:1\/acgs_gone\): .*ECONNREFUSED/);
      expect(existsSync(join(dir, 'verification.json'))).toBe(false);
      expect((await backupsOverview(h.ports.root)).find((backup) => backup.id === id)).toMatchObject({ state: 'complete', verification: { state: 'never' } });
    } finally {
      h.ports.scratchServerUrl = server;
    }
  });

  it('a malformed backup id is refused before anything is recorded', async () => {
    const before = await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs');
    for (const id of ['latest', '../../etc', '20261206T152000Z-A1B2C3', '']) {
      const error = await h.executor.submit({ runbook: 'backup-verify', args: { id }, requester: 'U0ONCALL', origin: 'test' }).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(RunbookInputError);
      expect(error).toMatchObject({ code: 'bad-arguments' });
      expect((error as Error).message).toMatch(/a backup id looks like 20261206T152000Z-a1b2c3/);
    }
    const missing = await h.executor.submit({ runbook: 'backup-verify', args: {}, requester: 'U0ONCALL', origin: 'test' }).catch((failure: unknown) => failure);
    expect(missing).toMatchObject({ code: 'bad-arguments' });
    expect((await h.t.pool.query('SELECT count(*)::int AS n FROM runbook_runs')).rows).toEqual(before.rows);
    expect((await listBackups(h.ports.root)).length).toBeGreaterThan(0);
  });

  it('its dry run reads the manifest for real and describes the rest', async () => {
    const { id } = await h.freshBackup();
    const plan = await h.executor.plan('backup-verify', { id });
    expect(plan.steps.map((step) => step.dryRun.mode)).toEqual(['read-only-check', 'description', 'description', 'description']);
    expect(plan.steps[0]!.dryRun.text).toMatch(new RegExp(`^backup ${id} of .*: 5 files, dumps audit-engine\\.dump, bot\\.dump$`));
  });

  it('a restore stopped by its step (abort, lost lease, timeout) fails the step but never records the backup as bad', async () => {
    const { id, dir } = await h.freshBackup();
    const restore = backupVerifyRunbook.steps.find((step) => step.id === 'restore')!;
    const stopped = restore.run({ runId: '00000000-0000-4000-8000-00000000abcd', requester: 'U0ONCALL', origin: 'test', approvedBy: [], args: { id }, outputs: {}, attempt: 1, signal: AbortSignal.abort(), ports: { backup: h.ports }, progress: ignoreProgress });
    await expect(stopped).rejects.toThrow(/pg_restore was not started: the step was stopped first/);
    expect(existsSync(join(dir, 'verification.json'))).toBe(false);
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });
});
