/**
 * What a verifier reads a chain through: one query, rows as `pg` parses them (bigint as a string,
 * timestamptz as a Date, jsonb as values). A pg Pool is one; a restored copy of an embedded
 * database, which lives in a thread of its own, is another (services/stack/backup/pglite-dump.ts),
 * so that a copy of either kind is verified by the same walk.
 */
import type pg from 'pg';

export interface ChainQuery {
  query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}
