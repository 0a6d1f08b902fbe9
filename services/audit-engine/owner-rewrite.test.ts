/**
 * Issue 10, item 5, for the Audit Engine's own chain: it runs as a role that may only append; the
 * owner role (MIGRATIONS_DATABASE_URL) can still switch the triggers off, delete an event,
 * recompute every hash and move the head, so that the chain alone looks intact; the signed
 * checkpoints, whose key is outside the database, show the rewrite and name the missing event.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type RewritableChain, createRuntimeRole, rewriteChainWithout } from '../../test/testing/chain-owner.js';
import { type TestDatabase, createTestDatabase } from '../../test/testing/postgres.js';
import type { Service } from '../kit/service.js';
import { buildApp } from './app.js';
import { verifyChain } from './chain-verifier.js';
import { loadConfig } from './config.js';
import type { VerifyResponse } from './contract.js';
import { EVENT_COLUMNS, type EventRow, type StoredEvent, rowToStoredEvent } from './event-rows.js';
import { AUDIT_CHAIN_TABLES, chainHash, contentHash, genesisChainHash } from './hash-chain.js';

interface EngineFixture {
  db: TestDatabase;
  owner: pg.Client;
  engine: pg.Client;
  app: Service;
  stateDir: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A database whose chain the engine's role created (the former set-up), then started with an owner role. */
async function restrictedEngine(): Promise<EngineFixture> {
  const db = await createTestDatabase('acgs_audit_roles');
  const owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  const role = await createRuntimeRole(db, owner, 'acgs_audit');
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-audit-roles-'));
  const engine = new pg.Client({ connectionString: role.url });
  const apps: Service[] = [];
  cleanups.push(async () => {
    await Promise.allSettled(apps.map((app) => app.close()));
    await engine.end().catch(() => undefined);
    await owner.end().catch(() => undefined);
    await db.drop();
    await role.drop();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const config = (extra: Record<string, string>) =>
    buildApp(
      loadConfig({
        DATABASE_URL: role.url,
        DATABASE_POOL_MAX: '2',
        ACGS_STATE_DIR: stateDir,
        AUDIT_VERIFY_INTERVAL_MS: '0',
        AUDIT_CHECKPOINT_EVERY_EVENTS: '6',
        ...extra,
      }),
      { logger: false },
    );
  // The former set-up: the engine's own role migrated, and so owned the chain.
  await owner.query(`GRANT CREATE ON SCHEMA public TO ${role.name}`);
  const former = config({});
  await former.ready();
  await former.close();
  await owner.query(`REVOKE CREATE ON SCHEMA public FROM ${role.name}`);

  const app = config({ MIGRATIONS_DATABASE_URL: db.url });
  apps.push(app);
  await app.ready();
  await engine.connect();
  return { db, owner, engine, app, stateDir };
}

/** Six events, the third the one to hide, signed by a checkpoint; then two more after it. */
async function appendHistory(fixture: EngineFixture): Promise<StoredEvent> {
  const outcomes = [];
  for (let index = 1; index <= 6; index += 1) {
    outcomes.push(...(await fixture.app.auditStore.append([{ event_type: index === 3 ? 'break_glass' : 'routine', agent_id: 'U0ADMIN', data: { index } }])));
  }
  // The engine signs once six events were appended (AUDIT_CHECKPOINT_EVERY_EVENTS), in the background.
  for (let waited = 0; ; waited += 50) {
    const { rows } = await fixture.owner.query('SELECT sequence FROM audit_chain_checkpoints WHERE sequence = 6');
    if (rows.length === 1) break;
    if (waited > 10_000) throw new Error('no checkpoint of event #6 was signed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await fixture.app.auditStore.append([{ event_type: 'routine', data: { index: 7 } }]);
  await fixture.app.auditStore.append([{ event_type: 'routine', data: { index: 8 } }]);
  return outcomes[2]!.event;
}

/** The engine's chain for the owner's rewrite (test/testing/chain-owner.ts). */
const AUDIT_CHAIN: RewritableChain<StoredEvent> = {
  tables: AUDIT_CHAIN_TABLES,
  prevHashColumn: 'prev_chain_hash',
  idColumn: 'id',
  genesisHash: genesisChainHash(),
  records: async (owner) => (await owner.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events ORDER BY sequence`)).rows.map(rowToStoredEvent),
  rehash(event, sequence, prevHash) {
    const moved = contentHash({ ...event, sequence });
    return { id: event.id, contentHash: moved, hash: chainHash(prevHash, moved) };
  },
};

const rewriteWithout = (owner: pg.Client, sequence: number) => rewriteChainWithout(owner, AUDIT_CHAIN, sequence);

async function verify(app: Service, query = ''): Promise<VerifyResponse> {
  const response = await app.inject({ method: 'GET', url: `/audit/verify${query}` });
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe("the Audit Engine's restricted database role", () => {
  it('cannot switch the triggers off, delete, change or truncate events, move the head back or remove checkpoints', async () => {
    const fixture = await restrictedEngine();
    await appendHistory(fixture);
    const refusals: [string, RegExp][] = [
      ['ALTER TABLE audit_events DISABLE TRIGGER USER', /must be owner of table audit_events/],
      ['SET session_replication_role = replica', /permission denied to set parameter/],
      ['DELETE FROM audit_events WHERE sequence = 3', /permission denied for table audit_events/],
      [`UPDATE audit_events SET agent_id = 'U0MALLORY'`, /permission denied for table audit_events/],
      ['TRUNCATE audit_events', /permission denied for table audit_events/],
      ['UPDATE audit_chain_head SET sequence = 2', /only moves forward/],
      ['DELETE FROM audit_chain_checkpoints', /permission denied for table audit_chain_checkpoints/],
      ['DROP TABLE audit_events', /must be owner of table audit_events/],
    ];
    for (const [statement, refusal] of refusals) await expect(fixture.engine.query(statement), statement).rejects.toThrow(refusal);
    expect(await verify(fixture.app)).toMatchObject({ valid: true, head: { sequence: 8 }, checkpoint: { sequence: 6 } });
    expect(statSync(join(fixture.stateDir, 'audit-checkpoint-signing.key')).mode & 0o777).toBe(0o600);
  });
});

describe('a rewrite of the Audit Engine chain by the owner role', () => {
  it('triggers off, an event deleted, hashes recomputed, head moved: the chain alone looks intact, the checkpoint names the missing event', async () => {
    const fixture = await restrictedEngine();
    const hidden = await appendHistory(fixture);
    await rewriteWithout(fixture.owner, 3);

    // What GET /audit/verify said before checkpoints: every hash and link matches again.
    expect(await verifyChain(fixture.app.auditDb, { batchSize: 100 })).toMatchObject({ valid: true, head: { sequence: 7 } });

    for (const query of ['?scope=checkpoint', '']) {
      const result = await verify(fixture.app, query);
      expect(result, query).toMatchObject({
        valid: false,
        first_broken: { sequence: 3, check: 'missing', id: hidden.id, stored: 'absent' },
        missing: [{ sequence: 3, id: hidden.id }],
      });
      expect(result.first_broken!.message).toContain(`record #3 (${hidden.id})`);
    }
    const health = (await fixture.app.inject({ method: 'GET', url: '/health' })).json();
    expect(health).toMatchObject({ status: 'degraded', integrity: { valid: false } });
  });

  it('refuses a scope it does not know, and nothing is walked', async () => {
    const fixture = await restrictedEngine();
    const response = await fixture.app.inject({ method: 'GET', url: '/audit/verify?scope=everything' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/scope/);
  });
});

describe('GET /audit/verify?scope=checkpoint', () => {
  it('walks only the events after the newest checkpoint the chain matches', async () => {
    const fixture = await restrictedEngine();
    await appendHistory(fixture);
    expect(await verify(fixture.app, '?scope=checkpoint')).toMatchObject({ valid: true, events_checked: 2, scope: 'checkpoint', checkpoint: { sequence: 6 } });
    expect(await verify(fixture.app)).toMatchObject({ valid: true, events_checked: 8, scope: 'full' });
  });
});
