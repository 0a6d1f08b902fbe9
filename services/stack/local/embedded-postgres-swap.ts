/**
 * `restore` of an embedded database: its data directory swapped for a restored one beside it, in
 * the thread that serves it. Two renames cannot be one atomic step, so a marker file beside the
 * data directory (`<dir>.swap.json`, written before the first rename, removed once the restored
 * database serves) lets the next start of npm start tell which directory holds what after a crash
 * mid-swap, and finish or undo it (`recoverInterruptedSwap`): a swap that had not put the restored
 * directory in place is undone (the database as it was before the restore), one that had is kept
 * (the restored database, the previous one beside it for a person).
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function swapMarkerOf(dataDir: string): string {
  return `${dataDir}.swap.json`;
}

/** Where a restore builds the replacement and keeps the database it replaced; `stamp` makes each restore's own. */
export function swapDirectoriesOf(dataDir: string, stamp: string): { restoredDir: string; previousDir: string } {
  return { restoredDir: `${dataDir}.restoring-${stamp}`, previousDir: `${dataDir}.before-restore-${stamp}` };
}

interface SwapMarker {
  restoredDir: string;
  previousDir: string;
}

/**
 * Closes `live`, puts `restoredDir` in `dataDir`'s place (the old one becomes `previousDir`) and
 * opens it. Any failure puts the old directory back and opens it again; the error says where
 * each directory is when even that fails.
 */
export async function swapDataDirectories<T>(options: { live: T; dataDir: string; restoredDir: string; previousDir: string; open(dir: string): Promise<T>; close(live: T): Promise<void> }): Promise<T> {
  const { dataDir, restoredDir, previousDir } = options;
  if (!existsSync(restoredDir)) throw new Error(`the restored copy ${restoredDir} is not there; nothing was replaced`);
  if (existsSync(previousDir)) throw new Error(`${previousDir} exists already; nothing was replaced`);
  const marker = swapMarkerOf(dataDir);
  writeFileSync(marker, JSON.stringify({ restoredDir, previousDir } satisfies SwapMarker), { mode: 0o600, flush: true });
  await options.close(options.live);
  let cause: unknown;
  try {
    renameSync(dataDir, previousDir);
    try {
      renameSync(restoredDir, dataDir);
      try {
        const opened = await options.open(dataDir);
        rmSync(marker, { force: true });
        return opened;
      } catch (error) {
        renameSync(dataDir, restoredDir);
        throw error;
      }
    } catch (error) {
      renameSync(previousDir, dataDir);
      throw error;
    }
  } catch (error) {
    cause = error;
  }
  const why = (cause as Error).message;
  if (!existsSync(dataDir) || existsSync(previousDir)) {
    throw new Error(`the swap failed (${why}) and could not be undone: ${dataDir} ${existsSync(dataDir) ? 'holds the restored copy' : 'is missing'}, ${previousDir} holds the database as it was; the next start of npm start puts it back (${marker})`);
  }
  try {
    const again = await options.open(dataDir);
    rmSync(marker, { force: true });
    // The caller learns of the failure; the old instance serves again meanwhile.
    throw new SwapUndone(`the swap failed (${why}); the database as it was serves again from ${dataDir}`, again);
  } catch (error) {
    if (error instanceof SwapUndone) throw error;
    throw new Error(`the swap failed (${why}); ${dataDir} holds the database as it was, but it could not be opened again (${(error as Error).message}): restart npm start`);
  }
}

/** A swap that failed and was undone: `live` is the old database, open again. */
export class SwapUndone<T = unknown> extends Error {
  constructor(
    message: string,
    readonly live: T,
  ) {
    super(message);
    this.name = 'SwapUndone';
  }
}

/**
 * Before the database opens: finishes or undoes a swap a crash interrupted (see above), and
 * removes replacements a crash left half-built (never live). Returns what it did, for the log.
 */
export function recoverInterruptedSwap(dataDir: string): string | null {
  const marker = swapMarkerOf(dataDir);
  const notes: string[] = [];
  if (existsSync(marker)) {
    const { restoredDir, previousDir } = JSON.parse(readFileSync(marker, 'utf8')) as SwapMarker;
    if (!existsSync(dataDir) && existsSync(previousDir)) {
      renameSync(previousDir, dataDir);
      notes.push(`a restore was interrupted mid-swap: ${dataDir} holds the database as it was before that restore again`);
    } else if (existsSync(dataDir) && !existsSync(restoredDir)) {
      notes.push(`a restore was interrupted after its swap: ${dataDir} holds the restored database, never verified by the restore; ${previousDir} holds the one before it (remove it once content)`);
    } else if (existsSync(dataDir)) {
      notes.push(`a restore was interrupted before its swap: ${dataDir} holds the database as it was`);
    } else {
      throw new Error(`a restore was interrupted mid-swap and neither ${dataDir} nor ${previousDir} is there; nothing was opened (see ${marker})`);
    }
    rmSync(marker);
  }
  const prefix = `${basename(dataDir)}.restoring-`;
  const parent = dirname(dataDir);
  for (const entry of existsSync(parent) ? readdirSync(parent) : []) {
    if (!entry.startsWith(prefix)) continue;
    rmSync(join(parent, entry), { recursive: true, force: true });
    notes.push(`removed ${join(parent, entry)}, a restored copy an interrupted restore left unused`);
  }
  return notes.length > 0 ? notes.join('; ') : null;
}
