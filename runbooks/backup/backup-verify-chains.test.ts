/**
 * `backup verify` on dumps that hold the real audit chains: the Audit Engine's events (migrated
 * and appended by its own store) and the bot's trail (a started trail), each verified in the
 * restored copy by the code that verifies it live. A row altered in the source before the backup
 * (triggers off, as a superuser could) is in the dump: verify names the first bad sequence.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrailStore } from '../../bot/audit-trail/trail-store.js';
import { createAuditEventStore } from '../../services/audit-engine/event-store.js';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from '../../services/audit-engine/plugins/database.js';
import { createPool, migrate } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { openTestTrail, type TestTrail } from '../../test/testing/command-access.js';
import { createBackupPorts } from './backup-ports.js';
import { backupHarness, verificationOf, type BackupHarness } from './testing/backup-harness.js';
import { sqlOnce as sql } from './testing/sql.js';

let h: BackupHarness;
let engine: TestDatabase;
let trail: TestTrail;
const EVENTS = 30;
const RECORDS = 12;

beforeAll(async () => {
  h = await backupHarness();
  engine = await createTestDatabase('acgs_bkchain_engine');
  const pool = createPool({ databaseUrl: engine.url, max: 2, applicationName: 'acgs-backup-chain-test' });
  try {
    await migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE });
    const store = createAuditEventStore({ pool, maxGroupEvents: 100 });
    await store.initialize();
    for (let index = 0; index < EVENTS; index += 1) await store.append([{ event_type: 'policy_decision', agent_id: `agent-${index}`, data: { index } }]);
    await store.drained();
  } finally {
    await pool.end();
  }
  trail = await openTestTrail({ prefix: 'acgs_bkchain_bot' });
  for (let index = 0; index < RECORDS; index += 1) await trail.trail.appendToChain({ kind: 'command', actor: 'U0ONCALL', command: 'health', details: { index } });
  h.ports.databases = [
    { name: 'audit-engine', url: engine.url },
    { name: 'bot', url: trail.db.url },
  ];
  // The head as the bot reads it when a backup starts.
  h.ports.auditChainHead = async () => createTrailStore(trail.pool).head();
});
afterAll(async () => {
  await h?.close();
  await engine?.drop();
  await trail?.close();
});

/** Changes one row with the chain's triggers off (what a superuser can do), and puts it back after `work`. */
async function altered<T>(url: string, table: string, column: string, sequence: number, value: unknown, work: () => Promise<T>): Promise<T> {
  const [row] = (await sql(url, `SELECT ${column} AS value FROM ${table} WHERE sequence = $1`, [sequence])).rows as Array<{ value: unknown }>;
  const set = (to: unknown) => sql(url, `SET session_replication_role = replica; UPDATE ${table} SET ${column} = '${JSON.stringify(to).replace(/'/g, "''")}'::jsonb WHERE sequence = ${sequence}`);
  await set(value);
  try {
    return await work();
  } finally {
    await set(row!.value);
  }
}

describe('backup verify and the audit chains', () => {
  it('verifies both chains in the restored copies, the trail reaching the head the backup recorded', async () => {
    const { id, dir } = await h.freshBackup();
    const run = await h.run('backup-verify', { id });
    expect(run).toMatchObject({ state: 'succeeded', reason: null });
    const restore = (await h.t.store.attempts(run.id)).find((a) => a.stepId === 'restore')!.output;
    expect(restore).toMatchObject({
      chains: {
        'audit-engine.dump': { 'audit-engine': { records: EVENTS, head: EVENTS } },
        'bot.dump': { 'bot-trail': { records: RECORDS, head: RECORDS } },
      },
    });
    expect(restore).not.toHaveProperty('recorded_head');
    expect(verificationOf(dir)).toMatchObject({ ok: true });
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });

  it('an Audit Engine event altered before the backup: verify fails naming the event’s sequence, recorded as failed', async () => {
    const { id, dir } = await altered(engine.url, 'audit_events', 'data', 7, { index: 'rewritten' }, h.freshBackup);
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/^step "restore" \(.*\) failed: audit-engine\.dump restored, but the Audit Engine's chain in it \(public\.audit_events\) is broken at event #7: the content of event \S+ was altered after it was stored$/);
    expect(verificationOf(dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/broken at event #7/) });
    expect(await h.scratchDatabasesLeft()).toEqual([]);
  });

  it('a record of the bot’s trail altered before the backup: verify fails naming the record', async () => {
    const { id, dir } = await altered(trail.db.url, 'bot_audit_trail', 'details', 5, { index: 'rewritten' }, h.freshBackup);
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('failed');
    expect(run.reason).toMatch(/failed: bot\.dump restored, but the bot's audit trail in it \(public\.bot_audit_trail\) is broken at record #5: record #5 was altered after it was written: its content no longer matches its hash$/);
    expect(verificationOf(dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/broken at record #5/) });
  });

  it('a trail that is not the one whose head the backup recorded: verify says which record differs, or that the trail ends before it', async () => {
    const head = h.ports.auditChainHead;
    try {
      h.ports.auditChainHead = async () => ({ sequence: 3, hash: 'f'.repeat(64) });
      const other = await h.freshBackup();
      const differs = await h.run('backup-verify', { id: other.id });
      expect(differs.reason).toMatch(/failed: bot\.dump restored, but record #3 of the bot's audit trail in it has hash [0-9a-f]{12}…, but the backup recorded ffffffffffff… for it as the head when it started$/);

      h.ports.auditChainHead = async () => ({ sequence: 500, hash: 'f'.repeat(64) });
      const shorter = await h.freshBackup();
      const ends = await h.run('backup-verify', { id: shorter.id });
      expect(ends.reason).toMatch(new RegExp(`failed: bot\\.dump restored, but the bot's audit trail in it ends at record #${RECORDS}, before record #500, the head the backup recorded when it started$`));
      expect(verificationOf(shorter.dir)).toMatchObject({ ok: false });
    } finally {
      h.ports.auditChainHead = head;
    }
  });

  it('a process without the bot’s trail verifier: the step says so and the backup is not recorded as bad', async () => {
    const { id, dir } = await h.freshBackup();
    const verifier = h.ports.verifyTrailCopy;
    h.ports.verifyTrailCopy = createBackupPorts({ env: {}, commands: {}, auditChainHead: async () => null }).verifyTrailCopy;
    try {
      const run = await h.run('backup-verify', { id });
      expect(run.state).toBe('failed');
      expect(run.reason).toMatch(/failed: the bot's audit trail verifier is not set up in this process/);
      expect(existsSync(join(dir, 'verification.json'))).toBe(false);
      expect(await h.scratchDatabasesLeft()).toEqual([]);
    } finally {
      h.ports.verifyTrailCopy = verifier;
    }
  });

  it('the copy is what is verified, not the source: records appended after the backup do not reach it', async () => {
    // The source moves on after the backup; the copy is what the backup holds.
    const { id } = await h.freshBackup();
    await trail.trail.appendToChain({ kind: 'command', actor: 'U0ONCALL', command: 'health', details: { after: randomUUID() } });
    const run = await h.run('backup-verify', { id });
    expect(run.state).toBe('succeeded');
    expect((await h.t.store.attempts(run.id)).find((a) => a.stepId === 'restore')!.output).toMatchObject({ chains: { 'bot.dump': { 'bot-trail': { head: RECORDS } } } });
  });
});
