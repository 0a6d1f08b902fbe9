/**
 * The bot's audit trail when PostgreSQL is away and the disk under its spool is full: on a real
 * tmpfs a few KiB large, with the real PostgreSQL behind a proxy that can be cut. A record that
 * can be stored nowhere is refused and counted, never reported stored; the loss is in /metrics,
 * in the log and in `audit verify`, and outlives the process as a note in the trail; an escalated
 * command whose record is lost does not run; a read-only one still answers.
 */
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AuditTrail, type AppendReceipt, AuditTrailUnavailableError, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { createBotMetrics } from '../../bot/slack/metrics.js';
import { createApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { auditVerify } from '../../commands/audit-verify.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { executeCommandLine } from '../../bot/command-path/index.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { testGate } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { startPostgresProxy, type PostgresProxy } from '../testing/postgres-proxy.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { fixtureRegistry, RunLog } from '../testing/slack-harness.js';
import { mountTinyTmpfs } from '../testing/tiny-tmpfs.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

interface Fixture {
  db: TestDatabase;
  proxy: PostgresProxy;
  pool: pg.Pool;
  trail: AuditTrail;
  spoolDir: string;
  logs: LogEntry[];
}

function trailOn(pool: pg.Pool, spoolDir: string, logs: LogEntry[]): AuditTrail {
  const log = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj: object, msg: string) => logs.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
  // The replay loop waits a minute after a failure, so a test decides when the spool is replayed.
  return createAuditTrail({ pool, spoolDir, writeTimeoutMs: 3000, retryMinMs: 60_000, retryMaxMs: 60_000, log });
}

/** A trail whose spool is on a tmpfs with one free 4 KiB page left, PostgreSQL behind a proxy. */
async function openOnNearlyFullDisk(): Promise<Fixture> {
  const disk = mountTinyTmpfs(64 * 1024);
  cleanups.push(() => disk.unmount());
  const db = await createTestDatabase('acgs_trail_full_disk');
  cleanups.push(() => db.drop());
  const proxy = await startPostgresProxy();
  cleanups.push(() => proxy.close());
  const pool = createPool({ databaseUrl: proxy.urlFor(db.name), max: 2, applicationName: 'acgs-trail-full-disk-test' });
  cleanups.push(() => pool.end().catch(() => undefined));
  const logs: LogEntry[] = [];
  const trail = trailOn(pool, disk.dir, logs);
  cleanups.push(() => trail.close());
  await trail.start();
  const { bavail, bsize } = statfsSync(disk.dir);
  writeFileSync(join(disk.dir, 'filler'), Buffer.alloc((bavail - 1) * bsize, 0x78));
  return { db, proxy, pool, trail, spoolDir: disk.dir, logs };
}

const PAD = 'x'.repeat(500);

/**
 * Appends records while PostgreSQL is cut until the spool refuses one, first large ones, then the
 * smallest a record can be, so that afterwards no record fits: the receipts of those that
 * returned, the two refusals and the keys of the two records they lost.
 */
async function fillTheSpool(trail: AuditTrail): Promise<{ stored: AppendReceipt[]; refusals: unknown[]; lost: string[] }> {
  const stored: AppendReceipt[] = [];
  const refusals: unknown[] = [];
  const lost: string[] = [];
  for (const size of ['large', 'small'] as const) {
    for (let index = 0; ; index += 1) {
      if (index === 50) throw new Error('the spool never filled the disk');
      const key = `${size}-${index}`;
      try {
        stored.push(await trail.append({ kind: 'result', key, ...(size === 'large' ? { actor: 'U0ALICE', command: 'health', outcome: 'ok', details: { pad: PAD } } : {}) }));
      } catch (error) {
        refusals.push(error);
        lost.push(key);
        break;
      }
    }
  }
  // A replay started while PostgreSQL was cut may still be waiting for it: let it fail now, so
  // that nothing replays the spool behind the test's back once PostgreSQL is restored.
  await expect(trail.flush()).rejects.toThrow();
  return { stored, refusals, lost };
}

async function keysInChain(trail: AuditTrail): Promise<string[]> {
  const { records } = await trail.query({ limit: 200 });
  return records.reverse().map((record) => record.key);
}

describe('the audit trail on a full disk while PostgreSQL is away', () => {
  it('refuses a record it can store nowhere, counts it in status, /metrics and the log, and notes the loss in the trail once it can', async () => {
    const { proxy, trail, logs } = await openOnNearlyFullDisk();
    const metrics = createBotMetrics({ defaultMetrics: false, auditTrail: trail });
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'health', key: 'before' });

    proxy.cut();
    const { stored, refusals, lost } = await fillTheSpool(trail);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((receipt) => receipt.stored === 'spool')).toBe(true);
    expect(refusals[0]).toBeInstanceOf(AuditTrailUnavailableError);
    expect((refusals[0] as Error).message).toMatch(
      /^The bot's audit trail could not store this record: PostgreSQL is not reachable \(.*\), and the local spool could not be written \(ENOSPC: no space left on device\)\. 1 record has been lost since \d{4}-\d{2}-\d{2}T.*Z; escalated actions are refused while their records cannot be stored\.$/,
    );
    expect((refusals[1] as Error).message).toMatch(/\. 2 records have been lost since/);
    await expect(trail.append({ kind: 'result', actor: 'U0ALICE', command: 'health', key: 'lost-too' })).rejects.toThrow(/3 records have been lost since/);

    expect(trail.status().lost).toMatchObject({ count: 3, unnoted: 3, reason: expect.stringMatching(/ENOSPC: no space left on device/) });
    const exposition = await metrics.registry.metrics();
    expect(exposition).toMatch(/^acgs_bot_audit_records_lost_total\{service="acgs-bot"\} 3$/m);
    const lastLost = Number(/^acgs_bot_audit_record_lost_last_timestamp_seconds\{service="acgs-bot"\} (\S+)$/m.exec(exposition)?.[1]);
    expect(Math.abs(lastLost - Date.now() / 1000)).toBeLessThan(60);
    const lossLogs = logs.filter((entry) => entry.level === 'error' && /it is lost/.test(entry.msg));
    expect(lossLogs.map((entry) => entry.obj.key)).toEqual([...lost, 'lost-too']);

    proxy.restore();
    await trail.flush();
    await expect.poll(() => trail.status().lost?.unnoted, { timeout: 10_000 }).toBe(0);
    // Every record reported stored is in the chain, in order, and the loss is a record of its own.
    const keys = await keysInChain(trail);
    expect(keys.slice(0, stored.length + 1)).toEqual(['before', ...stored.map((receipt) => receipt.key)]);
    for (const key of [...lost, 'lost-too']) expect(keys).not.toContain(key);
    const notes = await trail.query({ kind: 'records_lost', limit: 10 });
    expect(notes.records).toHaveLength(1);
    expect(notes.records[0]).toMatchObject({ actor: 'system', origin: 'system', outcome: 'lost' });
    expect(notes.records[0]!.details).toMatchObject({ count: 3, keys: [...lost, 'lost-too'], reason: expect.stringMatching(/ENOSPC/) });
    expect((await trail.verify()).valid).toBe(true);
    expect(await metrics.registry.metrics()).toMatch(/^acgs_bot_audit_records_lost_total\{service="acgs-bot"\} 3$/m);
  });

  it('writes the note of its losses when it is closed right after PostgreSQL came back, before any replay', async () => {
    const { proxy, pool, trail } = await openOnNearlyFullDisk();
    proxy.cut();
    const { stored, lost } = await fillTheSpool(trail);
    proxy.restore();
    await trail.close();

    const laterSpool = mkdtempSync(join(tmpdir(), 'acgs-trail-later-'));
    cleanups.push(() => rmSync(laterSpool, { recursive: true, force: true }));
    const later = trailOn(pool, laterSpool, []);
    cleanups.push(() => later.close());
    await later.start();
    const notes = await later.query({ kind: 'records_lost', limit: 10 });
    expect(notes.records.map((record) => record.details)).toEqual([expect.objectContaining({ count: 2, keys: lost })]);
    // What was spooled was replayed at the close, before the note.
    const keys = await keysInChain(later);
    expect(keys.slice(0, stored.length)).toEqual(stored.map((receipt) => receipt.key));
    expect(keys[stored.length]).toMatch(/^records_lost:/);
  });
});

/** A Level 1 change the rules let on-call run at once, a Level 2 one that needs an approver, and read-only commands, counting their runs. */
function registryFor(log: RunLog) {
  const poke = defineCommand({
    name: 'poke',
    summary: 'A Level 1 change (fixture)',
    examples: ['poke'],
    level: 1,
    args: z.object({}),
    async run() {
      log.runs.push('poke');
      return { title: 'Poked', tone: 'ok', blocks: [] };
    },
  });
  const turn = defineCommand({
    name: 'turn',
    summary: 'A Level 2 change that needs one approver (fixture)',
    examples: ['turn'],
    level: 2,
    args: z.object({}),
    async run() {
      log.runs.push('turn');
      return { title: 'Turned', tone: 'ok', blocks: [] };
    },
  });
  return fixtureRegistry(log, [poke, turn, auditVerify] as CommandDefinition[]);
}

async function servicesWith(trail: AuditTrail, more: Partial<CommandPathDependencies> = {}): Promise<CommandPathDependencies> {
  const unused = await unusedLoopbackUrl();
  return {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    authorization: await testGate({ roles: { oncall: ['U0ONCALL'], approvers: ['U0APPROVER1'] }, overrides: { commands: { poke: { level: 1 }, turn: { level: 2 } } } }),
    trail,
    ...more,
  };
}

describe('commands when their records cannot be stored', () => {
  it('refuses an escalated command whose record was lost even when the chain takes its execution record, and still answers a read-only one', async () => {
    const { proxy, trail } = await openOnNearlyFullDisk();
    const log = new RunLog();
    const deps = { registry: registryFor(log), services: await servicesWith(trail), logError: () => undefined };
    const run = (line: string) => executeCommandLine(deps, { line, actor: { id: 'U0ONCALL' }, origin: 'slash' });

    proxy.cut();
    const { stored } = await fillTheSpool(trail);
    // PostgreSQL is back but the spool is not replayed yet: new records still queue behind it, on the full disk.
    proxy.restore();

    const readOnly = await run('status');
    expect(readOnly.outcome).toBe('ok');
    expect(log.runs).toEqual(['status']);

    const escalated = await run('poke');
    expect(escalated.outcome).toBe('rejected');
    expect(escalated.document.summary).toMatch(
      /^The bot's audit trail could not store this record: PostgreSQL .*, and the local spool could not be written \(ENOSPC: no space left on device\)\. \d+ records? ha(s|ve) been lost since .*; escalated actions are refused while their records cannot be stored\.$/,
    );
    expect(log.runs).toEqual(['status']);

    // Once the spool is replayed the same command runs, recorded.
    await trail.flush();
    const again = await run('poke');
    expect(again.outcome).toBe('ok');
    expect(log.runs).toEqual(['status', 'poke']);
    const keys = await keysInChain(trail);
    expect(keys).toEqual(expect.arrayContaining(stored.map((receipt) => receipt.key)));
    const executions = await trail.query({ kind: 'execution', limit: 10 });
    expect(executions.records).toHaveLength(1);
  });

  it('does not run an approved command when the approving vote could not be stored', async () => {
    const { proxy, trail } = await openOnNearlyFullDisk();
    const approvalsDb = await approvalTestDatabase();
    cleanups.push(() => approvalsDb.close());
    const log = new RunLog();
    const deps = { registry: registryFor(log), services: await servicesWith(trail, { approvals: createApprovalStore({ pool: approvalsDb.pool(2) }) }), logError: () => undefined };
    const requested = await executeCommandLine(deps, { line: 'turn', actor: { id: 'U0ONCALL' }, origin: 'slash' });
    expect(requested.approval).toBeDefined();

    proxy.cut();
    await fillTheSpool(trail);
    // PostgreSQL is back, the spool not replayed yet: the vote queues behind it, on the full disk.
    proxy.restore();
    const click = await decideOnApproval(deps, { id: requested.approval!.id, choice: 'approve', actor: { id: 'U0APPROVER1' } });
    expect(click.code).toBe('refused');
    expect(click.sentence.join(' ')).toMatch(/^The bot's audit trail could not store this record: .*ENOSPC: no space left on device/);
    expect(log.runs).toEqual([]);
    await trail.flush();
    expect((await trail.query({ kind: 'execution', limit: 10 })).records).toEqual([]);
  });

  it('reports the lost records in audit verify with their count and time, also in a later run of the bot', async () => {
    const { proxy, pool, trail } = await openOnNearlyFullDisk();
    const log = new RunLog();
    proxy.cut();
    await fillTheSpool(trail);
    proxy.restore();

    // While the loss is known only to this process. The records of this `audit verify` line cannot
    // be stored either (the spool is still full): its command record is the third loss (its
    // result record, written after the answer, the fourth), and the read-only command answers.
    const deps = { registry: registryFor(log), services: await servicesWith(trail), logError: () => undefined };
    const before = await executeCommandLine(deps, { line: 'audit verify', actor: { id: 'U0ONCALL' }, origin: 'slash' });
    const first = JSON.stringify(before.document);
    expect(before.document.tone).not.toBe('ok');
    expect(first).toMatch(/3 audit records were lost between \d{4}-\d{2}-\d{2}T[^ ]+Z and \d{4}-\d{2}-\d{2}T[^ ]+Z: they could be stored neither in PostgreSQL nor in the local spool \(last reason: .*ENOSPC: no space left on device\)/);

    // A later run of the bot, with a spool of its own: the note in the trail still tells.
    await expect.poll(() => trail.status().lost?.count, { timeout: 10_000 }).toBe(4); // the result record, not waited for by the command
    await trail.flush();
    await expect.poll(() => trail.status().lost?.unnoted, { timeout: 10_000 }).toBe(0);
    await trail.close();
    const laterSpool = mkdtempSync(join(tmpdir(), 'acgs-trail-later-'));
    cleanups.push(() => rmSync(laterSpool, { recursive: true, force: true }));
    const later = trailOn(pool, laterSpool, []);
    cleanups.push(() => later.close());
    await later.start();
    expect(later.status().lost).toBeUndefined();
    const laterDeps = { registry: registryFor(log), services: await servicesWith(later), logError: () => undefined };
    const after = await executeCommandLine(laterDeps, { line: 'audit verify', actor: { id: 'U0ONCALL' }, origin: 'slash' });
    expect(after.document.tone).not.toBe('ok');
    expect(JSON.stringify(after.document)).toMatch(/4 audit records were lost between \d{4}-\d{2}-\d{2}T[^ ]+Z and \d{4}-\d{2}-\d{2}T[^ ]+Z: they could be stored neither/);
  });
});
