/**
 * `npx acgs report security [--json]` with DATABASE_URL: the CLI makes the weekly security report
 * from the bot's trail in that database (a failed authentication attempt and a break-glass
 * recorded there by another writer of the trail, as the bot's would be) and prints it, never
 * posting. The Audit Engine is nowhere here: its parts say so and the rest still answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditTrail, type AuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { authFailureRecorder } from '../../bot/audit-trail/auth-failures.js';
import type { SecurityReport } from '../../bot/reports/security-report.js';
import { createPool } from '../../services/kit/postgres.js';
import { startCliOperator, type CliOperator } from '../testing/cli-operator.js';

let cli: CliOperator;
let pool: pg.Pool;
let trail: AuditTrail;
let spoolDir: string;

beforeAll(async () => {
  cli = await startCliOperator('cli-security-report', {});
  pool = createPool({ databaseUrl: cli.db.url, max: 2, applicationName: 'acgs-cli-security-report-test' });
  spoolDir = mkdtempSync(join(tmpdir(), 'acgs-cli-security-report-'));
  trail = createAuditTrail({ pool, spoolDir });
  await trail.start();
  authFailureRecorder(trail)({ source: 'alert-webhook', reason: 'a token that is not ACGS_ALERTS_TOKEN', remoteAddress: '127.0.0.1' });
  await trail.append({ kind: 'break_glass', actor: 'U0ADMIN', origin: 'slash', command: 'lockdown', decision: 'break_glass', level: 4, details: { reason: 'policy engine is serving bad decisions' } });
  await trail.flush();
}, 30_000);

afterAll(async () => {
  await trail?.close();
  await pool?.end();
  await cli?.close();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

describe('acgs report security', () => {
  it('prints the report as JSON', async () => {
    const answer = await cli.acgs(['report', 'security', '--json']);
    expect(answer.stdout, answer.stderr).not.toBe('');
    const report = JSON.parse(answer.stdout) as SecurityReport;
    expect(report.failed_authentication).toMatchObject({ state: 'ok', value: { total: 1, by_source: [{ name: 'alert-webhook', count: 1 }] } });
    expect(report.break_glass).toMatchObject({ state: 'ok', value: { uses: [{ actor: 'U0ADMIN', command: 'lockdown', reason: 'policy engine is serving bad decisions' }] } });
    expect(report.bot_trail_chain).toMatchObject({ state: 'ok', value: { valid: true } });
    expect(report.audit_engine_chain.state).toBe('missing');
    expect(report.violations.state).toBe('missing');
    expect(report.needs_a_human.some((need) => need.startsWith('break-glass by U0ADMIN'))).toBe(true);
  }, 90_000);

  it('prints the report as text, needs first', async () => {
    const answer = await cli.acgs(['report', 'security']);
    expect(answer.stdout).toContain('Weekly security report');
    expect(answer.stdout.indexOf('break-glass by U0ADMIN')).toBeGreaterThan(-1);
    expect(answer.stdout.indexOf('break-glass by U0ADMIN')).toBeLessThan(answer.stdout.indexOf('Refused commands'));
    expect(answer.stdout).toContain('Charts: security-per-day.png');
    expect(answer.stdout).not.toContain('Posted to');
  }, 90_000);
});
