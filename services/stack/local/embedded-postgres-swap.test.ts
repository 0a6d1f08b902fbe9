import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { recoverInterruptedSwap, swapDataDirectories, swapDirectoriesOf, swapMarkerOf, SwapUndone } from './embedded-postgres-swap.js';

let root: string;
let dataDir: string;
let restoredDir: string;
let previousDir: string;

/** A directory holding one file that says which database it is. */
function database(dir: string, which: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'which'), which);
}
const which = (dir: string) => readFileSync(join(dir, 'which'), 'utf8');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'acgs-swap-'));
  dataDir = join(root, 'audit');
  ({ restoredDir, previousDir } = swapDirectoriesOf(dataDir, '20261206T120000000Z'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('a crash mid-swap, found by the next start', () => {
  it('between the renames (no live directory): the database as it was is put back, the copy removed', () => {
    database(previousDir, 'old');
    database(restoredDir, 'restored');
    writeFileSync(swapMarkerOf(dataDir), JSON.stringify({ restoredDir, previousDir }));
    expect(recoverInterruptedSwap(dataDir)).toMatch(/interrupted mid-swap: .*audit holds the database as it was before that restore again; removed .*audit\.restoring-/);
    expect(which(dataDir)).toBe('old');
    expect([existsSync(previousDir), existsSync(restoredDir), existsSync(swapMarkerOf(dataDir))]).toEqual([false, false, false]);
  });

  it('after both renames: the restored database stays, the previous one is kept and named', () => {
    database(dataDir, 'restored');
    database(previousDir, 'old');
    writeFileSync(swapMarkerOf(dataDir), JSON.stringify({ restoredDir, previousDir }));
    expect(recoverInterruptedSwap(dataDir)).toBe(`a restore was interrupted after its swap: ${dataDir} holds the restored database, never verified by the restore; ${previousDir} holds the one before it (remove it once content)`);
    expect([which(dataDir), which(previousDir)]).toEqual(['restored', 'old']);
  });

  it('before the first rename: the live database stays, the unused copy goes', () => {
    database(dataDir, 'old');
    database(restoredDir, 'restored');
    writeFileSync(swapMarkerOf(dataDir), JSON.stringify({ restoredDir, previousDir }));
    expect(recoverInterruptedSwap(dataDir)).toMatch(/interrupted before its swap: .*audit holds the database as it was/);
    expect([which(dataDir), existsSync(restoredDir)]).toEqual(['old', false]);
  });

  it('neither directory there: refused, nothing made (a fresh empty database would hide the loss)', () => {
    writeFileSync(swapMarkerOf(dataDir), JSON.stringify({ restoredDir, previousDir }));
    expect(() => recoverInterruptedSwap(dataDir)).toThrow(/neither .*audit nor .*before-restore-.* is there; nothing was opened/);
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(swapMarkerOf(dataDir))).toBe(true);
  });

  it('no marker: only a half-built copy a killed restore left is removed', () => {
    database(dataDir, 'old');
    database(restoredDir, 'half');
    expect(recoverInterruptedSwap(dataDir)).toBe(`removed ${restoredDir}, a restored copy an interrupted restore left unused`);
    expect(recoverInterruptedSwap(dataDir)).toBeNull();
    expect(which(dataDir)).toBe('old');
  });
});

describe('swapDataDirectories', () => {
  const closed: string[] = [];
  const close = async (live: string) => void closed.push(live);

  it('swaps and opens the restored one; the old one is kept beside it', async () => {
    database(dataDir, 'old');
    database(restoredDir, 'restored');
    const live = await swapDataDirectories({ live: 'old', dataDir, restoredDir, previousDir, open: async (dir) => which(dir), close });
    expect(live).toBe('restored');
    expect([which(previousDir), existsSync(restoredDir), existsSync(swapMarkerOf(dataDir))]).toEqual(['old', false, false]);
  });

  it('the restored one does not open: undone, the old one open again, the copy back where it was', async () => {
    database(dataDir, 'old');
    database(restoredDir, 'restored');
    const open = async (dir: string) => {
      if (which(dir) === 'restored') throw new Error('it does not open');
      return which(dir);
    };
    const failed = await swapDataDirectories({ live: 'old', dataDir, restoredDir, previousDir, open, close }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(SwapUndone);
    expect((failed as SwapUndone).message).toBe(`the swap failed (it does not open); the database as it was serves again from ${dataDir}`);
    expect((failed as SwapUndone).live).toBe('old');
    expect([which(dataDir), which(restoredDir), existsSync(previousDir), existsSync(swapMarkerOf(dataDir))]).toEqual(['old', 'restored', false, false]);
  });

  it('a previous directory of that name exists: refused before anything closes', async () => {
    database(dataDir, 'old');
    database(restoredDir, 'restored');
    database(previousDir, 'older');
    closed.length = 0;
    await expect(swapDataDirectories({ live: 'old', dataDir, restoredDir, previousDir, open: async (dir) => which(dir), close })).rejects.toThrow(/before-restore-.* exists already; nothing was replaced/);
    expect(closed).toEqual([]);
    expect(which(dataDir)).toBe('old');
  });
});

describe('startEmbeddedPostgres after a crash between the renames', () => {
  it('serves the database as it was before the restore, and says so', { timeout: 60_000 }, async () => {
    const first = await startEmbeddedPostgres(dataDir);
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query("CREATE TABLE kept (n text); INSERT INTO kept VALUES ('before the restore')");
    await client.end();
    await first.untilNoClients();
    await first.stop();
    // What a crash after the first rename leaves: no live directory, the marker, both others.
    renameSync(dataDir, previousDir);
    mkdirSync(restoredDir);
    writeFileSync(swapMarkerOf(dataDir), JSON.stringify({ restoredDir, previousDir }));

    const again = await startEmbeddedPostgres(dataDir);
    try {
      expect(again.recovered).toMatch(/interrupted mid-swap/);
      expect(await again.rowCounts()).toEqual({ 'public.kept': 1 });
    } finally {
      await again.stop();
    }
  });
});

describe('replaceWith with a client still connected', () => {
  it('waits for it, then refuses: nothing replaced, the copy removed, the client still served', { timeout: 90_000 }, async () => {
    const db = await startEmbeddedPostgres(dataDir);
    const client = new pg.Client({ connectionString: db.url });
    try {
      await client.connect();
      await client.query("CREATE TABLE kept (n text); INSERT INTO kept VALUES ('live')");
      const dump = join(root, 'dump.sql');
      writeFileSync(dump, (await db.dump()).sql.replace("'live'", "'from the dump'"));
      await expect(db.replaceWith({ file: dump })).rejects.toThrow(/^1 client\(s\) stayed connected to it for 10 s \(its writers are not all stopped\); nothing was replaced$/);
      expect((await client.query('SELECT n FROM kept')).rows).toEqual([{ n: 'live' }]);
      expect(readdirSync(root).filter((name) => name.startsWith('audit.'))).toEqual([]);
    } finally {
      await client.end();
      await db.untilNoClients();
      await db.stop();
    }
  });
});
