/**
 * A hash chain against the owner of its tables (issue 10, item 5), for the Audit Engine's and the
 * bot trail's tests: a runtime role that owns nothing, and the owner's rewrite that the chain alone
 * cannot show (triggers off, a record deleted, the records after it moved up with recomputed
 * hashes, the head moved back, triggers on again).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { HashChainTables } from '../../services/kit/hash-chain/chain-schema.js';
import type { TestDatabase } from './postgres.js';

export interface RuntimeRole {
  name: string;
  /** The database's URL as this role. */
  url: string;
  /** Drops the role; after the database is dropped. */
  drop(): Promise<void>;
}

/** A new login role on the test database's server, owning nothing yet. */
export async function createRuntimeRole(db: TestDatabase, owner: pg.Client, prefix: string): Promise<RuntimeRole> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await owner.query(`CREATE ROLE ${name} LOGIN`);
  const url = new URL(db.url);
  url.username = name;
  return {
    name,
    url: url.toString(),
    async drop() {
      const admin = new pg.Client({ connectionString: new URL('/postgres', db.url).toString() });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

/** What the rewrite needs to know of one chain. */
export interface RewritableChain<Record> {
  tables: HashChainTables;
  /** The column holding the hash of the record before, and the one that identifies a record. */
  prevHashColumn: string;
  idColumn: string;
  genesisHash: string;
  /** Every record, oldest first, as the chain's verifier reads them. */
  records(owner: pg.Client): Promise<Record[]>;
  /** The record moved to `sequence` after `prevHash`, its hashes recomputed. */
  rehash(record: Record, sequence: number, prevHash: string): { id: string; contentHash: string; hash: string };
}

/** The owner's rewrite without record `sequence`: afterwards every hash and link matches again. */
export async function rewriteChainWithout<Record>(owner: pg.Client, chain: RewritableChain<Record>, sequence: number): Promise<void> {
  const { records, head, hashColumn } = chain.tables;
  await owner.query(`ALTER TABLE ${records} DISABLE TRIGGER USER`);
  await owner.query(`ALTER TABLE ${head} DISABLE TRIGGER USER`);
  await owner.query(`DELETE FROM ${records} WHERE sequence = $1`, [sequence]);
  let previous = chain.genesisHash;
  const remaining = await chain.records(owner);
  for (const [index, record] of remaining.entries()) {
    const moved = chain.rehash(record, index + 1, previous);
    await owner.query(
      `UPDATE ${records} SET sequence = $1, content_hash = $2, ${chain.prevHashColumn} = $3, ${hashColumn} = $4 WHERE ${chain.idColumn} = $5`,
      [index + 1, moved.contentHash, previous, moved.hash, moved.id],
    );
    previous = moved.hash;
  }
  await owner.query(`UPDATE ${head} SET sequence = $1, ${hashColumn} = $2`, [remaining.length, previous]);
  await owner.query(`ALTER TABLE ${records} ENABLE TRIGGER USER`);
  await owner.query(`ALTER TABLE ${head} ENABLE TRIGGER USER`);
}
