import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointSignedBy, signCheckpoint } from './checkpoint-ledger.js';
import { CheckpointKeyError, loadCheckpointKey } from './checkpoint-signing.js';

const dir = mkdtempSync(join(tmpdir(), 'acgs-checkpoint-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const body = { chain: 'test-chain', sequence: 6, hash: 'a'.repeat(64), at: '2026-12-06T11:00:00.000Z', previous_sequence: 0, records_digest: 'b'.repeat(64) };

describe('the checkpoint signing key', () => {
  it('is created on first use as a private file (mode 0600) and read back the same the next time', () => {
    const file = join(dir, 'state', 'trail-signing.key');
    const first = loadCheckpointKey({ file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = loadCheckpointKey({ file });
    expect(again.keyId).toBe(first.keyId);
    expect(checkpointSignedBy(again, 'test-chain', signCheckpoint(first, body))).toBe(true);
  });

  it('is refused, naming the file and the fix, when others may read or write it', () => {
    const file = join(dir, 'open.key');
    loadCheckpointKey({ file });
    chmodSync(file, 0o644);
    expect(() => loadCheckpointKey({ file })).toThrow(CheckpointKeyError);
    expect(() => loadCheckpointKey({ file })).toThrow(`the checkpoint signing key ${file} has mode 644: others may read or replace it, so checkpoints signed with it prove nothing. Run chmod 600 ${file}`);
  });

  it('comes from the environment variable when set, as a base64 seed or a PEM key, and a bad value names the variable', () => {
    const seed = Buffer.alloc(32, 7).toString('base64');
    const fromSeed = loadCheckpointKey({ env: { name: 'ACGS_TRAIL_SIGNING_KEY', value: seed }, file: join(dir, 'unused.key') });
    expect(fromSeed.source).toBe('ACGS_TRAIL_SIGNING_KEY');
    expect(loadCheckpointKey({ env: { name: 'ACGS_TRAIL_SIGNING_KEY', value: seed }, file: join(dir, 'unused.key') }).keyId).toBe(fromSeed.keyId);
    const pemFile = join(dir, 'pem.key');
    const pem = (loadCheckpointKey({ file: pemFile }), readFileSync(pemFile, 'utf8'));
    expect(loadCheckpointKey({ env: { name: 'ACGS_TRAIL_SIGNING_KEY', value: pem }, file: join(dir, 'unused.key') }).keyId).toBe(loadCheckpointKey({ file: pemFile }).keyId);
    for (const bad of ['short', Buffer.alloc(31).toString('base64'), '-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----']) {
      expect(() => loadCheckpointKey({ env: { name: 'ACGS_TRAIL_SIGNING_KEY', value: bad }, file: join(dir, 'unused.key') })).toThrow(/^ACGS_TRAIL_SIGNING_KEY is not an Ed25519 private key/);
    }
  });

  it('never vouches for a checkpoint that was changed, signed by another key, or is not a checkpoint', () => {
    const key = loadCheckpointKey({ file: join(dir, 'a.key') });
    const other = loadCheckpointKey({ file: join(dir, 'b.key') });
    const signed = signCheckpoint(key, body);
    expect(checkpointSignedBy(key, 'test-chain', signed)).toBe(true);
    expect(checkpointSignedBy(key, 'test-chain', { ...signed, sequence: 5 })).toBe(false);
    expect(checkpointSignedBy(key, 'test-chain', { ...signed, hash: 'c'.repeat(64) })).toBe(false);
    expect(checkpointSignedBy(key, 'other-chain', signed)).toBe(false);
    expect(checkpointSignedBy(key, 'test-chain', signCheckpoint(other, body))).toBe(false);
    expect(checkpointSignedBy(key, 'test-chain', { ...signCheckpoint(other, body), key_id: key.keyId })).toBe(false);
    for (const junk of [null, 'text', 42, [], {}, { ...signed, signature: 7 }]) expect(checkpointSignedBy(key, 'test-chain', junk)).toBe(false);
  });
});
