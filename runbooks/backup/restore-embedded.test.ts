/**
 * `restore` on the embedded default of npm start (testing/restore-embedded-harness.ts): the plan,
 * a whole restore that swaps the Audit Engine's PGlite database for the backup's on the same port
 * (the engine, running on it again, re-anchored at the restored head and healthy at its next walk),
 * and a dump that fails half way (nothing replaced, the writer started again on abort).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBackup } from './backup-catalog.js';
import { embeddedRestoreHarness, type EmbeddedRestoreHarness } from './testing/restore-embedded-harness.js';
import { attemptLines, stepOutput } from './testing/run-attempts.js';
import { copyBackup, resealFile } from './testing/spoiled-backups.js';

let h: EmbeddedRestoreHarness;
let good: string;

beforeAll(async () => {
  h = await embeddedRestoreHarness();
  good = await h.verifiedBackup();
}, 180_000);
afterAll(async () => {
  await h?.close();
});

const attemptsOf = (runId: string) => attemptLines(h.t.store, runId);
const outputOf = (runId: string, stepId: string) => stepOutput(h.t.store, runId, stepId);

/** A copy of a backup under a new id whose audit-engine.sql is `change`d and resealed: bad although its checksums match. */
function spoiledCopy(newId: string, change: (sql: string) => string): void {
  const file = join(copyBackup(h.ports.root, good, newId), 'audit-engine.sql');
  writeFileSync(file, change(readFileSync(file, 'utf8')));
  resealFile(join(h.ports.root, newId), 'audit-engine.sql');
}

describe('restore of the embedded databases', () => {
  it('plans with the embedded dump: what it replaces, its rows then and now, the writer; every check passes', async () => {
    const plan = await h.executor.plan('restore', { id: good });
    const check = plan.steps.find((step) => step.id === 'check-backup')!.dryRun;
    expect(check).toMatchObject({ mode: 'read-only-check' });
    expect(check.text).toMatch(new RegExp(`^backup ${good} of .* \\(verified .*, checksums match\\): audit-engine\\.sql replaces audit-engine \\(embedded PGlite in ${h.workDir}/pglite/audit\\) whole`));
    expect(check.text).toMatch(/public\.audit_events 12 rows \(now 12\)/);
    expect(check.text).toMatch(/bot\.sql is not restored: the bot's own database/);
    expect(check.text).toMatch(/stops audit-engine meanwhile/);
    expect(plan.steps.find((step) => step.id === 'restore-databases')!.dryRun.text).toMatch(/would restore into a fresh PGlite beside audit-engine .* then swap it in on the same port/);
    for (const step of plan.steps) expect(step.dryRun.text, step.id).not.toMatch(/^(check failed|failed)/i);
  });

  it('backs up first, stops the writer, swaps in the restored database on the same port, checks it, starts the writer', { timeout: 180_000 }, async () => {
    const { manifest } = await readBackup(h.ports.root, good);
    const backupCounts = manifest.files.find((file) => file.name === 'audit-engine.sql')!.row_counts!;
    // After the backup: a table it does not know; the writer keeps adding ticks.
    await h.auditSql('CREATE TABLE later (n int); INSERT INTO later VALUES (1)');
    const now = await h.audit.rowCounts();
    expect(now['public.later']).toBe(1);
    expect(now['public.writer_ticks']).toBeGreaterThan(backupCounts['public.writer_ticks']!);
    const url = h.audit.url;
    const pid = h.writer.pid();
    // The engine chains 4 more after the backup; stopped for the restore, it signs them: its outside checkpoint is #16.
    await h.engine.postEvents(Array.from({ length: 4 }, (_, index) => ({ event_type: 'restore.later', data: { index } })));

    const run = await h.run('restore', { id: good });
    expect(run, JSON.stringify(run)).toMatchObject({ state: 'succeeded' });
    expect(await attemptsOf(run.id)).toEqual([
      'run check-backup#1 done',
      'run lock#1 done',
      'run safety-backup#1 done',
      'run stop-writers#1 done',
      'run restore-databases#1 done',
      'run verify-restored#1 done',
      'run start-writers#1 done',
      'run reanchor-audit-chain#1 done',
      'run check-health#1 done',
      'run unlock#1 done',
    ]);
    // The safety backup holds what was there just before: the later table, more ticks.
    const safety = (await outputOf(run.id, 'safety-backup')) as { id: string };
    const safetyCounts = (await readBackup(h.ports.root, safety.id)).manifest.files.find((file) => file.name === 'audit-engine.sql')!.row_counts!;
    expect(safetyCounts['public.later']).toBe(1);
    const restored = (await outputOf(run.id, 'restore-databases')) as { restored: Array<{ previous_dir: string }> };
    expect(restored.restored[0]!.previous_dir).toMatch(new RegExp(`^${h.workDir}/pglite/audit\\.before-restore-\\d{8}T\\d{9}Z$`));
    // Counted while the writer was stopped: exactly the backup's rows, the chain walked over the socket.
    expect(await outputOf(run.id, 'verify-restored')).toEqual({
      databases: [
        {
          database: expect.stringMatching(/^audit-engine \(embedded/),
          rows: Object.values(backupCounts).reduce((sum, rows) => sum + rows, 0),
          audit_chain: 'valid, 12 events',
          audit_head: { sequence: 12, chain_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
        },
      ],
      previous_data_removed: [restored.restored[0]!.previous_dir],
    });
    // Verified, so the replaced data directory is gone; nothing else was left beside the database.
    expect(h.besideAudit()).toEqual([]);
    // The rows written after the backup are gone; the writer, started again, writes on the same URL.
    expect(h.audit.url).toBe(url);
    expect(h.writer.pid()).not.toBe(pid);
    const after = await h.audit.rowCounts();
    expect(after['public.later']).toBeUndefined();
    // The backup's events and the one recording the re-anchor.
    expect(after['public.audit_events']).toBe(backupCounts['public.audit_events']! + 1);
    // The engine accepted its restored chain: the checkpoint it rolled back from, the head now, recorded.
    const reanchored = (await outputOf(run.id, 'reanchor-audit-chain')) as { integrity: { checked_at: string } };
    expect(reanchored).toMatchObject({
      audit_chain: expect.stringMatching(/^re-anchored: checkpoint #16 \([0-9a-f]{12}…\) -> head #12 \([0-9a-f]{12}…\), recorded as event #13$/),
      integrity: { valid: true, events_checked: 13 },
    });
    const [recorded] = (await h.engine.listEvents({ event_type: 'audit.chain_reanchored' })).events;
    expect(recorded).toMatchObject({ sequence: 13, data: { backup_id: good, run_id: run.id, rolled_back: { from: { sequence: 16 }, to: { sequence: 12 } } } });
    // Healthy at its next background walk, not only right after the re-anchor.
    await expect
      .poll(async () => {
        const health = await h.engine.health();
        return health.integrity && Date.parse(health.integrity.checked_at) > Date.parse(reanchored.integrity.checked_at) ? health.status : 'not walked yet';
      }, { timeout: 30_000 })
      .toBe('healthy');
    await expect.poll(async () => (await h.audit.rowCounts())['public.writer_ticks']!, { timeout: 30_000 }).toBeGreaterThan(backupCounts['public.writer_ticks']!);
  });

  it('a dump that fails half way replaces nothing; abort starts the writer again', { timeout: 180_000 }, async () => {
    const id = '20260101T000000Z-bbbbb1';
    spoiledCopy(id, (sql) => sql.replace(/INSERT INTO public\.audit_events VALUES \(/, 'INSERT INTO public.audit_events VALUES (('));
    await h.auditSql('CREATE TABLE IF NOT EXISTS marker (n int); INSERT INTO marker VALUES (7)');
    const before = await h.audit.rowCounts();

    const run = await h.run('restore', { id });
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(
      /audit-engine\.sql did not restore into audit-engine \(embedded PGlite in .*\): syntax error at or near .*; the live database in .*\/pglite\/audit was not touched\. Nothing of it was swapped in: .* holds what it held before\. Replaced already: none; not touched: none\. The writers stay stopped until you decide/,
    );
    expect(h.writer.state()).toBe('held');
    // Nothing replaced, nothing half-built left beside it.
    const held = await h.audit.rowCounts();
    expect(held['public.marker']).toBe(1);
    expect(held['public.writer_ticks']).toBeGreaterThanOrEqual(before['public.writer_ticks']!);
    expect(h.besideAudit()).toEqual([]);

    await h.executor.abort(run.id, 'U0ONCALL');
    expect((await h.settle(run.id)).state).toBe('aborted');
    expect(await attemptsOf(run.id)).toEqual([
      'run check-backup#1 done',
      'run lock#1 done',
      'run safety-backup#1 done',
      'run stop-writers#1 done',
      'run restore-databases#1 failed',
      'compensate stop-writers#2 compensated',
      'compensate lock#2 compensated',
    ]);
    expect(h.writer.state()).toBe('running');
    await expect.poll(async () => (await h.audit.rowCounts())['public.writer_ticks']!, { timeout: 30_000 }).toBeGreaterThan(held['public.writer_ticks']!);
  });

  it('a dump cut short is refused by the plan, before anything stops', { timeout: 60_000 }, async () => {
    const id = '20260101T000000Z-bbbbb2';
    spoiledCopy(id, (sql) => sql.slice(0, Math.floor(sql.length * 0.7)));
    const pid = h.writer.pid();
    const run = await h.run('restore', { id });
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/audit-engine\.sql cannot be read: it does not end with "PostgreSQL database dump complete": it was cut short/);
    expect(await attemptsOf(run.id)).toEqual(['run check-backup#1 failed']);
    await h.executor.abort(run.id, 'U0ONCALL');
    expect((await h.settle(run.id)).state).toBe('aborted');
    expect(h.writer.pid()).toBe(pid);
  });
});
