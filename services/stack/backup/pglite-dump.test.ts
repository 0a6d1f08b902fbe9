/**
 * Dumps of an embedded PGlite database as npm start runs it (its own worker thread, served on a
 * loopback socket to one `pg` client), restored into a scratch PGlite. The dump must see one state
 * while a client writes, never run inside a client's transaction, and leave the client's session
 * as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../local/embedded-postgres.js';
import { SqlDumpRefused, dumpEmbeddedDatabase, listSqlDump, restoreSqlDump, withSqlDumpCopy, type SqlDumpCopy } from './pglite-dump.js';

let scratch: string;
let database: EmbeddedPostgres;
let client: pg.Client;
let dumps = 0;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'acgs-pglite-dump-'));
  database = await startEmbeddedPostgres(join(scratch, 'pglite', 'audit'));
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  // Names and values a careless dump or count would get wrong: a schema and a table with spaces
  // and a semicolon, text holding a newline and what looks like a dump's own comment.
  await client.query(`
    CREATE TABLE events (id bigserial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL DEFAULT now(), data jsonb, raw bytea);
    CREATE TABLE event_pairs (event_id bigint REFERENCES events (id));
    CREATE SCHEMA "odd schema";
    CREATE TABLE "odd schema"."a; b" (n int);
    INSERT INTO events (body, data, raw) SELECT 'event ' || g || E'\\n-- Data for Name: fake; Type: TABLE DATA; Schema: public; Owner: x', jsonb_build_object('g', g), '\\x00ff'::bytea FROM generate_series(1, 500) g;
    INSERT INTO event_pairs SELECT id FROM events;
    INSERT INTO "odd schema"."a; b" VALUES (1), (2), (3);`);
}, 60_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await database?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function dumpNow(): Promise<{ file: string; rowCounts: Record<string, number>; tools: Record<string, string> }> {
  const file = join(scratch, `dump-${(dumps += 1)}.sql`);
  return dumpEmbeddedDatabase({ source: database, file });
}

describe('a dump of an embedded database', () => {
  it('restores into a scratch PGlite with the row counts it was taken with, and names its tools', async () => {
    const { file, rowCounts, tools } = await dumpNow();
    expect(rowCounts).toEqual({ 'odd schema.a; b': 3, 'public.event_pairs': 500, 'public.events': 500 });
    expect(tools.pg_dump).toMatch(/^pg_dump \(PostgreSQL\) 18\.\d+, wasm build of @electric-sql\/pglite-tools \d+\.\d+\.\d+$/);
    expect(tools.pglite).toMatch(/^PostgreSQL 18\.\d+, @electric-sql\/pglite 0\.5\.\d+$/);
    // The fake comment inside a value is not an entry: only pg_dump's own lines start a line with it.
    expect((await listSqlDump(file)).tablesWithData.sort()).toEqual(['odd schema.a; b', 'public.event_pairs', 'public.events']);
    expect((await restoreSqlDump({ file })).rowCounts).toEqual(rowCounts);
  }, 60_000);

  it('leaves the client’s session as it was: its prepared statements, settings, and no transaction', async () => {
    await client.query('PREPARE kept AS SELECT 41 + 1 AS answer');
    const settings = async () => (await client.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE context IN ('user', 'superuser') ORDER BY name`)).rows;
    const before = await settings();
    await dumpNow();
    expect((await client.query('EXECUTE kept')).rows).toEqual([{ answer: 42 }]);
    expect(await settings()).toEqual(before);
    // pg_dump's read-only transaction is over: the client writes again.
    await client.query(`INSERT INTO "odd schema"."a; b" VALUES (4)`);
    await client.query(`DELETE FROM "odd schema"."a; b" WHERE n = 4`);
    await client.query('DEALLOCATE kept');
  }, 60_000);

  it('waits for a client’s open transaction to end, and then holds what it committed', async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "odd schema"."a; b" VALUES (10)`);
    let settled = false;
    const dumping = dumpNow().finally(() => (settled = true));
    // Each statement gives the lock back between messages: a dump that could start now would have.
    for (let n = 11; n <= 20; n += 1) await client.query(`INSERT INTO "odd schema"."a; b" VALUES ($1)`, [n]);
    expect(settled).toBe(false);
    await client.query('COMMIT');
    const { file, rowCounts } = await dumping;
    expect(rowCounts['odd schema.a; b']).toBe(14);
    expect((await restoreSqlDump({ file })).rowCounts).toEqual(rowCounts);
    await client.query(`DELETE FROM "odd schema"."a; b" WHERE n >= 10`);
  }, 60_000);

  it('gives up on a transaction held open past its wait, saying so, and the client’s transaction goes on', async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "odd schema"."a; b" VALUES (30)`);
    const refused = await database.dump({ waitMs: 300 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/stayed inside a transaction \(or an unfinished query\) for \d+ s; nothing was dumped: try again/);
    await client.query(`INSERT INTO "odd schema"."a; b" VALUES (31)`);
    await client.query('COMMIT');
    expect((await client.query(`SELECT count(*)::int AS n FROM "odd schema"."a; b" WHERE n >= 30`)).rows).toEqual([{ n: 2 }]);
    await client.query(`DELETE FROM "odd schema"."a; b" WHERE n >= 30`);
  }, 60_000);

  it('does not wait for a client that left inside its transaction: that transaction is rolled back, not dumped', async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "odd schema"."a; b" VALUES (40)`);
    await client.end();
    const { rowCounts } = await database.dump({ waitMs: 5000 });
    expect(rowCounts['odd schema.a; b']).toBe(3);
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  }, 60_000);

  it('is one consistent state while a client keeps writing in transactions and parameterized statements', async () => {
    // Each transaction adds one event and its pair: in any one state both tables have as many rows.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing && written < 2000) {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string }>('INSERT INTO events (body) VALUES ($1) RETURNING id', [`written ${written}`]);
        await client.query('INSERT INTO event_pairs VALUES ($1)', [rows[0]!.id]);
        await client.query('COMMIT');
        written += 1;
      }
    })();
    const taken = [];
    try {
      for (let n = 0; n < 3; n += 1) taken.push(await dumpNow());
    } finally {
      writing = false;
      await writer;
    }
    const sizes = taken.map(({ rowCounts }) => rowCounts['public.events']);
    for (const { file, rowCounts } of taken) {
      expect(rowCounts['public.event_pairs']).toBe(rowCounts['public.events']);
      expect((await restoreSqlDump({ file })).rowCounts).toEqual(rowCounts);
    }
    // The writer went on between the dumps (else this shows nothing), and never failed.
    expect(new Set(sizes).size).toBeGreaterThan(1);
    expect(written).toBeGreaterThan(0);
  }, 120_000);
});

describe('a dump that is not whole is refused', () => {
  let good: string;
  beforeAll(async () => {
    good = readFileSync((await dumpNow()).file, 'utf8');
  }, 60_000);

  it('cut short anywhere: its table of contents lacks pg_dump’s last line', async () => {
    for (const fraction of [0.3, 0.9, 0.995]) {
      const file = join(scratch, `cut-${fraction}.sql`);
      writeFileSync(file, good.slice(0, Math.floor(good.length * fraction)));
      await expect(listSqlDump(file)).rejects.toThrow(new SqlDumpRefused('it does not end with "PostgreSQL database dump complete": it was cut short'));
    }
  });

  it('no dump at all: refused by its first line', async () => {
    const file = join(scratch, 'not-a-dump.sql');
    writeFileSync(file, 'SELECT 1;\n');
    await expect(listSqlDump(file)).rejects.toThrow('it does not begin as a pg_dump plain SQL dump does');
  });

  it('a statement broken in the middle: the restore stops at it with PostgreSQL’s words', async () => {
    const file = join(scratch, 'broken.sql');
    writeFileSync(file, good.replace('INSERT INTO public.events VALUES (250,', 'INSERT INTO public.events VALUES (250 250,'));
    const refused = await restoreSqlDump({ file }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SqlDumpRefused);
    expect((refused as Error).message).toBe('syntax error at or near "250"');
  }, 60_000);

  it('cut short between statements: the restore succeeds, so the row counts must tell', async () => {
    const file = join(scratch, 'cut-between.sql');
    const at = good.indexOf('INSERT INTO public.events VALUES (250,');
    writeFileSync(file, good.slice(0, at));
    const { rowCounts } = await restoreSqlDump({ file });
    expect(rowCounts['public.events']).toBe(249);
  }, 60_000);
});

describe('a dump restored into a copy kept open for queries (backup verify walks its chains)', () => {
  const EVENTS = 'SELECT id, body, at, data FROM events WHERE id <= $1 ORDER BY id';

  it('answers as pg answers for the live database: bigint as text, timestamptz as a Date, jsonb as values', async () => {
    const { file, rowCounts } = await dumpNow();
    const live = (await client.query(EVENTS, [3])).rows;
    const copied = await withSqlDumpCopy({ file }, async (copy) => {
      expect(copy.rowCounts).toEqual(rowCounts);
      return (await copy.query(EVENTS, [3])).rows;
    });
    expect(copied).toEqual(live);
    expect(copied[0]).toMatchObject({ id: '1', at: expect.any(Date), data: { g: 1 } });
  }, 60_000);

  it('a query it refuses fails with PostgreSQL’s words, and the copy answers the next one', async () => {
    const { file } = await dumpNow();
    // An earlier test writes events while it dumps, as many as the machine's speed allows.
    const live = (await client.query<{ count: string }>('SELECT count(*) FROM events')).rows;
    await withSqlDumpCopy({ file }, async (copy) => {
      await expect(copy.query('SELECT * FROM no_such_table')).rejects.toThrow('relation "no_such_table" does not exist');
      expect((await copy.query<{ count: string }>('SELECT count(*) FROM events')).rows).toEqual(live);
    });
  }, 60_000);

  it('ends with its user: a query afterwards is refused, saying the thread ended', async () => {
    const { file } = await dumpNow();
    let kept: SqlDumpCopy | undefined;
    await withSqlDumpCopy({ file }, async (copy) => {
      kept = copy;
    });
    await expect(kept!.query('SELECT 1')).rejects.toThrow(/^the scratch database's thread exited with code \d+$/);
  }, 60_000);

  it('a stopped step ends the thread at once: a query in flight fails, saying so', async () => {
    const { file } = await dumpNow();
    const stop = new AbortController();
    const started = performance.now();
    const outcome = await withSqlDumpCopy({ file, signal: stop.signal }, async (copy) => {
      const sleeping = copy.query('SELECT pg_sleep(30)');
      stop.abort();
      return sleeping;
    }).catch((error: unknown) => error);
    expect(outcome).toEqual(new Error('the step was stopped'));
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it('a dump that does not restore is refused before anyone queries it', async () => {
    const file = join(scratch, 'copy-broken.sql');
    writeFileSync(file, readFileSync((await dumpNow()).file, 'utf8').replace('INSERT INTO public.events VALUES (250,', 'INSERT INTO public.events VALUES (250 250,'));
    let used = false;
    const refused = await withSqlDumpCopy({ file }, async () => {
      used = true;
    }).catch((error: unknown) => error);
    expect(refused).toEqual(new SqlDumpRefused('syntax error at or near "250"'));
    expect(used).toBe(false);
  }, 60_000);
});
