/**
 * The automatic checks against the real stack (the four services in this process, the real
 * PostgreSQL, Redis and Docker Engine) and the bot's real audit trail: each says pass, fail or
 * unknown with a sentence of what it saw, and `unknown` only when it could not look.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { BackupCatalog, BackupListing } from '../../commands/ports.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { openTestTrail, type TestTrail } from '../../test/testing/command-access.js';
import { unusedLoopbackUrl } from '../../test/testing/loopback.js';
import { realStackForSuite } from '../../test/testing/suite.js';
import { auditTrailsIntact, cacheHitRateNormal, errorRateNormal, latencyWithinSlo, recentBackup, resourcesAvailable, servicesHealthy } from './checks.js';
import type { CheckContext } from './definition.js';

const suite = realStackForSuite();
let trail: TestTrail;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_checklist_checks' });
}, 30_000);
afterAll(async () => {
  await trail?.close();
});

const context = (services: Partial<CommandDependencies> = {}): CheckContext => ({ services: { ...suite.stack.services, ...services } as CommandDependencies, signal: new AbortController().signal, now: new Date() });

describe('services healthy', () => {
  it('passes on the whole real stack, naming what it checked', async () => {
    const outcome = await servicesHealthy(context());
    expect(outcome, outcome.evidence).toMatchObject({ status: 'pass' });
    expect(outcome.evidence).toBe('7 checks healthy: policy-engine, policy-engine policy, audit-engine, evolution-oversight, sandbox-controller, postgres, redis.');
  });

  it('fails naming the service that does not answer', async () => {
    const outcome = await servicesHealthy(context(suite.stack.servicesWith({ endpoints: { 'audit-engine': await unusedLoopbackUrl() } })));
    expect(outcome.status).toBe('fail');
    expect(outcome.evidence).toMatch(/^Not healthy: audit-engine unreachable/);
  });
});

describe("the Policy Engine's KPIs", () => {
  it('say unknown with no traffic to judge, then measure against the runbook thresholds once there is', async () => {
    // A fresh engine has served nothing yet.
    expect(await latencyWithinSlo(context())).toEqual({ status: 'unknown', evidence: 'The Policy Engine has served no decisions yet: no latency to judge.' });
    expect((await cacheHitRateNormal(context())).status).toBe('unknown');

    const client = createPolicyEngineClient({ baseUrl: suite.stack.endpoints['policy-engine'] });
    for (let index = 0; index < 60; index += 1) {
      await client.decide({ type: 'action_authorization', constitutional_hash: CONSTITUTIONAL_HASH, action: 'data.read', context: { agent: { id: 'checklist-reader', trust_level: 0.9 } } });
    }
    const latency = await latencyWithinSlo(context());
    expect(['pass', 'fail']).toContain(latency.status);
    expect(latency.evidence).toMatch(/^Policy Engine P99 [\d.]+ (ms|µs) over \d+ requests \(target under 1 ms\)\.$/);
    const errors = await errorRateNormal(context());
    expect(errors).toMatchObject({ status: 'pass' });
    expect(errors.evidence).toMatch(/^Error rate 0\.00 % \(0 of \d+ requests failed; target under 0\.1 %\)\.$/);
    // One miss, then the same decision from the cache.
    const cache = await cacheHitRateNormal(context());
    expect(cache, cache.evidence).toMatchObject({ status: 'pass' });
    expect(cache.evidence).toMatch(/^Cache hit rate 9\d\.\d % over \d+ lookups \(target over 95\.0 %\)\.$/);
  });

  it('say unknown when the Policy Engine does not answer', async () => {
    const outcome = await errorRateNormal(context(suite.stack.servicesWith({ endpoints: { 'policy-engine': await unusedLoopbackUrl() }, callTimeoutMs: 1000 })));
    expect(outcome.status).toBe('unknown');
    expect(outcome.evidence).toMatch(/^The Policy Engine's \/v1\/metrics did not answer: /);
  });
});

describe('audit trails intact', () => {
  it("passes when the Audit Engine's chain and the bot's trail both verify", async () => {
    await trail.trail.append({ kind: 'command', actor: 'U0ONCALL', command: 'health' });
    const outcome = await auditTrailsIntact(context({ trail: trail.trail }));
    expect(outcome, outcome.evidence).toMatchObject({ status: 'pass' });
    expect(outcome.evidence).toMatch(/^The Audit Engine's chain verifies \(\d+ events\); the bot's trail verifies \(\d+ records up to #\d+\)\.$/);
  });

  it('is unknown without a trail in the process, saying why', async () => {
    const outcome = await auditTrailsIntact(context({ trail: undefined, trailProblem: 'no DATABASE_URL' }));
    expect(outcome.status).toBe('unknown');
    expect(outcome.evidence).toContain('the bot has no audit trail in this process (no DATABASE_URL)');
  });

  it("fails when the bot's trail was altered behind its back", async () => {
    await trail.trail.append({ kind: 'command', actor: 'U0ONCALL', command: 'metrics' });
    await trail.pool.query('ALTER TABLE bot_audit_trail DISABLE TRIGGER USER');
    await trail.pool.query(`UPDATE bot_audit_trail SET actor = 'U0MALLORY' WHERE sequence = (SELECT max(sequence) FROM bot_audit_trail)`);
    await trail.pool.query('ALTER TABLE bot_audit_trail ENABLE TRIGGER USER');
    const outcome = await auditTrailsIntact(context({ trail: trail.trail }));
    expect(outcome.status).toBe('fail');
    expect(outcome.evidence).toMatch(/the bot's trail does not verify: record #\d+ fails its content check/);
  });
});

describe('backups', () => {
  const hours = (count: number) => count * 3600;
  const listing = (id: string, ageSeconds: number, verification: BackupListing['verification'] = { state: 'never' }): BackupListing => ({ id, state: 'complete', bytes: 1024, ageSeconds, verification });
  const catalog = (backups: BackupListing[]): BackupCatalog => ({ root: '/var/backups/acgs', list: async () => backups });
  const fresh = recentBackup({ maxAgeHours: 24, verified: false });
  const verified = recentBackup({ maxAgeHours: 31 * 24, verified: true });

  it('passes for a complete backup within the age, and for a verified one when verification is asked for', async () => {
    expect(await fresh(context({ backups: catalog([listing('2026-12-06T10-00-00Z', hours(2))]) }))).toEqual({ status: 'pass', evidence: 'Backup 2026-12-06T10-00-00Z, 2 h 0 min old (within 1 d 0 h), verification: never.' });
    const good = listing('2026-12-01T10-00-00Z', hours(100), { state: 'verified', at: '2026-12-01T11:00:00Z' });
    expect((await verified(context({ backups: catalog([listing('2026-12-06T10-00-00Z', hours(2)), good]) }))).evidence).toBe(
      'Backup 2026-12-01T10-00-00Z, 4 d 4 h old (within 31 d 0 h), verified 2026-12-01T11:00:00Z.',
    );
  });

  it('fails for none, a too old one, or only one that failed its verification; is unknown without a catalog', async () => {
    expect(await fresh(context({ backups: catalog([]) }))).toEqual({ status: 'fail', evidence: 'No complete backup under /var/backups/acgs.' });
    expect((await fresh(context({ backups: catalog([listing('old', hours(30))]) }))).status).toBe('fail');
    const broken = listing('bad', hours(1), { state: 'failed', problem: 'pg_restore: error: input file is too short' });
    expect(await verified(context({ backups: catalog([broken]) }))).toEqual({
      status: 'fail',
      evidence: 'No verified backup under /var/backups/acgs; backup bad failed its verification (pg_restore: error: input file is too short).',
    });
    expect((await fresh(context({ backups: undefined }))).status).toBe('unknown');
  });
});

describe('resources available', () => {
  it('is unknown without a Stack, saying why', async () => {
    expect(await resourcesAvailable(context({ stack: undefined, stackProblem: 'no Docker Engine at /var/run/docker.sock' }))).toEqual({
      status: 'unknown',
      evidence: 'This process has no Stack to measure (no Docker Engine at /var/run/docker.sock).',
    });
  });
});
