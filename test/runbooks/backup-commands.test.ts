/**
 * `backups`, `backup` and `backup verify` through the command path every surface uses, with the
 * real policy, the bot's trail and the runbook engine on a real PostgreSQL bot database, whose
 * backup port is built from the environment as the bot builds it (bot/main.ts): the bot's own
 * database is what gets dumped, and a real restore into a scratch database verifies it. Every
 * bad input gets a clear answer and records no run.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, migrateApprovalStore } from '../../bot/approvals/index.js';
import { createTrailStore } from '../../bot/audit-trail/trail-store.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { backupHostPorts, createBackupCatalog, startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { backupRunbooks, createBackupPorts } from '../../runbooks/backup/index.js';
import type { BackupPorts } from '../../runbooks/engine/ports.js';
import { FINAL_RUN_STATES, type RunRecord } from '../../runbooks/engine/run-store.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { block, commandRunner, fieldValue, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { runTables, waitForRunState } from './testing/run-records.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const ROLES = { oncall: [ONCALL], approvers: [], admins: [] };

let trail: TestTrail;
let engine: RunbookEngine;
let services: CommandPathDependencies;
let run: CommandRunner;
let workDir: string;
let root: string;
let backupPort: BackupPorts;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_backup_cmds' });
  workDir = mkdtempSync(join(tmpdir(), 'acgs-backup-commands-'));
  root = join(workDir, 'backups');
  // No service answers: the versions say so, and the modes come from the test (the stand-in has none).
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 500 });
  backupPort = {
    ...createBackupPorts({
      env: { DATABASE_URL: trail.db.url, ACGS_BACKUP_DIR: root },
      commands: base,
      auditChainHead: async () => {
        const head = await createTrailStore(trail.pool).head();
        return head.sequence > 0 ? head : null;
      },
      ...backupHostPorts(trail.pool),
    }),
    modes: async () => ({ strict: false, lockdown: false }),
  };
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: backupRunbooks,
    ports: { commands: base, backup: backupPort },
    executor: { leaseMs: 5000, renewEveryMs: 500, scanEveryMs: 100 },
  });
  // restore (Level 3) asks for approvals: its refusals come before any request is stored.
  await migrateApprovalStore(trail.pool);
  const approvals = createApprovalStore({ pool: trail.pool });
  services = { ...base, authorization: await testGate({ roles: ROLES }), trail: trail.trail, approvals, runs: engine.runs, backups: createBackupCatalog(root) };
  run = commandRunner({ services: () => services, user: ONCALL });
});

afterAll(async () => {
  await engine?.stop();
  await trail?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const settled = (id: string) => waitForRunState(engine.store, id, FINAL_RUN_STATES, 60_000);

/** Runs and attempts now, so a refusal can show it recorded nothing. */
const tables = () => runTables(trail.pool);
const approvalRequests = async () => Number((await trail.pool.query<{ count: string }>('SELECT count(*) FROM approval_requests')).rows[0]!.count);

async function started(line: string, runbook: string): Promise<RunRecord> {
  const outcome = await run(line);
  expect(outcome.document.title, JSON.stringify(outcome.document)).toBe(`Run started: ${runbook}`);
  return settled((outcome.document.data as { run: { id: string } }).run.id);
}

function backupRows(document: { blocks: unknown[] }): string[][] {
  return block(document as Parameters<typeof block>[0], 'table').rows;
}

let backupId: string;

describe('backup, backups and backup verify', () => {
  it('backups says there are none yet, where, and how to make one', async () => {
    const outcome = await run('backups', { user: VIEWER });
    expect(outcome.outcome).toBe('info');
    expect(outcome.document.summary).toBe('No backups yet. `backup` makes one (`backup --dry-run` shows its plan first).');
    expect(fieldValue(outcome.document, 'Backup directory')).toBe(root);
  });

  it('backup --dry-run shows the plan of the backup runbook and records nothing', async () => {
    const before = await tables();
    const outcome = await run('backup --dry-run');
    expect(outcome.document.title).toBe('Dry run: backup');
    expect(outcome.document.summary).toMatch(/^Nothing ran and nothing was recorded\./);
    expect(block(outcome.document, 'table').rows[0]![3]).toBe('checked (read-only)');
    expect(await tables()).toEqual(before);
  });

  it('backup runs the backup runbook, answered as run answers, and backups lists it', async () => {
    const finished = await started('backup', 'backup');
    expect(finished, finished.reason ?? '').toMatchObject({ state: 'succeeded', requester: ONCALL, runbook: 'backup' });

    const listed = await run('backups', { user: VIEWER });
    const rows = backupRows(listed.document);
    expect(rows).toHaveLength(1);
    const [id, state, size, age, verification] = rows[0]!;
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect([state, verification]).toEqual(['complete', 'never']);
    expect(size).toMatch(/^\d+(\.\d)? (KiB|MiB)$/);
    expect(age).toMatch(/^\d+ s ago$/);
    backupId = id!;
    // The run's summary names what it made, wherever the run is shown (status, run message, CLI end).
    expect(finished.reason).toMatch(new RegExp(`^backup ${id} \\(\\d+ files, [\\d.]+ (KiB|MiB)\\); \`backup verify ${id}\` checks it restores$`));
    const status = await run(`run status ${finished.id}`, { user: VIEWER });
    expect(status.document.summary).toContain(`backup has succeeded: backup ${id} (`);
  });

  it('backup verify --dry-run reads the manifest for real and records nothing', async () => {
    const before = await tables();
    const outcome = await run(`backup verify ${backupId} --dry-run`);
    expect(outcome.document.title).toBe('Dry run: backup-verify');
    expect(block(outcome.document, 'table').rows[0]).toEqual(['1', 'Find the backup and read its manifest', 'check', 'checked (read-only)', expect.stringContaining(`backup ${backupId} of `)]);
    expect(await tables()).toEqual(before);
  });

  it('backup verify restores it for real, and backups then shows it verified', async () => {
    const finished = await started(`backup verify ${backupId}`, 'backup-verify');
    expect(finished, finished.reason ?? '').toMatchObject({ state: 'succeeded', args: { id: backupId } });
    const listed = await run('backups');
    expect(backupRows(listed.document)[0]).toEqual([backupId, 'complete', expect.any(String), expect.any(String), expect.stringMatching(/^verified \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/)]);
    expect(listed.document.summary).toMatch(/^1 backup, newest .* ago: 1 complete \(1 verified\)\./);
  });
});

describe('bad input: a clear answer, and no run recorded', () => {
  const unfinished = '20200101T000000Z-0a0b0c';
  beforeAll(() => {
    // A backup directory without its manifest: what a crashed backup leaves.
    mkdirSync(join(root, unfinished), { recursive: true });
  });

  it.each([
    ['backup verify', /^Invalid arguments for `backup verify`: id: name the backup to verify: its id, as `backups` lists it\.$/, /backup verify <id>/],
    ['backup verify latest', /`latest` is not a backup id; a backup id looks like 20261206T152000Z-a1b2c3 \(`backups` lists them\)/, /backup verify <id>/],
    ['backup verify ../../etc', /`..\/..\/etc` is not a backup id/, /backup verify <id>/],
    ['backup verify 20261206T152000Z-ffffff', /^There is no backup "20261206T152000Z-ffffff" in .*backups\.$/, /`backups` lists the backups there/],
    [`backup verify ${unfinished}`, new RegExp(`^Backup ${unfinished} is incomplete: .+; only a complete backup can be verified\\.$`), /`backups` lists the complete ones/],
    // The long form meets the same check, before a run is recorded, and answers the same.
    ['run backup-verify id=20261206T152000Z-ffffff', /^There is no backup "20261206T152000Z-ffffff" in .*backups\.$/, /`backups` lists the backups there/],
    [`run backup-verify id=${unfinished}`, new RegExp(`^Backup ${unfinished} is incomplete: .+; only a complete backup can be verified\\.$`), /`backups` lists the complete ones/],
    ['run backup-verify id=20261206T152000Z-ffffff --dry-run', /^There is no backup "20261206T152000Z-ffffff" in .*backups\.$/, /`backups` lists the backups there/],
    ['backup verify 20261206T152000Z-ffffff --force', /`--force` is not an option of `backup verify`; it takes `--dry-run`/, /backup verify <id>/],
    ['backup now', /`now` is not a word of `backup`: `backup` makes a backup/, /backup \[--dry-run\]/],
    ['backup verfy 20261206T152000Z-ffffff', /`verfy` is not a word of `backup`; did you mean `backup verify <id>`\?/, /backup \[--dry-run\]/],
    ['backup --dry-run verify', /`verify` is not a word of `backup`; did you mean `backup verify <id>`\?/, /backup/],
    ['backups all', /`backups` takes no arguments; unexpected `all`/, /backups/],
    ['restore', /^Invalid arguments for `restore`: id: name the backup to restore: its id, as `backups` lists it\.$/, /restore <id>/],
    ['restore latest', /`latest` is not a backup id; a backup id looks like 20261206T152000Z-a1b2c3/, /restore <id>/],
    ['restore 20261206T152000Z-ffffff', /^There is no backup "20261206T152000Z-ffffff" in .*backups\.$/, /`backups` lists the backups there/],
    [`restore ${unfinished}`, new RegExp(`^Backup ${unfinished} is incomplete: .+; only a complete backup can be restored\\.$`), /`backups` lists the complete ones/],
  ])('%s', async (line, message, hint) => {
    const before = await tables();
    const requests = await approvalRequests();
    const outcome = await run(line);
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.document.summary).toMatch(message);
    expect(outcome.document.footer ?? '').toMatch(hint);
    expect(await tables()).toEqual(before);
    expect(await approvalRequests()).toBe(requests);
  });

  it('asks two approvers for restore of a complete backup, showing its plan; no run is recorded until they approve', async () => {
    const before = await tables();
    const requests = await approvalRequests();
    const outcome = await run(`restore ${backupId}`);
    expect(outcome.decision).toMatchObject({ code: 'approval_required', level: 3, approvals_required: 2 });
    expect(outcome.document.summary).toMatch(/restore/);
    expect(JSON.stringify(outcome.document)).toContain('Replace each database with its dump');
    expect(await tables()).toEqual(before);
    expect(await approvalRequests()).toBe(requests + 1);
  });

  it('lists the unfinished backup as incomplete, saying why', async () => {
    const rows = backupRows((await run('backups')).document);
    expect(rows.map((row) => [row[0], row[1]!.split(':')[0]])).toEqual([
      [backupId, 'complete'],
      [unfinished, 'incomplete'],
    ]);
  });

  it('refuses backup and backup verify to someone without a Level 1 role; backups is open to anyone', async () => {
    const before = await tables();
    for (const line of ['backup', `backup verify ${backupId}`]) {
      const refused = await run(line, { user: VIEWER });
      expect(refused.outcome, line).toBe('rejected');
      expect(refused.decision?.code, line).toBe('role');
    }
    expect(await tables()).toEqual(before);
    expect((await run('backups', { user: VIEWER })).outcome).not.toBe('rejected');
  });

  it('says what is not set up in a process without the engine or the catalog', async () => {
    const { runs: _runs, backups: _backups, ...without } = services;
    expect((await run('backups', { services: without })).document.summary).toBe('Backups are not set up in this process.');
    for (const line of ['backup', 'backup --dry-run', `backup verify ${backupId}`]) {
      expect((await run(line, { services: without })).document.summary, line).toBe('The runbook engine is not set up in this process.');
    }
  });
});

describe('a process without DATABASE_URL that runs no embedded database', () => {
  it('has nothing to back up, and backup says so in its plan and in its run', async () => {
    const { databases, databasesProblem } = createBackupPorts({ env: { ACGS_BACKUP_DIR: root }, commands: {}, auditChainHead: async () => null });
    const saved = { databases: backupPort.databases, databasesProblem: backupPort.databasesProblem };
    Object.assign(backupPort, { databases, databasesProblem });
    try {
      const plan = await run('backup --dry-run');
      expect(plan.document.tone).toBe('warn');
      expect(block(plan.document, 'table').rows[0]![4]).toMatch(/DATABASE_URL is not set, and this process runs none of the embedded PGlite databases/);

      const outcome = await run('backup');
      const id = (outcome.document.data as { run: { id: string } }).run.id;
      const stopped = await waitForRunState(engine.store, id, ['needs_decision'], 30_000);
      expect(stopped.reason).toMatch(/embedded PGlite databases/);
      expect((await run(`run abort ${id}`)).document.title).toBe('Abort requested: backup');
      expect(await settled(id)).toMatchObject({ state: 'aborted' });
      expect(backupRows((await run('backups')).document).map((row) => row[0])).toEqual([backupId, '20200101T000000Z-0a0b0c']);
    } finally {
      Object.assign(backupPort, saved);
    }
  });
});
