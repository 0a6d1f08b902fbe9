import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from '../../../test/testing/postgres.js';
import { type HashChainTables, chainTablesMigration, checkpointsMigration } from './chain-schema.js';

const DEMO: HashChainTables = { records: 'demo_records', head: 'demo_head', checkpoints: 'demo_checkpoints', hashColumn: 'hash', recordNoun: 'note' };
const tables = chainTablesMigration(DEMO, 'CREATE TABLE demo_records (sequence bigint PRIMARY KEY, note text, hash text NOT NULL);');
const checkpoints = checkpointsMigration(DEMO);

describe('the tables of a hash chain', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('acgs_chain_schema');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(tables.sql.up);
    await client.query(checkpoints.sql.up);
    await client.query(`INSERT INTO demo_records VALUES (1, 'first', 'h1'), (2, 'second', 'h2')`);
    await client.query(`INSERT INTO demo_head (sequence, hash) VALUES (2, 'h2')`);
    await client.query(`INSERT INTO demo_checkpoints (sequence, checkpoint, records) VALUES (2, '{}', '[]')`);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('names its triggers and functions after the tables', async () => {
    const { rows } = await client.query<{ table: string; trigger: string; function: string }>(
      `SELECT c.relname AS table, t.tgname AS trigger, p.proname AS function
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { table: 'demo_checkpoints', trigger: 'demo_checkpoints_append_only', function: 'demo_records_reject_change' },
      { table: 'demo_checkpoints', trigger: 'demo_checkpoints_no_truncate', function: 'demo_records_reject_change' },
      { table: 'demo_head', trigger: 'demo_head_forward_only', function: 'demo_head_only_forward' },
      { table: 'demo_head', trigger: 'demo_head_no_truncate', function: 'demo_head_only_forward' },
      { table: 'demo_records', trigger: 'demo_records_append_only', function: 'demo_records_reject_change' },
      { table: 'demo_records', trigger: 'demo_records_no_truncate', function: 'demo_records_reject_change' },
    ]);
  });

  it('refuses to change or remove records and checkpoints, with a hint naming the record', async () => {
    for (const statement of [`UPDATE demo_records SET note = 'changed'`, 'DELETE FROM demo_records WHERE sequence = 1', 'TRUNCATE demo_records', 'DELETE FROM demo_checkpoints']) {
      await expect(client.query(statement), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/) });
    }
    await expect(client.query('DELETE FROM demo_records')).rejects.toMatchObject({
      hint: 'Audit notes are never changed or removed; append a correcting note instead.',
    });
  });

  it('moves the head only forward, and keeps it one row', async () => {
    await expect(client.query('UPDATE demo_head SET sequence = 1')).rejects.toThrow('demo_head only moves forward: UPDATE is not allowed');
    await expect(client.query('DELETE FROM demo_head')).rejects.toThrow('demo_head only moves forward: DELETE is not allowed');
    await expect(client.query(`INSERT INTO demo_head (id, sequence, hash) VALUES (2, 3, 'h3')`)).rejects.toThrow(/demo_head_single_row/);
    await client.query(`UPDATE demo_head SET sequence = 3, hash = 'h3'`);
  });

  it('takes everything away again going down', async () => {
    await client.query(checkpoints.sql.down);
    await client.query(tables.sql.down);
    const { rows } = await client.query(`SELECT relname FROM pg_class WHERE relname LIKE 'demo_%' UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'demo_%'`);
    expect(rows).toEqual([]);
  });
});
