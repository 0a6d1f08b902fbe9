import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../../../test/testing/postgres.js';
import { SCRATCH_PREFIX, sweepScratchDatabases, withScratchDatabase } from './scratch-database.js';

/** Names this file makes: a purpose no other file uses, so parallel files' scratch databases are never swept here. */
const PURPOSE = 'sweep test';
const made: string[] = [];

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function existing(): Promise<string[]> {
  return onServer(async (client) => (await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1', [`${SCRATCH_PREFIX}sweep_test_`])).rows.map((row) => row.datname));
}

async function create(name: string): Promise<void> {
  made.push(name);
  await onServer((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
}

afterAll(async () => {
  await onServer(async (client) => {
    for (const name of made) await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  });
});

describe('sweeping scratch databases a killed process left', () => {
  it('drops those made before the cut-off, keeps younger ones and names without a time, and only of its purpose', async () => {
    const old = `${SCRATCH_PREFIX}sweep_test_20200101000000_0123abcd`;
    const young = `${SCRATCH_PREFIX}sweep_test_20991231235959_0123abcd`;
    const unstamped = `${SCRATCH_PREFIX}sweep_test_0123abcd`;
    for (const name of [old, young, unstamped]) await create(name);
    // Connected to it, as a restore a process left running would be: FORCE ends the session.
    const stuck = new pg.Client({ connectionString: TEST_POSTGRES_URL.replace(/\/[^/]*$/, `/${old}`) });
    await stuck.connect();
    stuck.on('error', () => undefined);
    try {
      expect(await sweepScratchDatabases(TEST_POSTGRES_URL, 'other purpose', new Date())).toEqual([]);
      expect(await sweepScratchDatabases(TEST_POSTGRES_URL, PURPOSE, new Date())).toEqual([old]);
    } finally {
      await stuck.end().catch(() => undefined);
    }
    expect(await existing()).toEqual([unstamped, young].sort());
  });

  it('names a new scratch database with its creation time, so that a sweep can tell its age', async () => {
    const seen = await withScratchDatabase(TEST_POSTGRES_URL, PURPOSE, async (url) => decodeURIComponent(new URL(url).pathname.slice(1)));
    expect(seen).toMatch(/^acgs_scratch_sweep_test_\d{14}_[0-9a-f]{8}$/);
    const stamp = /_(\d{14})_/.exec(seen)![1]!;
    expect(Math.abs(Date.parse(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}Z`) - Date.now())).toBeLessThan(60_000);
  });
});
