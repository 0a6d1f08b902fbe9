/**
 * A runner SIGKILLed while `restore-databases` runs (its pg_restore waits on a lock the test
 * holds): the restore's transaction never commits, another runner takes the run over and stops it
 * for a decision (the step is not idempotent), the database holds what it held, and retry restores.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { RESTORE_APPLICATION } from '../../services/stack/backup/postgres-dump.js';
import { tableRowCounts } from '../../services/stack/backup/scratch-database.js';
import { migrateReleaseRecords } from '../deploy/release-records.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../engine/testing/database.js';
import { listBackups, recordVerification } from './backup-catalog.js';
import { startCrashRunner } from './testing/crash-runner.js';
import { sqlOnce as sql } from './testing/sql.js';

let t: RunbookTestDatabase;
let audit: TestDatabase;
let root: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  t = await runbookTestDatabase();
  await migrateReleaseRecords(t.pool);
  audit = await createTestDatabase('acgs_rscrash_audit');
  await sql(audit.url, `CREATE TABLE events (id bigserial PRIMARY KEY, body text NOT NULL);
    INSERT INTO events (body) SELECT md5(g::text) FROM generate_series(1, 500) g;`);
  root = mkdtempSync(join(tmpdir(), 'acgs-restore-crash-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await audit?.drop();
  await t?.close();
  rmSync(root, { recursive: true, force: true });
});

function startRunner(owner: string) {
  return startCrashRunner(
    { databaseUrl: t.db.url, owner, root, databases: [{ name: 'audit-engine', url: audit.url }], stack: 'local' },
    { children, waitMs: 30_000 },
  );
}

const settledIn = (runner: ReturnType<typeof startRunner>, runId: string, states: string[]) =>
  runner.waitFor((event) => event.event === 'runStateChanged' && event.runId === runId && states.includes(event.state!), 60_000);

/** The restore's session waiting on the test's lock, if it is there yet. */
async function restoreWaiting(): Promise<number | undefined> {
  const { rows } = await sql(TEST_POSTGRES_URL, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'", [audit.name, RESTORE_APPLICATION]);
  return (rows[0] as { pid: number } | undefined)?.pid;
}

describe('restore after a crash mid-restore', () => {
  it('stops for a decision with the data as it was; retry restores', { timeout: 120_000 }, async () => {
    const a = startRunner('runner-a');
    const versions = (await a.waitFor((event) => event.event === 'started')).versions!;
    const submit = (runbook: string, args: Record<string, string>) => t.store.create({ runbook, version: versions[runbook]!, args, requester: 'U0ONCALL', origin: 'test' });
    const backup = await submit('backup', {});
    await settledIn(a, backup.id, ['succeeded']);
    const [made] = await listBackups(root);
    // As backup verify records it, without scratch restores that other files count while they run.
    await recordVerification(join(root, made!.id), { verified_at: new Date().toISOString(), ok: true, verified_by: 'restore crash test' });
    await sql(audit.url, "INSERT INTO events (body) VALUES ('after the backup')");

    const locker = new pg.Client({ connectionString: audit.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE events IN ACCESS SHARE MODE');
      const restore = await submit('restore', { id: made!.id });
      await a.waitFor((event) => event.event === 'stepStarted' && event.runId === restore.id && event.stepId === 'restore-databases');
      let pid: number | undefined;
      for (let waited = 0; !(pid = await restoreWaiting()); waited += 50) {
        if (waited > 30_000) throw new Error('the restore never reached the lock');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      a.child.kill('SIGKILL');
      await new Promise((resolve) => a.child.once('exit', resolve));
      // The killed runner's pg_restore lives on; ending its session rolls its transaction back.
      await sql(TEST_POSTGRES_URL, 'SELECT pg_terminate_backend($1)', [pid]);
      await locker.query('COMMIT');

      const b = startRunner('runner-b');
      await settledIn(b, restore.id, ['needs_decision', 'succeeded', 'failed']);
      const stopped = await t.store.get(restore.id);
      expect(stopped?.state).toBe('needs_decision');
      expect(stopped?.reason).toBe('step "restore-databases" (Replace each database with its dump (pg_restore in one transaction; an embedded one swapped whole)) was interrupted and is not safe to run again by itself: retry, skip or abort');
      expect((await t.store.attempts(restore.id)).map((attempt) => `${attempt.stepId}#${attempt.attempt} ${attempt.outcome}`)).toEqual([
        'check-backup#1 done',
        'lock#1 done',
        'safety-backup#1 done',
        'stop-writers#1 done',
        'restore-databases#1 interrupted',
      ]);
      expect((await tableRowCounts(audit.url))['public.events']).toBe(501);

      await t.store.decide(restore.id, 'retry', 'U0ONCALL');
      await settledIn(b, restore.id, ['succeeded', 'failed']);
      expect((await t.store.get(restore.id))?.state).toBe('succeeded');
      expect((await tableRowCounts(audit.url))['public.events']).toBe(500);
      b.child.kill('SIGTERM');
    } finally {
      await locker.end().catch(() => undefined);
    }
  });
});
