/**
 * A runner SIGKILLed in the middle of `dump-databases` (after the first database's dump, while the
 * second waits on a lock): another runner takes the run over, keeps the finished dump, dumps the
 * second database again, and seals one complete backup in the same directory.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../engine/testing/database.js';
import { listBackups, readBackup } from './backup-catalog.js';
import { startCrashRunner } from './testing/crash-runner.js';
import { sqlOnce as sql } from './testing/sql.js';

let t: RunbookTestDatabase;
let audit: TestDatabase;
let bot: TestDatabase;
let root: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  t = await runbookTestDatabase();
  audit = await createTestDatabase('acgs_bkcrash_audit');
  bot = await createTestDatabase('acgs_bkcrash_bot');
  // Big enough that its dump takes a moment: the lock on the second database lands before that dump starts.
  await sql(audit.url, `CREATE TABLE audit_events (id bigserial PRIMARY KEY, body text NOT NULL);
    INSERT INTO audit_events (body) SELECT md5(g::text) || md5(random()::text) FROM generate_series(1, 150000) g;`);
  await sql(bot.url, `CREATE TABLE bot_records (sequence bigint PRIMARY KEY);
    INSERT INTO bot_records SELECT g FROM generate_series(1, 100) g;`);
  root = mkdtempSync(join(tmpdir(), 'acgs-backup-crash-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await audit?.drop();
  await bot?.drop();
  await t?.close();
  rmSync(root, { recursive: true, force: true });
});

function startRunner(owner: string) {
  return startCrashRunner(
    { databaseUrl: t.db.url, owner, root, databases: [{ name: 'audit-engine', url: audit.url }, { name: 'bot', url: bot.url }] },
    { children, waitMs: 20_000 },
  );
}

/** The backup's session on the second database, stuck behind the test's lock. */
async function waitingOnLock(database: string): Promise<boolean> {
  const { rows } = await sql(t.db.url, "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'acgs-backup' AND wait_event_type = 'Lock'", [database]);
  return rows.length > 0;
}

describe('backup after a crash mid-dump', () => {
  it('is taken over: the finished dump is kept, the interrupted one is made again, one complete backup', { timeout: 90_000 }, async () => {
    const a = startRunner('runner-a');
    const versions = (await a.waitFor((event) => event.event === 'started')).versions!;
    const locker = new pg.Client({ connectionString: bot.url });
    await locker.connect();
    try {
      const run = await t.store.create({ runbook: 'backup', version: versions.backup!, args: {}, requester: 'U0ONCALL', origin: 'test' });
      await a.waitFor((event) => event.event === 'stepStarted' && event.runId === run.id && event.stepId === 'dump-databases');
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE bot_records IN ACCESS EXCLUSIVE MODE');
      for (let waited = 0; !(await waitingOnLock(bot.name)); waited += 100) {
        if (waited > 30_000) throw new Error('the dump of the second database never reached the lock');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [backup] = await listBackups(root);
      const dir = join(root, backup!.id);
      const firstDump = statSync(join(dir, 'audit-engine.dump')).mtimeMs;
      a.child.kill('SIGKILL');
      await new Promise((resolve) => a.child.once('exit', resolve));
      await locker.query('COMMIT');

      const b = startRunner('runner-b');
      await b.waitFor((event) => event.event === 'runStateChanged' && event.runId === run.id && ['succeeded', 'needs_decision', 'failed'].includes(event.state!), 60_000);
      expect((await t.store.get(run.id))?.state).toBe('succeeded');
      const attempts = (await t.store.attempts(run.id)).map((attempt) => `${attempt.stepId}#${attempt.attempt} ${attempt.outcome}`);
      expect(attempts).toEqual([
        'check#1 done',
        'create-directory#1 done',
        'dump-databases#1 interrupted',
        'dump-databases#2 done',
        'save-state#1 done',
        'verify-files#1 done',
        'write-manifest#1 done',
        'retention#1 done',
      ]);
      expect(await listBackups(root)).toMatchObject([{ id: backup!.id, state: 'complete' }]);
      const { manifest } = await readBackup(root, backup!.id);
      expect(manifest.files.find((file) => file.name === 'bot.dump')?.row_counts).toEqual({ 'public.bot_records': 100 });
      expect(statSync(join(dir, 'audit-engine.dump')).mtimeMs).toBe(firstDump);
      b.child.kill('SIGTERM');
    } finally {
      await locker.end().catch(() => undefined);
    }
  });
});
