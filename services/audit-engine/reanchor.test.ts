import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_AUTH, testToken } from '../../test/testing/tokens.js';
import type { Service } from '../kit/service.js';
import { createAuditEngineClient } from '../clients/audit-engine.js';
import type { AuditEngineConfig } from './config.js';
import { genesisChainHash } from './hash-chain.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { appendAuditEvents, auditHealth, auditHealthUntil } from './testing/audit-health.js';

let ctx: AuditTestContext;
let stateDir: string;
let config: Partial<AuditEngineConfig>;
const ADMIN_TOKEN = testToken();
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  ctx = await createAuditTestContext();
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-reanchor-'));
  config = {
    adminToken: ADMIN_TOKEN,
    checkpointFile: join(stateDir, 'audit-checkpoint.json'),
    checkpointKey: { value: randomBytes(32).toString('base64'), file: join(stateDir, 'unused.key') },
  };
});
afterAll(async () => {
  await ctx?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const outsideCheckpoint = (file = config.checkpointFile!) => JSON.parse(readFileSync(file, 'utf8')) as { sequence: number; hash: string };

const appendSome = (app: Service, count: number) => appendAuditEvents(app, count, 'reanchor.seed');

async function hashAt(sequence: number): Promise<string> {
  return (await ctx.sql.query<{ chain_hash: string }>('SELECT chain_hash FROM audit_events WHERE sequence = $1', [sequence])).rows[0]!.chain_hash;
}

/**
 * What restoring a backup taken at `sequence` leaves: the events, head and checkpoint rows as they
 * were then (a restore replaces the tables; here the later rows go with the triggers off).
 */
async function rollBackTo(sequence: number): Promise<void> {
  await ctx.sql.query('SET session_replication_role = replica');
  try {
    await ctx.sql.query('DELETE FROM audit_events WHERE sequence > $1', [sequence]);
    await ctx.sql.query('DELETE FROM audit_chain_checkpoints WHERE sequence > $1', [sequence]);
    await ctx.sql.query('UPDATE audit_chain_head SET sequence = $1, chain_hash = $2 WHERE id = 1', [sequence, await hashAt(sequence)]);
  } finally {
    await ctx.sql.query('SET session_replication_role = origin');
  }
}

/** Counts of what a refused re-anchor must leave alone. */
async function footprint(context = ctx, file = config.checkpointFile!): Promise<{ events: number; checkpoints: number; outside: unknown }> {
  const checkpoints = Number((await context.sql.query<{ count: string }>('SELECT count(*) FROM audit_chain_checkpoints')).rows[0]!.count);
  return { events: await context.countEvents(), checkpoints, outside: outsideCheckpoint(file) };
}

const restore = { backup_id: '20261206T120000Z-abc123', run_id: 'run-7f3a', requested_by: 'U0ONCALL', approved_by: ['U0APPROVER1', 'U0APPROVER2'] };

describe('POST /audit/admin/reanchor', () => {
  let app: Service;
  let restoredHash: string;

  it('after a restore to an older head the engine reports the rollback (degraded)', async () => {
    // Events 1..6, then 7..12, each run signing its events at shutdown: checkpoints #6 and #12.
    for (const count of [6, 6]) {
      const writer = await ctx.start({ ...config, checkpointEveryEvents: 1000 });
      await appendSome(writer, count);
      await writer.close();
    }
    expect(outsideCheckpoint().sequence).toBe(12);
    // The backup was taken at #9: its database has the checkpoint #6 and events up to #9.
    await rollBackTo(9);
    restoredHash = await hashAt(9);
    app = await ctx.start({ ...config, verifyIntervalMs: 50 });
    const degraded = await auditHealthUntil(app, (body) => body.status === 'degraded');
    expect(degraded.integrity?.first_broken?.message).toMatch(/#12/);
  });

  it('refuses without the admin token, with the service token and with a wrong one, changing nothing', async () => {
    const before = await footprint();
    const body = { ...restore, head: { sequence: 9, chain_hash: restoredHash } };
    for (const headers of [{}, SERVICE_AUTH, { authorization: `Bearer ${testToken()}` }]) {
      const response = await app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: body, headers });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
    }
    // An engine with no admin token keeps the endpoint closed.
    const closed = await ctx.start({ ...config, adminToken: undefined, verifyIntervalMs: 0 });
    expect((await closed.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: body, headers: ADMIN })).statusCode).toBe(401);
    await closed.close();
    expect(await footprint()).toEqual(before);
  });

  it('refuses a body that does not name the restore and the head, naming the field', async () => {
    const before = await footprint();
    const cases: Array<[unknown, RegExp]> = [
      [{ ...restore }, /head/],
      [{ ...restore, head: { sequence: 9, chain_hash: 'abc' } }, /head\.chain_hash: must be a sha256/],
      [{ ...restore, head: { sequence: -1, chain_hash: restoredHash } }, /head\.sequence/],
      [{ ...restore, run_id: undefined, head: { sequence: 9, chain_hash: restoredHash } }, /run_id/],
      [{ ...restore, approved_by: 'U0APPROVER1', head: { sequence: 9, chain_hash: restoredHash } }, /approved_by/],
      [{ ...restore, extra: 1, head: { sequence: 9, chain_hash: restoredHash } }, /extra/],
    ];
    for (const [payload, message] of cases) {
      const response = await app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: payload as object, headers: ADMIN });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(message) });
    }
    expect(await footprint()).toEqual(before);
  });

  it('refuses a head the chain does not end at, or one newer than the checkpoint, changing nothing', async () => {
    const before = await footprint();
    const post = (head: { sequence: number; chain_hash: string }) => app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: { ...restore, head }, headers: ADMIN });
    const wrongHash = await post({ sequence: 9, chain_hash: await hashAt(8) });
    expect(wrongHash.statusCode).toBe(409);
    expect(wrongHash.json().error).toMatchObject({ code: 'REANCHOR_HEAD_MISMATCH', message: expect.stringMatching(/event #9 has chain hash .*, not .*; nothing was changed/) });
    const pastTheEnd = await post({ sequence: 11, chain_hash: restoredHash });
    expect(pastTheEnd.json().error).toMatchObject({ code: 'REANCHOR_HEAD_MISMATCH', message: expect.stringMatching(/the chain ends at event #9, before #11/) });
    const notGenesis = await post({ sequence: 0, chain_hash: restoredHash });
    expect(notGenesis.json().error).toMatchObject({ code: 'REANCHOR_HEAD_MISMATCH', message: expect.stringMatching(/the genesis \(#0\) has chain hash .*, not .*; nothing was changed/) });
    const newer = await post({ sequence: 13, chain_hash: restoredHash });
    expect(newer.statusCode).toBe(409);
    expect(newer.json().error).toMatchObject({ code: 'NOTHING_TO_REANCHOR', message: expect.stringMatching(/the head named \(#13\) is newer than the newest signed checkpoint \(#12/) });
    expect(await footprint()).toEqual(before);
    expect((await auditHealth(app)).status).toBe('degraded');
  });

  it('refuses a restored chain that does not verify, changing nothing', async () => {
    const before = await footprint();
    const victim = (await ctx.sql.query('SELECT data FROM audit_events WHERE sequence = 8')).rows[0]!.data as unknown;
    await ctx.sql.query('SET session_replication_role = replica');
    try {
      // After the checkpoint the database kept (#6): only the walk can find it.
      await ctx.sql.query(`UPDATE audit_events SET data = '{"forged": true}' WHERE sequence = 8`);
      const response = await app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: { ...restore, head: { sequence: 9, chain_hash: restoredHash } }, headers: ADMIN });
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toMatchObject({ code: 'REANCHOR_CHAIN_BROKEN', message: expect.stringMatching(/event #8: the content of event .* was altered/) });
      // Before it (#3, covered by the checkpoint #6 in the database): the checkpoints catch it.
      await ctx.sql.query('UPDATE audit_events SET data = $1 WHERE sequence = 8', [victim]);
      const early = (await ctx.sql.query('SELECT data FROM audit_events WHERE sequence = 3')).rows[0]!.data as unknown;
      await ctx.sql.query(`UPDATE audit_events SET data = '{"forged": true}' WHERE sequence = 3`);
      const earlyResponse = await app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: { ...restore, head: { sequence: 9, chain_hash: restoredHash } }, headers: ADMIN });
      expect(earlyResponse.json().error.code).toBe('REANCHOR_CHAIN_BROKEN');
      await ctx.sql.query('UPDATE audit_events SET data = $1 WHERE sequence = 3', [early]);
    } finally {
      await ctx.sql.query('SET session_replication_role = origin');
    }
    expect(await footprint()).toEqual(before);
  });

  it('re-anchors at the restored head: a signed checkpoint there, the re-anchor recorded, healthy at the next check', async () => {
    // Through the typed client, on loopback, as the restore runbook calls it.
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const client = createAuditEngineClient(address, { adminToken: ADMIN_TOKEN });
    const answer = await client.reanchor({ ...restore, head: { sequence: 9, chain_hash: restoredHash } });
    expect(answer).toMatchObject({
      previous: { sequence: 12 },
      head: { sequence: 9, chain_hash: restoredHash },
      checkpoint: { sequence: 9 },
      event: { sequence: 10 },
      integrity: { valid: true, events_checked: 10 },
    });
    expect(outsideCheckpoint()).toMatchObject({ sequence: 9, hash: restoredHash });
    const recorded = (await app.inject(`/audit/events/${answer.event.id}`)).json();
    expect(recorded).toMatchObject({
      event_type: 'audit.chain_reanchored',
      source: 'audit-engine',
      agent_id: 'U0ONCALL',
      severity: 'warning',
      data: {
        reason: 'restore of backup 20261206T120000Z-abc123 by run run-7f3a',
        approved_by: ['U0APPROVER1', 'U0APPROVER2'],
        rolled_back: { from: { sequence: 12 }, to: { sequence: 9, hash: restoredHash } },
      },
    });
    // The background walk after this one still finds nothing wrong.
    const checkedAt = Date.parse(answer.integrity.checked_at);
    const next = await auditHealthUntil(app, (body) => body.integrity !== null && Date.parse(body.integrity.checked_at) > checkedAt);
    expect(next).toMatchObject({ status: 'healthy', integrity: { valid: true } });
    expect((await app.inject('/audit/verify')).json()).toMatchObject({ valid: true, checkpoint: { sequence: 9 } });
  });

  it('a second re-anchor finds nothing to do, and checkpoints go on from the new head', async () => {
    const before = await footprint();
    const again = await app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: { ...restore, head: { sequence: 9, chain_hash: restoredHash } }, headers: ADMIN });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'NOTHING_TO_REANCHOR', message: expect.stringMatching(/still matches the newest signed checkpoint \(#9/) });
    expect(await footprint()).toEqual(before);
    await appendSome(app, 3);
    await app.close();
    expect(outsideCheckpoint().sequence).toBe(13);
    const reopened = await ctx.start({ ...config });
    expect(await auditHealthUntil(reopened, (body) => body.integrity !== null)).toMatchObject({ status: 'healthy' });
  });
});

describe('POST /audit/admin/reanchor after a restore to the empty chain', () => {
  let empty: AuditTestContext;
  let emptyConfig: Partial<AuditEngineConfig>;
  let app: Service;
  const genesis = { sequence: 0, chain_hash: genesisChainHash() };
  const post = (head: { sequence: number; chain_hash: string }) => app.inject({ method: 'POST', url: '/audit/admin/reanchor', payload: { ...restore, head }, headers: ADMIN });

  beforeAll(async () => {
    empty = await createAuditTestContext();
    emptyConfig = { ...config, checkpointFile: join(stateDir, 'empty-checkpoint.json') };
  });
  afterAll(async () => {
    await empty?.close();
  });

  it('a backup of a fresh stack holds no events: restored, the engine reports the rollback (degraded)', async () => {
    // A fresh stack's engine chains 5 events after the backup and signs them when stopped for the restore.
    const writer = await empty.start({ ...emptyConfig, checkpointEveryEvents: 1000 });
    await appendSome(writer, 5);
    await writer.close();
    expect(outsideCheckpoint(emptyConfig.checkpointFile)).toMatchObject({ sequence: 5 });
    // What restoring the backup leaves: no events, no checkpoints, the head at the genesis.
    await empty.sql.query('SET session_replication_role = replica');
    try {
      await empty.sql.query('DELETE FROM audit_events');
      await empty.sql.query('DELETE FROM audit_chain_checkpoints');
      await empty.sql.query('UPDATE audit_chain_head SET sequence = 0, chain_hash = $1 WHERE id = 1', [genesis.chain_hash]);
    } finally {
      await empty.sql.query('SET session_replication_role = origin');
    }
    app = await empty.start({ ...emptyConfig, verifyIntervalMs: 50 });
    const degraded = await auditHealthUntil(app, (body) => body.status === 'degraded');
    expect(degraded.integrity?.first_broken).toMatchObject({ sequence: 1, message: expect.stringMatching(/#5/) });
  });

  it('refuses a head other than the genesis, changing nothing', async () => {
    const before = await footprint(empty, emptyConfig.checkpointFile);
    const wrongHash = await post({ sequence: 0, chain_hash: 'a'.repeat(64) });
    expect(wrongHash.statusCode).toBe(409);
    expect(wrongHash.json().error).toMatchObject({ code: 'REANCHOR_HEAD_MISMATCH', message: expect.stringMatching(/the genesis \(#0\) has chain hash .*, not a{12}…; nothing was changed/) });
    const pastTheEnd = await post({ sequence: 1, chain_hash: genesis.chain_hash });
    expect(pastTheEnd.json().error).toMatchObject({ code: 'REANCHOR_HEAD_MISMATCH', message: expect.stringMatching(/the chain ends at event #0, before #1/) });
    expect(await footprint(empty, emptyConfig.checkpointFile)).toEqual(before);
    expect((await auditHealth(app)).status).toBe('degraded');
  });

  it('re-anchors at the genesis: a signed checkpoint #0 outside, the re-anchor recorded as event #1, healthy at the next check', async () => {
    const answer = (await post(genesis)).json();
    expect(answer).toMatchObject({
      previous: { sequence: 5 },
      head: genesis,
      checkpoint: { sequence: 0 },
      event: { sequence: 1 },
      integrity: { valid: true, events_checked: 1 },
    });
    expect(outsideCheckpoint(emptyConfig.checkpointFile)).toMatchObject({ sequence: 0, hash: genesis.chain_hash });
    expect((await app.inject(`/audit/events/${answer.event.id}`)).json()).toMatchObject({
      sequence: 1,
      event_type: 'audit.chain_reanchored',
      data: { rolled_back: { from: { sequence: 5 }, to: { sequence: 0, hash: genesis.chain_hash } } },
    });
    const checkedAt = Date.parse(answer.integrity.checked_at);
    const next = await auditHealthUntil(app, (body) => body.integrity !== null && Date.parse(body.integrity.checked_at) > checkedAt);
    expect(next).toMatchObject({ status: 'healthy', integrity: { valid: true } });
    // The genesis checkpoint is kept outside only, and the walk does not report it missing from the table.
    expect((await app.inject('/audit/verify')).json()).toMatchObject({ valid: true, checkpoint: { sequence: 0 } });
    expect((await app.inject('/audit/verify')).json().notes).toBeUndefined();
  });

  it('a second re-anchor finds nothing to do, and checkpoints go on from the genesis', async () => {
    const before = await footprint(empty, emptyConfig.checkpointFile);
    const again = await post(genesis);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'NOTHING_TO_REANCHOR', message: expect.stringMatching(/still matches the newest signed checkpoint \(#0/) });
    expect(await footprint(empty, emptyConfig.checkpointFile)).toEqual(before);
    await appendSome(app, 2);
    await app.close();
    expect(outsideCheckpoint(emptyConfig.checkpointFile)).toMatchObject({ sequence: 3 });
    const reopened = await empty.start({ ...emptyConfig });
    expect(await auditHealthUntil(reopened, (body) => body.integrity !== null)).toMatchObject({ status: 'healthy' });
  });
});
