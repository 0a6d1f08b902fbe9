/**
 * The evidence archive on real files in a temporary directory (removed after): written with a
 * sha256sum-compatible manifest, verified, a changed, a missing and an added file each named, an
 * unfinished archive told apart, bad names refused; and secrets redacted from what goes in.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveFinished, EvidenceArchiveError, MANIFEST_FILE, removeUnfinishedArchive, sha256, verifyEvidenceArchive, writeEvidenceArchive } from './evidence-archive.js';
import { REDACTED, redactText, redactValue } from './evidence-redaction.js';

const root = mkdtempSync(join(tmpdir(), 'acgs-evidence-test-'));
let count = 0;
const fresh = () => join(root, `archive-${++count}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const FILES = [
  { name: 'versions.json', content: '{"policy-engine":"1.0.0"}\n' },
  { name: 'logs-policy-engine.txt', content: 'line one\nline two\n' },
  { name: 'audit-chains.json', content: Buffer.from('{"head":"abc"}') },
];

describe('writeEvidenceArchive and verifyEvidenceArchive', () => {
  it('writes each file and a manifest sha256sum accepts, hashing the manifest itself', async () => {
    const dir = fresh();
    const archive = await writeEvidenceArchive(dir, FILES);
    expect(archive.files.map((file) => file.name)).toEqual(['audit-chains.json', 'logs-policy-engine.txt', 'versions.json']);
    const manifest = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
    expect(manifest).toBe(archive.files.map((file) => `${file.sha256}  ${file.name}\n`).join(''));
    expect(archive.manifestSha256).toBe(sha256(manifest));
    expect(archive.files.find((file) => file.name === 'versions.json')!.sha256).toBe(sha256(FILES[0]!.content));
    expect(statSync(join(dir, 'versions.json')).mode & 0o777).toBe(0o600);
    expect(execFileSync('sha256sum', ['-c', MANIFEST_FILE], { cwd: dir, encoding: 'utf8' })).toContain('versions.json: OK');
    expect(await verifyEvidenceArchive(dir)).toEqual({ valid: true, checked: 3, manifestSha256: archive.manifestSha256, listed: archive.files.map(({ name, sha256: hash }) => ({ name, sha256: hash })), problems: [] });
  });

  it('names a file changed after the archive was written, and one removed, and one added', async () => {
    const dir = fresh();
    const archive = await writeEvidenceArchive(dir, FILES);
    writeFileSync(join(dir, 'logs-policy-engine.txt'), 'line one\nline 2\n');
    unlinkSync(join(dir, 'versions.json'));
    writeFileSync(join(dir, 'planted.txt'), 'x');
    const verification = await verifyEvidenceArchive(dir);
    expect(verification.valid).toBe(false);
    expect(verification.checked).toBe(1);
    expect(verification.manifestSha256).toBe(archive.manifestSha256);
    expect(verification.problems).toEqual([
      { file: 'logs-policy-engine.txt', problem: 'changed', detail: expect.stringMatching(/^its SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}$/) },
      { file: 'versions.json', problem: 'missing' },
      { file: 'planted.txt', problem: 'not in the manifest' },
    ]);
  });

  it('sees a rewritten manifest by its hash, and says when the manifest is gone or garbled', async () => {
    const dir = fresh();
    const archive = await writeEvidenceArchive(dir, FILES);
    writeFileSync(join(dir, 'versions.json'), '{"policy-engine":"6.6.6"}\n');
    const forged = readFileSync(join(dir, MANIFEST_FILE), 'utf8').replace(sha256(FILES[0]!.content), sha256('{"policy-engine":"6.6.6"}\n'));
    writeFileSync(join(dir, MANIFEST_FILE), forged);
    const verification = await verifyEvidenceArchive(dir);
    expect(verification.valid).toBe(true);
    expect(verification.manifestSha256).not.toBe(archive.manifestSha256);
    writeFileSync(join(dir, MANIFEST_FILE), 'not a manifest\n');
    expect((await verifyEvidenceArchive(dir)).problems[0]).toEqual({ file: MANIFEST_FILE, problem: 'manifest unreadable', detail: 'line 1 is not "<sha256>  <file>"' });
    unlinkSync(join(dir, MANIFEST_FILE));
    const gone = await verifyEvidenceArchive(dir);
    expect(gone.valid).toBe(false);
    expect(gone.problems[0]).toMatchObject({ file: MANIFEST_FILE, problem: 'manifest unreadable' });
  });

  it('never writes over an archive, and removes only an unfinished one', async () => {
    const dir = fresh();
    await writeEvidenceArchive(dir, FILES);
    await expect(writeEvidenceArchive(dir, FILES)).rejects.toThrow(/exists already: an evidence archive is never written over/);
    expect(await removeUnfinishedArchive(dir)).toBe(false);
    expect(await archiveFinished(dir)).toBe(true);
    unlinkSync(join(dir, MANIFEST_FILE));
    expect(await archiveFinished(dir)).toBe(false);
    expect(await removeUnfinishedArchive(dir)).toBe(true);
    expect(() => statSync(dir)).toThrow();
  });

  it('refuses bad file names, twice the same name and an empty archive, writing nothing', async () => {
    for (const name of ['../escape', 'sub/dir.txt', '.hidden', MANIFEST_FILE, '']) {
      const dir = fresh();
      await expect(writeEvidenceArchive(dir, [{ name, content: 'x' }])).rejects.toThrow(EvidenceArchiveError);
      expect(() => statSync(dir)).toThrow();
    }
    await expect(writeEvidenceArchive(fresh(), [FILES[0]!, FILES[0]!])).rejects.toThrow(/in the archive twice/);
    await expect(writeEvidenceArchive(fresh(), [])).rejects.toThrow(/at least one file/);
  });
});

describe('redaction', () => {
  it('blanks secret-looking keys, passwords in URLs, bearer tokens and known values', () => {
    const token = 'tok-0123456789abcdef0123456789abcdef';
    const config = [
      'channels: { ops: C0OPS }',
      'database_url: postgres://acgs:hunter2hunter2@db:5432/acgs',
      'contacts:',
      '  pager:',
      '    webhook: { url: https://paging.example.com/hook, secret: abcdefghijklmnopqrstuvwxyz0123456789 }',
      `ACGS_ADMIN_TOKEN=${token}`,
      `some line that mentions ${token} by itself`,
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
    ].join('\n');
    const redacted = redactText(config, [token]);
    expect(redacted).not.toContain('hunter2hunter2');
    expect(redacted).not.toContain('abcdefghijklmnopqrstuvwxyz0123456789');
    expect(redacted).not.toContain(token);
    expect(redacted).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(redacted).toContain(`postgres://acgs:${REDACTED}@db:5432/acgs`);
    expect(redacted).toContain('channels: { ops: C0OPS }');
    expect(redacted).toContain('https://paging.example.com/hook');
    expect(redacted).toContain(`ACGS_ADMIN_TOKEN=${REDACTED}`);
  });

  it('blanks the values of secret keys in JSON, leaving the rest', () => {
    expect(redactValue({ ACGS_SERVICE_TOKEN: 'abc', SLACK_SIGNING_SECRET: 'def', PORT: '3000', nested: { password: 'p', url: 'redis://:pw12345678@r:6379', empty: '' }, list: ['Bearer abcdefghijkl'] })).toEqual({
      ACGS_SERVICE_TOKEN: REDACTED,
      SLACK_SIGNING_SECRET: REDACTED,
      PORT: '3000',
      nested: { password: REDACTED, url: `redis://:${REDACTED}@r:6379`, empty: '' },
      list: [`Bearer ${REDACTED}`],
    });
  });
});
