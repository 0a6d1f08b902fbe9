import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTinyTmpfs } from '../../test/testing/tiny-tmpfs.js';
import { tableRowCounts } from '../../services/stack/backup/scratch-database.js';
import { listBackups, readBackup } from './backup-catalog.js';
import { CLOSED_PORT_URL, backupHarness, type BackupHarness } from './testing/backup-harness.js';
import { attemptLines, BACKUP_OUTCOME } from './testing/run-attempts.js';


let h: BackupHarness;
beforeAll(async () => {
  h = await backupHarness();
});
afterAll(async () => {
  await h?.close();
});

const attemptsOf = (runId: string) => attemptLines(h.t.store, runId);

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('backup', () => {
  it('backs up two databases, the modes, the config and the versions, sealed by a valid manifest', async () => {
    const run = await h.run('backup');
    expect(run).toMatchObject({ state: 'succeeded', reason: expect.stringMatching(BACKUP_OUTCOME) });
    expect(await attemptsOf(run.id)).toEqual([
      'run check#1 done',
      'run create-directory#1 done',
      'run dump-databases#1 done',
      'run save-state#1 done',
      'run verify-files#1 done',
      'run write-manifest#1 done',
      'run retention#1 done',
    ]);
    const [listed] = await listBackups(h.ports.root);
    expect(listed).toMatchObject({ state: 'complete' });
    const { dir, manifest } = await readBackup(h.ports.root, listed!.id);
    expect(manifest.files.map((file) => [file.name, file.kind])).toEqual([
      ['audit-engine.dump', 'postgres-dump'],
      ['bot.dump', 'postgres-dump'],
      ['redis-modes.json', 'redis-modes'],
      ['acgs-config.yaml', 'config'],
      ['versions.json', 'versions'],
    ]);
    for (const file of manifest.files) {
      expect(statSync(join(dir, file.name)).size).toBe(file.bytes);
      expect(sha256(join(dir, file.name))).toBe(file.sha256);
    }
    expect(manifest.files[0]).toMatchObject({ database: expect.stringMatching(/^audit-engine \(127\.0\.0\.1:5432\/acgs_bk_audit_/), row_counts: await tableRowCounts(h.audit.url) });
    expect(manifest.files[1]!.row_counts).toEqual({ 'trail.bot records': 250 });
    expect(manifest.tools.pg_dump).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(manifest.audit_chain_head).toEqual({ sequence: 250, hash: 'c0ffee' });
    expect(manifest.service_versions['evolution-oversight']).toBe('unreachable: connection refused');
    expect(manifest.requested_by).toBe(`U0ONCALL (test, runbook run ${run.id})`);
    expect(JSON.parse(readFileSync(join(dir, 'redis-modes.json'), 'utf8'))).toEqual({ strict: false, lockdown: true });
    expect(readFileSync(join(dir, 'acgs-config.yaml'), 'utf8')).toBe('roles:\n  oncall: [U0ONCALL]\n');
    // The step outputs say what a person needs in the thread: the size and the duration.
    const sealed = (await h.t.store.attempts(run.id)).find((a) => a.stepId === 'write-manifest')!.output;
    expect(sealed).toMatchObject({ id: listed!.id, files: 5, size: expect.stringMatching(/KiB|MiB/) });
  });

  it('its dry run checks the tools, the databases and the disk for real, and only describes the rest', async () => {
    const plan = await h.executor.plan('backup', {});
    expect(plan.steps.map((step) => [step.id, step.dryRun.mode])).toEqual([
      ['check', 'read-only-check'],
      ['create-directory', 'description'],
      ['dump-databases', 'description'],
      ['save-state', 'description'],
      ['verify-files', 'description'],
      ['write-manifest', 'description'],
      ['retention', 'read-only-check'],
    ]);
    expect(plan.steps[0]!.dryRun.text).toMatch(/^pg_dump \(PostgreSQL\).*audit-engine \(127\.0\.0\.1:5432\/acgs_bk_audit_\w+\): .* of table data;.* free$/);
  });

  it('retention removes a crashed backup’s leftovers older than a day, and keeps the rest', async () => {
    const leftover = join(h.ports.root, '20200101T000000Z-abcdef');
    mkdirSync(leftover);
    writeFileSync(join(leftover, 'bot.dump'), 'half a dump');
    const before = (await listBackups(h.ports.root)).filter((backup) => backup.state === 'complete').length;
    const run = await h.run('backup');
    expect(run.state).toBe('succeeded');
    expect(existsSync(leftover)).toBe(false);
    expect((await h.t.store.attempts(run.id)).at(-1)!.output).toEqual({ removed: ['20200101T000000Z-abcdef'], policy: { keepCount: 7, keepDays: 30 } });
    expect((await listBackups(h.ports.root)).filter((backup) => backup.state === 'complete')).toHaveLength(before + 1);
  });
  it('retention leaves an old unfinished backup alone while its run waits for a decision, and removes it once the run ended', async () => {
    const databases = h.ports.databases;
    h.ports.databases = [{ name: 'bot', url: CLOSED_PORT_URL }];
    let waiting;
    try {
      waiting = await h.run('backup');
    } finally {
      h.ports.databases = databases;
    }
    expect(waiting.state).toBe('needs_decision');
    const leftover = (id: string, runId: string) => {
      const dir = join(h.ports.root, id);
      mkdirSync(dir);
      writeFileSync(join(dir, '.run.json'), `${JSON.stringify({ run_id: runId, started_at: '2020-01-02T00:00:00.000Z', audit_chain_head: null })}\n`);
      writeFileSync(join(dir, 'bot.dump'), 'half a dump');
      return dir;
    };
    const waits = leftover('20200102T000000Z-0a0b0c', waiting.id);
    const ended = leftover('20200103T000000Z-0d0e0f', randomUUID());
    const run = await h.run('backup');
    expect(run.state).toBe('succeeded');
    expect((await h.t.store.attempts(run.id)).at(-1)!.output).toEqual({ removed: ['20200103T000000Z-0d0e0f'], policy: { keepCount: 7, keepDays: 30 } });
    expect(existsSync(waits)).toBe(true);
    expect(existsSync(ended)).toBe(false);

    await h.executor.abort(waiting.id, 'U0LEAD');
    expect((await h.settle(waiting.id)).state).toBe('aborted');
    const next = await h.run('backup');
    expect((await h.t.store.attempts(next.id)).at(-1)!.output).toEqual({ removed: ['20200102T000000Z-0a0b0c'], policy: { keepCount: 7, keepDays: 30 } });
    expect(existsSync(waits)).toBe(false);
  });
});

describe('backup when things go wrong', () => {
  it('PostgreSQL down: the check names the database and why; past it, the dump does too, nothing is listed as complete, and a retry dumps only what failed', async () => {
    const root = join(h.workDir, 'down');
    const databases = h.ports.databases;
    h.ports.root = root;
    h.ports.databases = [...databases, { name: 'evolution-oversight', url: CLOSED_PORT_URL }];
    try {
      const stopped = await h.run('backup');
      expect(stopped.state).toBe('needs_decision');
      expect(stopped.reason).toMatch(/^step "check" \(.*\) failed: database evolution-oversight \(127\.0\.0\.1:1\/acgs_gone\) does not answer: .*ECONNREFUSED/);
      expect(await listBackups(root)).toEqual([]);

      // On-call skips the check: the dump step meets the same database down.
      await h.executor.decide(stopped.id, 'skip', 'U0LEAD');
      const failed = await h.settle(stopped.id);
      expect(failed.state).toBe('needs_decision');
      expect(failed.reason).toMatch(/^step "dump-databases" \(.*\) failed: the dump of evolution-oversight \(127\.0\.0\.1:1\/acgs_gone\) failed: connect ECONNREFUSED 127\.0\.0\.1:1$/);
      // The checks and the manifest are built from the dumps: skipping them is refused, nothing changes.
      await expect(h.executor.decide(stopped.id, 'skip', 'U0LEAD')).rejects.toMatchObject({
        code: 'cannot-skip',
        message: `Step "dump-databases" of run ${stopped.id} (backup) cannot be skipped: later steps need its output; retry or abort.`,
      });
      expect(await h.executor.get(stopped.id)).toEqual(failed);
      const listed = await listBackups(root);
      expect(listed).toMatchObject([{ state: 'incomplete', problem: 'no manifest: the backup never finished' }]);
      const dir = join(root, listed[0]!.id);
      expect(readdirSync(dir).filter((name) => !name.startsWith('.')).sort()).toEqual(['audit-engine.dump', 'bot.dump']);
      const firstDump = statSync(join(dir, 'audit-engine.dump')).mtimeMs;

      // PostgreSQL is back; a crash had left half a file: the retry dumps that database again, into a fresh file.
      h.ports.databases = [...databases, { name: 'evolution-oversight', url: h.bot.url }];
      writeFileSync(join(dir, 'evolution-oversight.dump'), 'PGDMP cut short');
      await h.executor.decide(stopped.id, 'retry', 'U0LEAD');
      const done = await h.settle(stopped.id);
      expect(done.state).toBe('succeeded');
      const { manifest } = await readBackup(root, listed[0]!.id);
      expect(manifest.files.filter((file) => file.kind === 'postgres-dump').map((file) => file.name)).toEqual(['audit-engine.dump', 'bot.dump', 'evolution-oversight.dump']);
      expect(statSync(join(dir, 'audit-engine.dump')).mtimeMs).toBe(firstDump);
      expect(await listBackups(root)).toMatchObject([{ id: listed[0]!.id, state: 'complete' }]);
    } finally {
      h.ports.root = join(h.workDir, 'backups');
      h.ports.databases = databases;
    }
  });

  it('a full backup disk: the check says so; past it, the dump fails saying the disk is full; abort removes the half backup', async () => {
    const disk = mountTinyTmpfs(48 * 1024);
    const root = h.ports.root;
    h.ports.root = join(disk.dir, 'backups');
    try {
      const stopped = await h.run('backup');
      expect(stopped.state).toBe('needs_decision');
      expect(stopped.reason).toMatch(/^step "check" \(.*\) failed: the backup disk has \d+\.\d KiB free under .*; the dumps need up to .* kept free: free space there or set ACGS_BACKUP_DIR to a larger disk$/);

      await h.executor.decide(stopped.id, 'skip', 'U0LEAD');
      const failed = await h.settle(stopped.id);
      expect(failed.state).toBe('needs_decision');
      expect(failed.reason).toMatch(/^step "dump-databases" \(.*\) failed: the dump of audit-engine \(.*\) failed: could not write the dump to .*audit-engine\.dump: the disk is full$/);
      expect(await listBackups(h.ports.root)).toMatchObject([{ state: 'incomplete' }]);

      await h.executor.abort(stopped.id, 'U0LEAD');
      const aborted = await h.settle(stopped.id);
      expect(aborted.state).toBe('aborted');
      expect(aborted.detail).toMatchObject({ undone: ['create-directory'] });
      expect(await listBackups(h.ports.root)).toEqual([]);
    } finally {
      h.ports.root = root;
      disk.unmount();
    }
  });

  it('ACGS_CONFIG unreadable, or the policy engine not reporting its modes: the check says so before any dump, nothing is written', async () => {
    const { root, configFiles, modes } = h.ports;
    h.ports.root = join(h.workDir, 'early');
    try {
      h.ports.configFiles = [{ name: 'acgs-config.yaml', path: join(h.workDir, 'no-such-config.yaml') }];
      const unreadable = await h.run('backup');
      expect(unreadable.state).toBe('needs_decision');
      expect(unreadable.reason).toMatch(/^step "check" \(.*\) failed: the config file .*no-such-config\.yaml could not be read: ENOENT/);
      expect(await attemptsOf(unreadable.id)).toEqual(['run check#1 failed']);
      await h.executor.abort(unreadable.id, 'U0LEAD');
      expect((await h.settle(unreadable.id)).state).toBe('aborted');

      h.ports.configFiles = configFiles;
      h.ports.modes = async () => {
        throw new Error('the policy engine did not report its modes in /health');
      };
      const noModes = await h.run('backup');
      expect(noModes.reason).toMatch(/^step "check" \(.*\) failed: the policy engine's modes could not be read: the policy engine did not report its modes in \/health$/);
      expect(await attemptsOf(noModes.id)).toEqual(['run check#1 failed']);
      const plan = await h.executor.plan('backup', {});
      expect(plan.steps[0]!.dryRun).toMatchObject({ error: expect.stringMatching(/the policy engine's modes could not be read/) });
      await h.executor.abort(noModes.id, 'U0LEAD');
      expect((await h.settle(noModes.id)).state).toBe('aborted');
      expect(existsSync(h.ports.root)).toBe(false);
    } finally {
      Object.assign(h.ports, { root, configFiles, modes });
    }
  });

  it('no database configured (the embedded default): the check says why, nothing is written', async () => {
    const databases = h.ports.databases;
    h.ports.databases = [];
    h.ports.databasesProblem = 'the stack runs on the embedded PGlite databases';
    try {
      const run = await h.run('backup');
      expect(run).toMatchObject({ state: 'needs_decision', reason: 'step "check" (Check pg_dump, the config, the policy engine’s modes, the databases and the room on the backup disk) failed: the stack runs on the embedded PGlite databases' });
      await h.executor.abort(run.id, 'U0LEAD');
      expect((await h.settle(run.id)).state).toBe('aborted');
    } finally {
      h.ports.databases = databases;
      delete h.ports.databasesProblem;
    }
  });
});
