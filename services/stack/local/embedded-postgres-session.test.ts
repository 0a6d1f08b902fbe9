import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { connect as connectSocket, type Socket } from 'node:net';
import { join } from 'node:path';
import { protocol } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unusedLoopbackUrl } from '../../../test/testing/loopback.js';
import { SERVICE_AUTH, TEST_SERVICE_TOKEN } from '../../../test/testing/tokens.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';
import { createLocalStack } from './local-stack.js';
import { superviseProcess } from './local-supervisor.js';

/**
 * PGlite has one backend session, which the socket lends to each client in turn: what one client
 * left in it (prepared statements, settings, temporary tables, advisory locks) must not reach the
 * next one, as it would not on a real server where every connection is a new session.
 */
const root = mkdtempSync(join(tmpdir(), 'acgs-embedded-session-'));
let embedded: EmbeddedPostgres;

beforeAll(async () => {
  embedded = await startEmbeddedPostgres(join(root, 'pglite'));
}, 60_000);

afterAll(async () => {
  await embedded?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A client of its own, once the one before it has been let go (the socket serves one at a time). */
async function connect(): Promise<pg.Client> {
  await embedded.untilNoClients();
  const client = new pg.Client({ connectionString: embedded.url });
  await client.connect();
  return client;
}

async function asClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('a client of the embedded database gets a fresh session', () => {
  it('does not inherit the prepared statements and settings of the client before it', async () => {
    const defaults = await asClient(async (client) => ({
      searchPath: (await client.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path,
      timeZone: (await client.query<{ TimeZone: string }>('SHOW TIME ZONE')).rows[0]!.TimeZone,
    }));
    await asClient(async (client) => {
      await client.query({ name: 'left_behind', text: 'SELECT 1 AS one' });
      await client.query('CREATE SCHEMA IF NOT EXISTS elsewhere');
      await client.query('SET search_path TO elsewhere');
      await client.query(`SET TIME ZONE 'Pacific/Chatham'`);
      await client.query('CREATE TEMP TABLE scratch (id int)');
      await client.query('SELECT pg_advisory_lock(42)');
    });
    await asClient(async (client) => {
      // The same name prepared again: "prepared statement ... already exists" when the session leaked.
      expect((await client.query({ name: 'left_behind', text: 'SELECT 2 AS two' })).rows).toEqual([{ two: 2 }]);
      expect((await client.query('SHOW search_path')).rows[0].search_path).toBe(defaults.searchPath);
      expect((await client.query('SHOW TIME ZONE')).rows[0].TimeZone).toBe(defaults.timeZone);
      expect((await client.query(`SELECT to_regclass('pg_temp.scratch') AS scratch`)).rows[0].scratch).toBeNull();
      expect((await client.query(`SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory'`)).rows[0].held).toBe(0);
    });
  }, 60_000);

  it('serves the next client after one left inside a transaction', async () => {
    await asClient(async (client) => {
      await client.query('CREATE TABLE IF NOT EXISTS kept (id int)');
      await client.query('BEGIN');
      await client.query('INSERT INTO kept VALUES (1)');
      await client.query(`SET LOCAL search_path TO elsewhere`);
    });
    await asClient(async (client) => {
      expect((await client.query('SELECT count(*)::int AS rows FROM public.kept')).rows[0].rows).toBe(0);
      expect((await client.query({ name: 'left_behind', text: 'SELECT 3 AS three' })).rows).toEqual([{ three: 3 }]);
    });
  }, 60_000);

  it('still takes a dump between clients, and the next client still gets a fresh session', async () => {
    await asClient((client) => client.query({ name: 'before_dump', text: 'SELECT 1' }));
    const dump = await embedded.dump();
    expect(dump.rowCounts['public.kept']).toBe(0);
    await asClient(async (client) => {
      expect((await client.query({ name: 'before_dump', text: 'SELECT 4 AS four' })).rows).toEqual([{ four: 4 }]);
    });
  }, 60_000);
});

/** Resolves once what the socket received so far contains `text`. */
function untilReceived(socket: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!received.includes(text)) return;
      socket.off('data', onData).off('close', onClose);
      resolve();
    };
    const onClose = () => reject(new Error(`the embedded database closed the connection before answering ${text}: ${received.toString('latin1')}`));
    socket.on('data', onData).on('close', onClose);
  });
}

/**
 * A client that dies half-way through an extended-query exchange (killed between Execute and
 * Sync) once its statement has been answered with `answer`: the socket hands PGlite one message
 * at a time, so the exchange stays open after it.
 */
async function dieMidExchange(statement: string, answer: string): Promise<void> {
  await embedded.untilNoClients();
  const { startup, parse, bind, execute } = protocol.serialize;
  const socket = connectSocket(Number(new URL(embedded.url).port), '127.0.0.1');
  try {
    await once(socket, 'connect');
    // ReadyForQuery, status idle, ends the start-up answer.
    const started = untilReceived(socket, 'Z\0\0\0\x05I');
    socket.write(startup({ user: 'postgres', database: 'postgres' }));
    await started;
    const answered = untilReceived(socket, answer);
    socket.write(Buffer.concat([parse({ name: 'half_done', text: statement }), bind({ statement: 'half_done' }), execute({})]));
    await answered;
  } finally {
    socket.destroy();
  }
}

describe('a client that died in the middle of a query', () => {
  it('has what it executed rolled back, and the next client is served', async () => {
    await asClient((client) => client.query('CREATE TABLE IF NOT EXISTS half_written (id int)'));
    await dieMidExchange('INSERT INTO half_written VALUES (7)', 'INSERT 0 1');
    await asClient(async (client) => {
      expect((await client.query('SELECT count(*)::int AS rows FROM half_written')).rows[0].rows).toBe(0);
      expect((await client.query({ name: 'half_done', text: 'SELECT 5 AS five' })).rows).toEqual([{ five: 5 }]);
    });
  }, 60_000);

  it('after an error: the next client is served, not ignored until a Sync that never comes', async () => {
    await dieMidExchange('SELEC 1', 'syntax error');
    await asClient(async (client) => {
      expect((await client.query('SELECT 6 AS six')).rows).toEqual([{ six: 6 }]);
    });
  }, 60_000);
});

describe('the Audit Engine on the embedded database, restarted', () => {
  it('appends after a restart of its process, and its chain stays intact', async () => {
    const url = await unusedLoopbackUrl();
    const engine = superviseProcess({
      name: 'audit-engine',
      command: process.execPath,
      args: ['--import', 'tsx', 'services/audit-engine/main.ts'],
      env: {
        DATABASE_URL: embedded.url,
        DATABASE_POOL_MAX: '1',
        PORT: new URL(url).port,
        ACGS_SERVICE_TOKEN: TEST_SERVICE_TOKEN,
        ACGS_STATE_DIR: join(root, 'audit-engine'),
      },
      healthUrl: `${url}/health`,
      echo: false,
    });
    const stack = createLocalStack({ processes: [engine] });
    try {
      expect(await engine.waitUntilHealthy(60_000)).toBe(true);
      const append = (key: string) =>
        fetch(`${url}/audit/events`, {
          method: 'POST',
          headers: { ...SERVICE_AUTH, 'content-type': 'application/json' },
          body: JSON.stringify({ event_type: 'restart_check', source: 'embedded-session-test', idempotency_key: key }),
        });
      const first = await append('before-restart');
      expect(first.status, await first.clone().text()).toBe(201);
      await stack.restart('audit-engine', { timeoutMs: 60_000 });
      const second = await append('after-restart');
      expect(second.status, await second.clone().text()).toBe(201);
      const [appended] = ((await second.json()) as { events: Array<{ sequence: number }> }).events;
      expect(appended!.sequence).toBe(((await first.json()) as { events: Array<{ sequence: number }> }).events[0]!.sequence + 1);
      const verify = (await (await fetch(`${url}/audit/verify`)).json()) as { valid: boolean; events_checked: number };
      expect(verify).toMatchObject({ valid: true, events_checked: 2 });
    } finally {
      await engine.stop();
      await stack.close();
    }
  }, 180_000);
});
