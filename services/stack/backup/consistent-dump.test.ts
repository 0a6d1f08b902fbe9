import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/testing/postgres.js';
import { databaseSize, dumpWithRowCounts } from './consistent-dump.js';
import { restoreDump } from './postgres-dump.js';
import { tableRowCounts } from './scratch-database.js';

let source: TestDatabase;
let dir: string;
beforeAll(async () => {
  source = await createTestDatabase('acgs_consistent');
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  await client.query(`CREATE TABLE events (id bigserial PRIMARY KEY, body text NOT NULL);
    INSERT INTO events (body) SELECT md5(g::text) FROM generate_series(1, 20000) g;`);
  await client.end();
  dir = mkdtempSync(join(tmpdir(), 'acgs-consistent-dump-'));
});
afterAll(async () => {
  await source?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a dump with its row counts', () => {
  it('counts exactly the rows the dump holds while a writer keeps inserting', async () => {
    const writer = new pg.Client({ connectionString: source.url });
    await writer.connect();
    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing) {
        await writer.query('INSERT INTO events (body) VALUES ($1)', ['meanwhile']);
        written += 1;
      }
    })();
    let dump;
    try {
      dump = await dumpWithRowCounts({ databaseUrl: source.url, file: join(dir, 'busy.dump') });
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }
    // The writer went on after the dump's snapshot: the source holds more rows than the dump.
    expect(written).toBeGreaterThan(0);
    expect((await tableRowCounts(source.url))['public.events']).toBeGreaterThan(dump.rowCounts['public.events']!);
    // A test database, not a scratch one: other files count scratch databases while this runs.
    const target = await createTestDatabase('acgs_consistent_restore');
    let restored;
    try {
      await restoreDump({ file: dump.file, databaseUrl: target.url });
      restored = await tableRowCounts(target.url);
    } finally {
      await target.drop();
    }
    expect(restored).toEqual(dump.rowCounts);
    expect(dump.rowCounts['public.events']).toBeGreaterThanOrEqual(20000);
  });

  it('sizes the database and its table data, and a database that does not answer says why', async () => {
    const size = await databaseSize(source.url);
    expect(size.tableBytes).toBeGreaterThan(500 * 1024);
    expect(size.databaseBytes).toBeGreaterThan(size.tableBytes);
    await expect(databaseSize('postgres://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/ECONNREFUSED/);
  });
});
