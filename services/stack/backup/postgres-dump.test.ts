import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, truncateSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { mountTinyTmpfs } from '../../../test/testing/tiny-tmpfs.js';
import { DumpWriteError, PgToolError, dumpDatabase, listDump, restoreDump } from './postgres-dump.js';
import { pgToolVersion } from './pg-tools.js';
import { SCRATCH_PREFIX, tableRowCounts, withScratchDatabase } from './scratch-database.js';

let source: TestDatabase;
let dir: string;

beforeAll(async () => {
  source = await createTestDatabase('acgs_dump_src');
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  await client.query(`
    CREATE TABLE events (id bigserial PRIMARY KEY, body text NOT NULL);
    -- md5 text barely compresses: the dump outgrows the full-disk test's tiny file system.
    INSERT INTO events (body) SELECT md5(random()::text) || md5(g::text) FROM generate_series(1, 2000) g;
    CREATE SCHEMA audit;
    CREATE TABLE audit."odd name" (n int);
    INSERT INTO audit."odd name" VALUES (1), (2), (3);
  `);
  await client.end();
  dir = mkdtempSync(join(tmpdir(), 'acgs-dump-test-'));
});

afterAll(async () => {
  await source?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function scratchDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    // This file's own purposes only: other files (backup verify) restore into scratch databases at the same time.
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2', [`${SCRATCH_PREFIX}dump_test_%`, `${SCRATCH_PREFIX}truncated_%`]);
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe('a custom-format dump', () => {
  it('is written with its size and the SHA-256 of exactly the bytes on disk', async () => {
    const file = join(dir, 'ok.dump');
    const dump = await dumpDatabase({ databaseUrl: source.url, file });
    const bytes = readFileSync(file);
    expect(dump.bytes).toBe(bytes.length);
    expect(dump.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
  });

  it('lists its tables with data, including a quoted name in another schema', async () => {
    const file = join(dir, 'list.dump');
    await dumpDatabase({ databaseUrl: source.url, file });
    const contents = await listDump(file);
    expect(contents.tablesWithData.sort()).toEqual(['audit.odd name', 'public.events']);
    expect(contents.entries).toContainEqual({ type: 'SEQUENCE SET', schema: 'public', name: 'events_id_seq' });
  });

  it('restores into a scratch database with the same row counts, and the scratch database is gone after', async () => {
    const file = join(dir, 'restore.dump');
    await dumpDatabase({ databaseUrl: source.url, file });
    const counts = await withScratchDatabase(TEST_POSTGRES_URL, 'dump test', async (scratchUrl) => {
      await restoreDump({ file, databaseUrl: scratchUrl });
      return tableRowCounts(scratchUrl);
    });
    expect(counts).toEqual(await tableRowCounts(source.url));
    expect(counts).toEqual({ 'audit.odd name': 3, 'public.events': 2000 });
    expect(await scratchDatabases()).toEqual([]);
  });

  it('names the tool version it was made with', async () => {
    expect(await pgToolVersion('pg_dump')).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
  });
});

describe('bad input and failures', () => {
  it('a database that does not exist: the tool says so and no file is left', async () => {
    const file = join(dir, 'missing-db.dump');
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = '/acgs_no_such_database';
    const failure = dumpDatabase({ databaseUrl: url.toString(), file });
    await expect(failure).rejects.toBeInstanceOf(PgToolError);
    await expect(failure).rejects.toThrow(/pg_dump exited with 1: .*acgs_no_such_database.*does not exist/);
    expect(existsSync(file)).toBe(false);
  });

  it('an existing file is never overwritten, and is left as it was', async () => {
    const file = join(dir, 'existing.dump');
    writeFileSync(file, 'keep me');
    await expect(dumpDatabase({ databaseUrl: source.url, file })).rejects.toThrow(/exists already \(backups are never overwritten\)/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('a full disk: says the disk is full and removes the partial file', async () => {
    const disk = mountTinyTmpfs(16 * 1024);
    try {
      const file = join(disk.dir, 'full.dump');
      expect((await dumpDatabase({ databaseUrl: source.url, file: join(dir, 'size.dump') })).bytes).toBeGreaterThan(64 * 1024);
      const failure = dumpDatabase({ databaseUrl: source.url, file });
      await expect(failure).rejects.toBeInstanceOf(DumpWriteError);
      await expect(failure).rejects.toThrow(/the disk is full/);
      expect(existsSync(file)).toBe(false);
    } finally {
      disk.unmount();
    }
  });

  it('a truncated dump: the restore fails with pg_restore’s words, nothing half-restored, and the scratch database is still removed', async () => {
    const file = join(dir, 'truncated.dump');
    await dumpDatabase({ databaseUrl: source.url, file });
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const restored = withScratchDatabase(TEST_POSTGRES_URL, 'truncated', (scratchUrl) => restoreDump({ file, databaseUrl: scratchUrl }));
    await expect(restored).rejects.toThrow(/^pg_restore exited with 1: /);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a file that is not a dump at all: listing fails and says what pg_restore saw', async () => {
    const file = join(dir, 'not-a-dump.dump');
    writeFileSync(file, 'this is not a dump\n');
    await expect(listDump(file)).rejects.toThrow(/pg_restore exited with 1: .*input file does not appear to be a valid archive/);
  });

  it('a step stopped before the dump began: pg_dump is never started and no file is made', async () => {
    const file = join(dir, 'stopped.dump');
    const failure = dumpDatabase({ databaseUrl: source.url, file, signal: AbortSignal.abort() });
    await expect(failure).rejects.toThrow(/^pg_dump was not started: the step was stopped first$/);
    expect(existsSync(file)).toBe(false);
  });

  it('pg_dump not installed: says how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(dumpDatabase({ databaseUrl: source.url, file: join(dir, 'no-tool.dump') })).rejects.toThrow(/pg_dump is not installed or not on PATH; .*apt-get install postgresql-client/);
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(join(dir, 'no-tool.dump'))).toBe(false);
  });
});
