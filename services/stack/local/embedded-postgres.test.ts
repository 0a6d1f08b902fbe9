import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { ensurePrivateDirectory, writePidFile } from './local-state.js';

const root = mkdtempSync(join(tmpdir(), 'acgs-embedded-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every path under dir whose mode gives group or others any access, with that mode. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const mode = (path: string) => statSync(path).mode & 0o777;
  if (mode(dir) & 0o077) found.push(`${dir} ${mode(dir).toString(8)}`);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (mode(path) & 0o077) found.push(`${path} ${mode(path).toString(8)}`);
  }
  return found;
}

describe('the local state is private to the user running the stack', () => {
  it('makes an existing state directory 0700 even when it was created world-readable', () => {
    const state = join(root, 'existing');
    mkdirSync(state, { mode: 0o777 });
    chmodSync(state, 0o777);
    ensurePrivateDirectory(state);
    expect(statSync(state).mode & 0o777).toBe(0o700);
  });

  it('writes pid files readable by their owner only', () => {
    const file = join(root, 'pids', 'alpha.pid');
    writePidFile(file, { service: 'alpha', pid: 1, argv: ['node'], startedAt: new Date().toISOString(), supervisorPid: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('leaves a shared folder (sticky, like /tmp) that holds the data directory as it was: only the data directory is made private', async () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const database = await startEmbeddedPostgres(join(shared, 'pglite'));
    try {
      expect(statSync(shared).mode & 0o7777).toBe(0o1777);
      expect(statSync(join(shared, 'pglite')).mode & 0o777).toBe(0o700);
    } finally {
      await database.stop();
    }
  }, 60_000);

  it('leaves no file of the embedded database open to group or others, after start, use and stop', async () => {
    const state = join(root, 'state');
    ensurePrivateDirectory(state);
    const database = await startEmbeddedPostgres(join(state, 'pglite', 'bot'));
    try {
      expect(openToOthers(state)).toEqual([]);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query('CREATE TABLE written_while_running (id int)');
        await client.query('INSERT INTO written_while_running SELECT generate_series(1, 1000)');
      } finally {
        await client.end();
      }
      // Files PGlite adds while it runs may be 0666, but nobody else can enter their directories.
      expect(statSync(join(state, 'pglite')).mode & 0o777).toBe(0o700);
      expect(statSync(join(state, 'pglite', 'bot')).mode & 0o777).toBe(0o700);
    } finally {
      await database.stop();
    }
    expect(openToOthers(state)).toEqual([]);
  }, 60_000);
});
