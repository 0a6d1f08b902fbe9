/**
 * Machine-wide resources that test files share (the firm ports, the release image tags) are taken
 * in turns. vitest runs files side by side, so a turn is a PostgreSQL advisory lock held on a
 * connection of its own until the file ends: it is released even when the test process dies,
 * unlike a lock file.
 */
import pg from 'pg';
import { TEST_POSTGRES_URL } from './postgres.js';

/** Waits for the resource's turn; the returned function gives it up (safe to call twice). */
export async function takeTurn(resource: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, application_name: `acgs-test-turn: ${resource}`.slice(0, 63) });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [resource]);
  } catch (error) {
    await client.end();
    throw error;
  }
  return async () => {
    await client.end().catch(() => undefined);
  };
}
