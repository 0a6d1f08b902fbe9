/**
 * `audit verify` (issue 10, Low): from the last signed checkpoint by default, every record with
 * `--full`, limited per person with an answer that says when to try again. The real Audit Engine
 * and the bot's trail on the real PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { loadTrailSigningKey } from '../../bot/audit-trail/trail-checkpoints.js';
import { trailRelayRoutes } from '../../bot/audit-trail/trail-relay.js';
import { createVerifyLimiter, VERIFY_LIMITS } from '../../commands/audit-verify.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { buildApp } from '../../services/audit-engine/app.js';
import { loadConfig } from '../../services/audit-engine/config.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { createPool } from '../../services/kit/postgres.js';
import type { Service } from '../../services/kit/service.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

let engineDb: TestDatabase;
let trailDb: TestDatabase;
let engine: Service;
let pool: pg.Pool;
let trail: AuditTrail;
let stateDir: string;
let run: CommandRunner;

beforeAll(async () => {
  [engineDb, trailDb] = await Promise.all([createTestDatabase('acgs_verify_engine'), createTestDatabase('acgs_verify_trail')]);
  stateDir = mkdtempSync(join(tmpdir(), 'acgs-verify-command-'));
  engine = buildApp(loadConfig({ DATABASE_URL: engineDb.url, ACGS_STATE_DIR: join(stateDir, 'engine'), AUDIT_VERIFY_INTERVAL_MS: '0' }), { logger: false });
  await engine.listen({ host: '127.0.0.1', port: 0 });
  const address = engine.server.address();
  const engineUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await engine.auditStore.append(Array.from({ length: 5 }, (_, index) => ({ event_type: 'routine', data: { index } })));

  pool = createPool({ databaseUrl: trailDb.url, max: 2, applicationName: 'acgs-verify-command-test' });
  trail = createAuditTrail({ pool, spoolDir: join(stateDir, 'spool'), checkpoints: { key: loadTrailSigningKey(stateDir, {}), everyRecords: 1000 } });
  await trail.start();
  for (let index = 0; index < 4; index += 1) await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'health' });
  await trail.checkpoint!();
  await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'metrics' });

  const nowhere = await unusedLoopbackUrl();
  const endpoints = Object.fromEntries(SERVICE_NAMES.map((name) => [name, name === 'audit-engine' ? engineUrl : nowhere])) as Record<ServiceName, string>;
  const services = createCommandPathDependencies({ endpoints, trail });
  run = commandRunner({ services: () => services });
});

afterAll(async () => {
  await trail?.close().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await engine?.close().catch(() => undefined);
  await Promise.allSettled([engineDb?.drop(), trailDb?.drop()]);
  rmSync(stateDir, { recursive: true, force: true });
});

/** How many verifications the Audit Engine has run, from its own /metrics. */
async function engineVerifications(): Promise<number> {
  const text = (await engine.inject({ method: 'GET', url: '/metrics' })).body;
  return [...text.matchAll(/^audit_verify_runs_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

describe('audit verify', () => {
  it('checks both chains from their last signed checkpoint, and with --full walks every record', async () => {
    const quick = await run('audit verify', { user: 'U0QUICK' });
    expect(quick.document).toMatchObject({ title: 'Both audit chains intact', tone: 'ok' });
    type TrailData = { scope: string; checked: number; checkpoint: { sequence: number }; head: { sequence: number } };
    const data = quick.document.data as { audit_engine: { scope: string }; bot_trail: TrailData };
    expect(data.audit_engine.scope).toBe('checkpoint');
    // Only the records after the checkpoint (#4) are walked: the fifth, and what this line recorded itself.
    expect(data.bot_trail).toMatchObject({ scope: 'checkpoint', checkpoint: { sequence: 4 } });
    expect(data.bot_trail.checked).toBe(data.bot_trail.head.sequence - 4);
    expect(JSON.stringify(quick.document.blocks)).toContain('records up to #4 match the signed checkpoint');

    const full = await run('audit verify --full', { user: 'U0QUICK' });
    const fullData = full.document.data as { audit_engine: { scope: string; events_checked: number }; bot_trail: TrailData };
    expect(fullData.audit_engine).toMatchObject({ scope: 'full', events_checked: 5 });
    expect(fullData.bot_trail.scope).toBe('full');
    expect(fullData.bot_trail.checked).toBe(fullData.bot_trail.head.sequence);
  });

  it('tells a person who runs it too often when to try again, reads nothing, and still answers others', async () => {
    for (let index = 0; index < VERIFY_LIMITS.checkpoint.runs; index += 1) {
      expect((await run('audit verify', { user: 'U0EAGER' })).document.title).toBe('Both audit chains intact');
    }
    const before = await engineVerifications();
    const limited = await run('audit verify', { user: 'U0EAGER' });
    expect(limited.document).toMatchObject({ title: 'Audit verify not run', tone: 'warn' });
    expect(limited.document.summary).toMatch(/^You can run `audit verify` 6 times a minute; try again in \d+ s\.$/);
    expect(await engineVerifications()).toBe(before);
    expect((await run('audit verify', { user: 'U0PATIENT' })).document.title).toBe('Both audit chains intact');
  });

  it('allows one full walk per person every ten minutes', async () => {
    expect((await run('audit verify --full', { user: 'U0AUDITOR' })).document.title).toBe('Both audit chains intact');
    const limited = await run('audit verify --full', { user: 'U0AUDITOR' });
    expect(limited.document).toMatchObject({ title: 'Audit verify not run', tone: 'warn' });
    expect(limited.document.summary).toMatch(/^You can run `audit verify --full` once every 10 minutes; try again in \d+ s\.$/);
    // The quick check stays open to them.
    expect((await run('audit verify', { user: 'U0AUDITOR' })).document.title).toBe('Both audit chains intact');
  });

  it('refuses an unknown option or an argument with what it takes, and verifies nothing', async () => {
    const before = await engineVerifications();
    const option = await run('audit verify --fast', { user: 'U0TYPO' });
    expect(option.outcome).not.toBe('ok');
    expect(JSON.stringify(option.document)).toContain('`--fast` is not an option of `audit verify`; it takes `--full`');
    const extra = await run('audit verify everything', { user: 'U0TYPO' });
    expect(JSON.stringify(extra.document)).toContain('`audit verify` takes no arguments; unexpected `everything`');
    expect(await engineVerifications()).toBe(before);
  });
});

describe('the per-person limit', () => {
  it('counts runs in a sliding window per person and scope, and says how long until the next', () => {
    const limiter = createVerifyLimiter({ checkpoint: { runs: 2, windowMs: 1000 }, full: { runs: 1, windowMs: 5000 } });
    expect(limiter.take('U1', 'checkpoint', 0)).toEqual({ ok: true });
    expect(limiter.take('U1', 'checkpoint', 100)).toEqual({ ok: true });
    expect(limiter.take('U1', 'checkpoint', 400)).toEqual({ ok: false, retryInMs: 600 });
    expect(limiter.take('U2', 'checkpoint', 400)).toEqual({ ok: true });
    expect(limiter.take('U1', 'full', 400)).toEqual({ ok: true });
    expect(limiter.take('U1', 'checkpoint', 1000)).toEqual({ ok: true });
  });
});

describe("the trail relay's verify (the CLI's audit verify without DATABASE_URL)", () => {
  it('takes the scope the CLI sends, and refuses any other with what it takes, verifying nothing', async () => {
    const routes = trailRelayRoutes(trail);
    expect(await routes['trail/verify']!({ scope: 'checkpoint' })).toMatchObject({ valid: true, scope: 'checkpoint', checkpoint: { sequence: 4 } });
    expect(await routes['trail/verify']!({})).toMatchObject({ valid: true, scope: 'full' });
    for (const scope of ['everything', 7, null, ['full']]) {
      await expect(routes['trail/verify']!({ scope }), JSON.stringify(scope)).rejects.toMatchObject({ code: 'TRAIL_INPUT', message: expect.stringMatching(/^scope must be checkpoint or full, not /) });
    }
  });
});
