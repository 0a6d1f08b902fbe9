/**
 * Backups a restore test spoils on purpose: a copy of a good one under a new id, then a dump
 * changed and resealed (its checksums match although it is bad) or renamed (made when the
 * databases were shared otherwise).
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Manifest {
  id: string;
  files: Array<{ name: string; bytes: number; sha256: string }>;
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const writeManifest = (dir: string, manifest: Manifest) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));

/** A copy of backup `id` under `root` as `newId` (same contents); its directory. */
export function copyBackup(root: string, id: string, newId: string): string {
  const to = join(root, newId);
  cpSync(join(root, id), to, { recursive: true });
  writeManifest(to, { ...readManifest(to), id: newId });
  return to;
}

/** Rewrites the manifest's size and SHA-256 of one file to what the file now holds. */
export function resealFile(dir: string, name: string): void {
  const manifest = readManifest(dir);
  const bytes = readFileSync(join(dir, name));
  const entry = manifest.files.find((file) => file.name === name)!;
  entry.bytes = bytes.length;
  entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeManifest(dir, manifest);
}

/** Renames a dump and its manifest entry. */
export function renameDump(dir: string, from: string, to: string): void {
  const manifest = readManifest(dir);
  manifest.files.find((file) => file.name === from)!.name = to;
  writeFileSync(join(dir, to), readFileSync(join(dir, from)));
  rmSync(join(dir, from));
  writeManifest(dir, manifest);
}
