import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AuditTrail, AuditTrailUnavailableError, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { SpoolDirectoryInUseError } from '../../bot/audit-trail/spool-lock.js';
import { createPool } from '../../services/kit/postgres.js';
import { startPostgresProxy, type PostgresProxy } from '../testing/postgres-proxy.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

const APPEND_PROCESS = fileURLToPath(new URL('../../bot/audit-trail/testing/append-process.ts', import.meta.url));

interface OutageFixture {
  db: TestDatabase;
  proxy: PostgresProxy;
  pool: pg.Pool;
  spoolDir: string;
  trail: AuditTrail;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function openFixture(options: { cutBeforeStart?: boolean; writeTimeoutMs?: number } = {}): Promise<OutageFixture> {
  const db = await createTestDatabase('acgs_trail_outage');
  cleanups.push(() => db.drop());
  const proxy = await startPostgresProxy();
  cleanups.push(() => proxy.close());
  const pool = createPool({ databaseUrl: proxy.urlFor(db.name), max: 2, applicationName: 'acgs-trail-outage-test' });
  cleanups.push(() => pool.end().catch(() => undefined));
  const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-trail-outage-'));
  cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
  const trail = createAuditTrail({ pool, spoolDir, writeTimeoutMs: options.writeTimeoutMs ?? 3000, retryMinMs: 50, retryMaxMs: 200 });
  cleanups.push(() => trail.close());
  if (options.cutBeforeStart) proxy.cut();
  await trail.start();
  return { db, proxy, pool, spoolDir, trail };
}

function spoolLines(spoolDir: string): Array<Record<string, unknown>> {
  const path = join(spoolDir, 'trail.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function chainedKeys(trail: AuditTrail): Promise<string[]> {
  const { records } = await trail.query({ limit: 200 });
  return records.reverse().map((record) => record.key);
}

describe('PostgreSQL going away and coming back', () => {
  it('spools what happens while it is gone, refuses escalated actions, and replays the spool in order once it is back', async () => {
    const { proxy, spoolDir, trail } = await openFixture();
    for (let index = 0; index < 3; index += 1) {
      expect((await trail.append({ kind: 'command', actor: 'U0ALICE', key: `before-${index}` })).stored).toBe('chain');
    }

    proxy.cut();
    const during = [];
    for (let index = 0; index < 5; index += 1) {
      during.push(await trail.append({ kind: 'result', actor: 'U0ALICE', command: 'scale', outcome: 'ok', key: `during-${index}` }));
    }
    expect(during.map((receipt) => receipt.stored)).toEqual(['spool', 'spool', 'spool', 'spool', 'spool']);
    // On disk before append returned: one JSON line each, readable by this user only.
    expect(spoolLines(spoolDir).map((line) => line.idempotency_key)).toEqual(['during-0', 'during-1', 'during-2', 'during-3', 'during-4']);
    expect(statSync(join(spoolDir, 'trail.jsonl')).mode & 0o777).toBe(0o600);

    const availability = await trail.available();
    expect(availability).toMatchObject({ ok: false, waiting: 5 });
    expect(availability.ok === false && availability.reason).toMatch(
      /^The bot's audit trail cannot be written to PostgreSQL \(PostgreSQL is not reachable .*\), so escalated actions are refused until it is back\. 5 records are waiting in the local spool\.$/,
    );
    await expect(trail.appendToChain({ kind: 'execution', actor: 'U0ALICE', command: 'lockdown', key: 'refused-execution' })).rejects.toThrow(
      AuditTrailUnavailableError,
    );
    expect(trail.status()).toMatchObject({ database: 'down', waiting: 5 });
    expect(spoolLines(spoolDir).map((line) => line.idempotency_key)).not.toContain('refused-execution');
    await expect(trail.query({ limit: 5 })).rejects.toThrow(/^The bot's audit trail cannot be read: PostgreSQL is not reachable/);

    proxy.restore();
    // The background loop notices on its own; nobody calls flush.
    await expect.poll(() => trail.status().waiting, { timeout: 10_000 }).toBe(0);
    expect(trail.status().database).toBe('up');
    expect(await chainedKeys(trail)).toEqual(['before-0', 'before-1', 'before-2', 'during-0', 'during-1', 'during-2', 'during-3', 'during-4']);
    const { records } = await trail.query({ limit: 5 });
    for (const record of records) expect(Date.parse(record.recordedAt)).toBeGreaterThanOrEqual(Date.parse(record.at));
    expect(await trail.verify()).toMatchObject({ valid: true, checked: 8, waiting: 0 });
    expect(readFileSync(join(spoolDir, 'trail.jsonl'), 'utf8')).toBe('');

    expect(await trail.available()).toEqual({ ok: true });
    expect(await trail.appendToChain({ kind: 'execution', actor: 'U0ALICE', command: 'lockdown' })).toMatchObject({ stored: 'chain', sequence: 9 });
  });

  it('keeps the order of appends that were in flight when the connection dropped', async () => {
    const { proxy, trail } = await openFixture();
    const appends: Array<Promise<unknown>> = [];
    for (let index = 0; index < 60; index += 1) {
      appends.push(trail.append({ kind: 'vote', actor: 'U0BOB', key: `burst-${String(index).padStart(2, '0')}` }));
      if (index === 20) proxy.cut();
    }
    const receipts = (await Promise.all(appends)) as Array<{ stored: string }>;
    expect(receipts.some((receipt) => receipt.stored === 'spool')).toBe(true);
    proxy.restore();
    await trail.flush();
    expect(await chainedKeys(trail)).toEqual(Array.from({ length: 60 }, (_, index) => `burst-${String(index).padStart(2, '0')}`));
    expect((await trail.verify()).valid).toBe(true);
  });

  it('counts a database that accepts connections but never answers as unavailable instead of hanging', async () => {
    const { proxy, trail } = await openFixture({ writeTimeoutMs: 500 });
    proxy.stall();
    expect(await trail.append({ kind: 'command', actor: 'U0CAROL', key: 'stalled' })).toMatchObject({ stored: 'spool' });
    expect(await trail.available()).toMatchObject({ ok: false });
    await expect(trail.appendToChain({ kind: 'execution', actor: 'U0CAROL' })).rejects.toThrow(/did not answer within 500 ms/);
    proxy.restore();
    await trail.flush();
    expect(await chainedKeys(trail)).toEqual(['stalled']);
  });

  it('starts while PostgreSQL is unreachable, then migrates and replays when it appears', async () => {
    const { proxy, trail } = await openFixture({ cutBeforeStart: true });
    expect(trail.status()).toMatchObject({ database: 'down', initialized: false });
    expect(await trail.append({ kind: 'command', actor: 'U0DAVE', key: 'early' })).toMatchObject({ stored: 'spool' });
    expect((await trail.available()).ok).toBe(false);
    proxy.restore();
    await expect.poll(() => trail.status().initialized, { timeout: 10_000 }).toBe(true);
    await trail.flush();
    expect(await chainedKeys(trail)).toEqual(['early']);
    expect(await trail.available()).toEqual({ ok: true });
  });
});

describe('crashes', () => {
  it('loses nothing when the bot is killed right after appends returned: the next start replays the spool once, in order', async () => {
    const { db, proxy, spoolDir, trail } = await openFixture();
    await trail.close();
    proxy.cut();

    // A separate bot process appends (into its spool, PostgreSQL being cut) until it is killed.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', APPEND_PROCESS, JSON.stringify({ databaseUrl: proxy.urlFor(db.name), spoolDir, label: 'crashing', writeTimeoutMs: 1000 })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const acked: number[] = [];
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          const message = JSON.parse(line) as { acked?: number; stored?: string };
          if (message.acked === undefined) continue;
          expect(message.stored).toBe('spool');
          acked.push(message.acked);
          if (acked.length === 25) {
            child.kill('SIGKILL'); // no close(), no final flush: whatever append promised must already be on disk
            resolve();
          }
        }
      });
      child.on('exit', (code) => (acked.length < 25 ? reject(new Error(`the appending process exited early (${code}): ${errors}`)) : undefined));
    });
    expect(await exited).toBe('SIGKILL');
    expect(statSync(join(spoolDir, 'trail.jsonl')).mode & 0o777).toBe(0o600);

    proxy.restore();
    const pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-trail-after-crash' });
    cleanups.push(() => pool.end());
    // The killed process's lock file names a pid that is gone: the new process takes the spool over.
    const restarted = createAuditTrail({ pool, spoolDir });
    cleanups.push(() => restarted.close());
    await restarted.start();

    const keys = await chainedKeys(restarted);
    expect(keys.length).toBeGreaterThanOrEqual(acked.length);
    // Everything that was acknowledged is there, once, in the order it was appended, with no gap.
    expect(keys).toEqual(Array.from({ length: keys.length }, (_, index) => `crashing-${index}`));
    expect(restarted.status().waiting).toBe(0);
    expect((await restarted.verify()).valid).toBe(true);
  });

  it('doubles nothing when a replay committed but the crash came before the spool was marked as replayed', async () => {
    const { proxy, spoolDir, trail, pool } = await openFixture();
    proxy.cut();
    for (let index = 0; index < 4; index += 1) await trail.append({ kind: 'result', actor: 'U0ERIN', key: `replayed-${index}` });
    // The spool as it stood before the replay: what a crash between commit and acknowledgement leaves.
    const saved = mkdtempSync(join(tmpdir(), 'acgs-trail-saved-'));
    cleanups.push(() => rmSync(saved, { recursive: true, force: true }));
    for (const file of ['trail.jsonl', 'trail.offset']) if (existsSync(join(spoolDir, file))) copyFileSync(join(spoolDir, file), join(saved, file));
    proxy.restore();
    await trail.flush();
    expect(await chainedKeys(trail)).toEqual(['replayed-0', 'replayed-1', 'replayed-2', 'replayed-3']);
    await trail.close();
    rmSync(join(spoolDir, 'trail.offset'), { force: true });
    for (const file of ['trail.jsonl', 'trail.offset']) if (existsSync(join(saved, file))) copyFileSync(join(saved, file), join(spoolDir, file));

    const again = createAuditTrail({ pool, spoolDir });
    cleanups.push(() => again.close());
    await again.start();
    expect(again.status().waiting).toBe(0);
    expect(await chainedKeys(again)).toEqual(['replayed-0', 'replayed-1', 'replayed-2', 'replayed-3']);
    expect(await again.verify()).toMatchObject({ valid: true, checked: 4 });
  });

  it('refuses a second trail on a spool directory that is in use, naming the directory', async () => {
    const { pool, spoolDir } = await openFixture();
    const second = createAuditTrail({ pool, spoolDir });
    await expect(second.start()).rejects.toThrow(SpoolDirectoryInUseError);
    await expect(second.start()).rejects.toThrow(`the audit spool directory ${spoolDir} is already used`);
  });
});
