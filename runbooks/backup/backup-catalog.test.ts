import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, appendFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BackupNotFoundError,
  BackupUnusableError,
  checkFiles,
  createBackupDirectory,
  listBackups,
  readBackup,
  recordVerification,
  removeBackup,
  retentionPlan,
  writeManifest,
  type BackupListing,
} from './backup-catalog.js';
import type { BackupManifest } from './backup-manifest.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'acgs-backups-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A finished backup with one dump file holding `content`. */
async function finishedBackup(at: Date, content = 'PGDMP fake dump'): Promise<{ id: string; dir: string; manifest: BackupManifest }> {
  const { id, dir } = await createBackupDirectory(root, at);
  writeFileSync(join(dir, 'acgs_audit.dump'), content);
  const manifest: BackupManifest = {
    format: 1,
    id,
    started_at: at.toISOString(),
    finished_at: new Date(at.getTime() + 5000).toISOString(),
    requested_by: 'U0ONCALL',
    files: [{ name: 'acgs_audit.dump', kind: 'postgres-dump', bytes: Buffer.byteLength(content), sha256: sha(content), database: 'acgs_audit', row_counts: { 'public.audit_events': 12 } }],
    tools: { pg_dump: 'pg_dump (PostgreSQL) 15.20' },
    audit_chain_head: { sequence: 41, hash: 'ab'.repeat(32) },
    service_versions: { 'policy-engine': '1.0.0' },
  };
  await writeManifest(dir, manifest);
  return { id, dir, manifest };
}

describe('listing backups', () => {
  it('is empty when the backup directory does not exist yet', async () => {
    expect(await listBackups(join(root, 'not-yet'))).toEqual([]);
  });

  it('lists newest first, with size, and says which never finished and which cannot be read', async () => {
    const older = await finishedBackup(new Date('2026-12-01T02:00:00Z'));
    const newer = await finishedBackup(new Date('2026-12-05T02:00:00Z'), 'a longer fake dump');
    const crashed = await createBackupDirectory(root, new Date('2026-12-06T02:00:00Z'));
    writeFileSync(join(crashed.dir, 'acgs_audit.dump'), 'half');
    const broken = await createBackupDirectory(root, new Date('2026-12-04T02:00:00Z'));
    writeFileSync(join(broken.dir, 'manifest.json'), '{"format": 1, "id": "nope"');
    mkdirSync(join(root, 'not-a-backup'));

    const listed = await listBackups(root);
    expect(listed.map((backup) => [backup.id, backup.state])).toEqual([
      [crashed.id, 'incomplete'],
      [newer.id, 'complete'],
      [broken.id, 'unreadable'],
      [older.id, 'complete'],
    ]);
    expect(listed[1]!.bytes).toBe(Buffer.byteLength('a longer fake dump'));
    expect(listed[0]!.problem).toBe('no manifest: the backup never finished');
    expect(listed[2]!.problem).toMatch(/^the manifest is not JSON/);
  });

  it('shows the verification state once recorded', async () => {
    const backup = await finishedBackup(new Date('2026-12-05T02:00:00Z'));
    await recordVerification(backup.dir, { verified_at: '2026-12-05T03:00:00.000Z', ok: true, verified_by: 'U0ONCALL' });
    expect((await listBackups(root))[0]!.verification).toMatchObject({ ok: true });
  });
});

describe('reading one backup', () => {
  it('returns the manifest of a finished backup', async () => {
    const backup = await finishedBackup(new Date('2026-12-05T02:00:00Z'));
    expect((await readBackup(root, backup.id)).manifest).toEqual(backup.manifest);
  });

  it('an id that is not one, or names nothing, or tries to leave the directory: a clear refusal', async () => {
    await expect(readBackup(root, '20261205T020000Z-abcdef')).rejects.toThrow(new BackupNotFoundError('20261205T020000Z-abcdef'));
    await expect(readBackup(root, '20261205T020000Z-abcdef')).rejects.toThrow(/there is no backup 20261205T020000Z-abcdef; `\/acgs backups` lists them/);
    await expect(readBackup(root, '../../etc')).rejects.toThrow(/"..\/..\/etc" is not a backup id/);
    await expect(removeBackup(root, '..')).rejects.toBeInstanceOf(BackupNotFoundError);
  });

  it('a backup that never finished cannot be used, and says why', async () => {
    const crashed = await createBackupDirectory(root, new Date('2026-12-06T02:00:00Z'));
    await expect(readBackup(root, crashed.id)).rejects.toThrow(new BackupUnusableError(crashed.id, 'no manifest: the backup never finished'));
  });

  it('a manifest that fails its schema is refused before it is ever written', async () => {
    const { dir, id } = await createBackupDirectory(root);
    await expect(writeManifest(dir, { format: 1, id, files: [{ name: '../escape', kind: 'config', bytes: 1, sha256: 'x' }] } as unknown as BackupManifest)).rejects.toThrow();
    expect((await listBackups(root))[0]!.state).toBe('incomplete');
  });
});

describe('checking files against the manifest', () => {
  it('finds nothing wrong with intact files', async () => {
    const backup = await finishedBackup(new Date());
    expect(await checkFiles(backup.dir, backup.manifest)).toEqual([]);
  });

  it('names a missing file, a truncated or grown one, and one changed in place', async () => {
    const missing = await finishedBackup(new Date('2026-12-01T00:00:00Z'));
    unlinkSync(join(missing.dir, 'acgs_audit.dump'));
    expect(await checkFiles(missing.dir, missing.manifest)).toEqual([{ name: 'acgs_audit.dump', problem: 'missing', detail: 'acgs_audit.dump is missing' }]);

    const grown = await finishedBackup(new Date('2026-12-02T00:00:00Z'));
    appendFileSync(join(grown.dir, 'acgs_audit.dump'), 'x');
    expect((await checkFiles(grown.dir, grown.manifest))[0]).toMatchObject({ problem: 'size' });

    const changed = await finishedBackup(new Date('2026-12-03T00:00:00Z'), 'PGDMP fake dump');
    writeFileSync(join(changed.dir, 'acgs_audit.dump'), 'PGDMP fake dumq');
    expect((await checkFiles(changed.dir, changed.manifest))[0]).toMatchObject({ problem: 'checksum' });
  });
});

describe('retention', () => {
  const listing = (id: string, state: BackupListing['state'], startedAt: string): BackupListing => ({ id, state, startedAt: new Date(startedAt), bytes: 1 });
  const now = new Date('2026-12-20T00:00:00Z');

  it('keeps the newest N complete backups whatever their age, and removes older ones past the age limit', () => {
    const backups = [
      listing('20261219T000000Z-000001', 'complete', '2026-12-19T00:00:00Z'),
      listing('20261201T000000Z-000002', 'complete', '2026-12-01T00:00:00Z'),
      listing('20261120T000000Z-000003', 'complete', '2026-11-20T00:00:00Z'),
      listing('20261110T000000Z-000004', 'complete', '2026-11-10T00:00:00Z'),
    ];
    expect(retentionPlan(backups, { keepCount: 2, keepDays: 14 }, now).map((backup) => backup.id)).toEqual(['20261120T000000Z-000003', '20261110T000000Z-000004']);
    expect(retentionPlan(backups, { keepCount: 2, keepDays: 60 }, now)).toEqual([]);
  });

  it('never removes the newest complete backup, even with a count of zero and everything old', () => {
    const backups = [listing('20260101T000000Z-000001', 'complete', '2026-01-01T00:00:00Z'), listing('20251201T000000Z-000002', 'complete', '2025-12-01T00:00:00Z')];
    expect(retentionPlan(backups, { keepCount: 0, keepDays: 1 }, now).map((backup) => backup.id)).toEqual(['20251201T000000Z-000002']);
  });

  it('removes a crashed backup after a day, never one that may still be being written', () => {
    const backups = [listing('20261219T230000Z-00000a', 'incomplete', '2026-12-19T23:00:00Z'), listing('20261218T000000Z-00000b', 'incomplete', '2026-12-18T00:00:00Z')];
    expect(retentionPlan(backups, { keepCount: 5, keepDays: 30 }, now).map((backup) => backup.id)).toEqual(['20261218T000000Z-00000b']);
  });

  it('removing a backup removes its directory', async () => {
    const backup = await finishedBackup(new Date());
    await removeBackup(root, backup.id);
    expect(await listBackups(root)).toEqual([]);
  });
});
