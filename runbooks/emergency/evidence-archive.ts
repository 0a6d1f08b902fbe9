/**
 * The evidence archive of a security breach: a directory of files and a `MANIFEST.sha256` whose
 * lines are `<sha256>  <file>` (what `sha256sum -c MANIFEST.sha256` reads), so that whoever does the
 * forensics can check it with the tools they have. The manifest's own hash goes into the bot's
 * audit trail (the runbook records it), which ties the archive to the hash-chained record: a file
 * changed afterwards fails `verifyEvidenceArchive` by name, and a manifest rewritten to match no
 * longer has the hash the trail holds.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST_FILE = 'MANIFEST.sha256';

/** A file name inside the archive: no directories, nothing hidden, no manifest of its own. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/;
const MANIFEST_LINE = /^([0-9a-f]{64}) {2}(.+)$/;

export interface EvidenceFile {
  name: string;
  content: string | Buffer;
}

export interface ArchivedFile {
  name: string;
  sha256: string;
  bytes: number;
}

export interface EvidenceArchive {
  dir: string;
  files: ArchivedFile[];
  /** The SHA-256 of MANIFEST.sha256's bytes: what the trail records. */
  manifestSha256: string;
}

export interface ArchiveProblem {
  file: string;
  problem: 'changed' | 'missing' | 'not in the manifest' | 'manifest unreadable';
  detail?: string;
}

export interface ArchiveVerification {
  valid: boolean;
  /** Files whose hash matched. */
  checked: number;
  /** The manifest's hash now; compare it with the one the trail recorded. */
  manifestSha256: string | null;
  /** What the manifest lists, as it says (a takeover's record names the files of an archive written before it). */
  listed: Array<{ name: string; sha256: string }>;
  problems: ArchiveProblem[];
}

export class EvidenceArchiveError extends Error {
  override readonly name = 'EvidenceArchiveError';
}

export const sha256 = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex');

/** A manifest's text: one line per file, sorted by name, as sha256sum writes them. */
export function manifestText(files: readonly ArchivedFile[]): string {
  return [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((file) => `${file.sha256}  ${file.name}\n`).join('');
}

/** Writes the files and their manifest into `dir`, which must not exist yet (an archive is written once). Files are 0600: evidence is for the few. */
export async function writeEvidenceArchive(dir: string, files: readonly EvidenceFile[]): Promise<EvidenceArchive> {
  const names = new Set<string>();
  for (const file of files) {
    if (!FILE_NAME.test(file.name) || file.name === MANIFEST_FILE) throw new EvidenceArchiveError(`"${file.name}" cannot be an evidence file's name: letters, digits, ".", "_" and "-" only, not ${MANIFEST_FILE}`);
    if (names.has(file.name)) throw new EvidenceArchiveError(`"${file.name}" is in the archive twice`);
    names.add(file.name);
  }
  if (files.length === 0) throw new EvidenceArchiveError('an evidence archive holds at least one file');
  // Not recursive for the archive itself: an existing directory is someone's evidence already.
  await mkdir(join(dir, '..'), { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new EvidenceArchiveError(`${dir} exists already: an evidence archive is never written over`);
    throw error;
  }
  const archived: ArchivedFile[] = [];
  for (const file of files) {
    await writeExclusive(join(dir, file.name), file.content);
    archived.push({ name: file.name, sha256: sha256(file.content), bytes: Buffer.byteLength(file.content) });
  }
  const manifest = manifestText(archived);
  // The manifest last: a directory without one is an archive whose writing stopped part-way.
  await writeExclusive(join(dir, MANIFEST_FILE), manifest);
  return { dir, files: archived.sort((a, b) => (a.name < b.name ? -1 : 1)), manifestSha256: sha256(manifest) };
}

async function writeExclusive(path: string, content: string | Buffer): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether `dir` holds a finished archive (its manifest was written). */
export async function archiveFinished(dir: string): Promise<boolean> {
  return stat(join(dir, MANIFEST_FILE)).then(
    (found) => found.isFile(),
    () => false,
  );
}

/** Removes an archive whose writing stopped before its manifest (a crash): only such a one. */
export async function removeUnfinishedArchive(dir: string): Promise<boolean> {
  if (await archiveFinished(dir)) return false;
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) await rm(dir, { recursive: true, force: true });
  return exists;
}

/** Re-hashes every file the manifest names; names each changed or missing file, and any file the manifest does not list. */
export async function verifyEvidenceArchive(dir: string): Promise<ArchiveVerification> {
  let manifest: string;
  try {
    manifest = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    return { valid: false, checked: 0, manifestSha256: null, listed: [], problems: [{ file: MANIFEST_FILE, problem: 'manifest unreadable', detail: (error as Error).message }] };
  }
  const problems: ArchiveProblem[] = [];
  const listed = new Set<string>();
  const entries: ArchiveVerification['listed'] = [];
  let checked = 0;
  const lines = manifest.split('\n').filter((line) => line !== '');
  for (const [index, line] of lines.entries()) {
    const match = MANIFEST_LINE.exec(line);
    if (!match || !FILE_NAME.test(match[2]!)) {
      problems.push({ file: MANIFEST_FILE, problem: 'manifest unreadable', detail: `line ${index + 1} is not "<sha256>  <file>"` });
      continue;
    }
    const [, expected, name] = match as unknown as [string, string, string];
    listed.add(name);
    entries.push({ name, sha256: expected });
    let content: Buffer;
    try {
      content = await readFile(join(dir, name));
    } catch {
      problems.push({ file: name, problem: 'missing' });
      continue;
    }
    const actual = sha256(content);
    if (actual === expected) checked += 1;
    else problems.push({ file: name, problem: 'changed', detail: `its SHA-256 is ${actual}, the manifest says ${expected}` });
  }
  for (const entry of await readdir(dir)) {
    if (entry !== MANIFEST_FILE && !listed.has(entry)) problems.push({ file: entry, problem: 'not in the manifest' });
  }
  return { valid: problems.length === 0, checked, manifestSha256: sha256(manifest), listed: entries, problems };
}

/** One sentence naming what is wrong with an archive, for a step's output or a person. */
export function archiveProblemsSentence(verification: ArchiveVerification): string {
  if (verification.valid) return `all ${verification.checked} files match the manifest`;
  return verification.problems.map((problem) => `${problem.file}: ${problem.problem}${problem.detail ? ` (${problem.detail})` : ''}`).join('; ');
}
