import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditTrail, createAuditTrail } from '../../bot/audit-trail/audit-trail.js';
import { BOT_AUDIT_SOURCE, governanceEvent, isGovernanceRecord } from '../../bot/audit-trail/governance-forwarding.js';
import { prepareRecord } from '../../bot/audit-trail/trail-record.js';
import { AuditEventInput } from '../../services/audit-engine/contract.js';
import { type AuditTestContext, createAuditTestContext } from '../../services/audit-engine/testing/audit-test-context.js';
import { createAuditEngineClient } from '../../services/clients/audit-engine.js';
import { type AuditOutbox, createAuditOutbox } from '../../services/kit/audit-outbox.js';
import { createPool } from '../../services/kit/postgres.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { TEST_SERVICE_TOKEN } from '../testing/tokens.js';

describe('which records are governance events', () => {
  const record = (input: Parameters<typeof prepareRecord>[0]) => prepareRecord(input, new Date('2025-01-01T00:00:00Z'));

  it.each([
    ['any record of lockdown', { kind: 'command', command: 'lockdown' }],
    ['any record of lockdown lift', { kind: 'result', command: 'lockdown lift' }],
    ['any record of strict-mode', { kind: 'decision', command: 'strict-mode' }],
    ['an approval request', { kind: 'approval_requested', command: 'scale' }],
    ['a vote', { kind: 'vote', command: 'cache clear' }],
    ['how an approval ended', { kind: 'approval_resolved', command: 'redis flush' }],
    ['a break-glass action', { kind: 'break_glass', command: 'lockdown' }],
  ] as const)('forwards %s', (_, input) => {
    expect(isGovernanceRecord(record(input))).toBe(true);
  });

  it.each([
    ['a read-only command', { kind: 'command', command: 'health' }],
    ['an unapproved scale decision', { kind: 'decision', command: 'scale' }],
    ['a restart result', { kind: 'result', command: 'restart' }],
  ] as const)('keeps %s in the trail only', (_, input) => {
    expect(isGovernanceRecord(record(input))).toBe(false);
  });

  it("builds an event the Audit Engine's own schema accepts, critical for lockdown and break-glass", () => {
    const lockdown = governanceEvent(record({ kind: 'execution', command: 'lockdown', actor: 'U0ALICE', key: 'k-1', level: 4 }));
    expect(AuditEventInput.parse(lockdown)).toEqual(lockdown);
    expect(lockdown).toMatchObject({
      event_type: 'chatops.execution',
      source: BOT_AUDIT_SOURCE,
      agent_id: 'U0ALICE',
      severity: 'critical',
      occurred_at: '2025-01-01T00:00:00.000Z',
      idempotency_key: 'chatops-trail:k-1',
      data: { trail_key: 'k-1', command: 'lockdown', level: 4 },
    });
    expect(governanceEvent(record({ kind: 'vote', command: 'scale', decision: 'approve' })).severity).toBe('info');
  });
});

describe('forwarding to the Audit Engine through the outbox', () => {
  let engine: AuditTestContext;
  let engineUrl: string;
  let db: TestDatabase;
  let pool: pg.Pool;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    engine = await createAuditTestContext();
    const app = await engine.start();
    engineUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    db = await createTestDatabase('acgs_trail_governance');
    pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-trail-governance-test' });
  });
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
    await pool?.end();
    await db?.drop();
    await engine?.close();
  });

  function openTrail(trailPool: pg.Pool): { trail: AuditTrail; outbox: AuditOutbox } {
    const outboxDir = mkdtempSync(join(tmpdir(), 'acgs-trail-outbox-'));
    const spoolDir = mkdtempSync(join(tmpdir(), 'acgs-trail-gov-'));
    const outbox = createAuditOutbox({ auditEngineUrl: engineUrl, spoolDir: outboxDir, source: BOT_AUDIT_SOURCE, serviceToken: TEST_SERVICE_TOKEN, flushIntervalMs: 20, maxBackoffMs: 100 });
    const trail = createAuditTrail({ pool: trailPool, spoolDir, outbox, writeTimeoutMs: 1000, retryMinMs: 50, retryMaxMs: 200 });
    cleanups.push(async () => {
      await trail.close();
      await outbox.close();
      rmSync(outboxDir, { recursive: true, force: true });
      rmSync(spoolDir, { recursive: true, force: true });
    });
    return { trail, outbox };
  }

  it('sends governance records (redacted) to the real Audit Engine and keeps the others in the trail only', async () => {
    const { trail, outbox } = openTrail(pool);
    await trail.start();
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'lockdown', args: { reason: 'incident 7', token: 'xoxb-1-2-3' }, key: 'gov-1' });
    await trail.append({ kind: 'command', actor: 'U0ALICE', command: 'scale', args: { service: 'policy-engine', replicas: 3 }, key: 'gov-2' });
    await trail.append({ kind: 'vote', actor: 'U0BOB', command: 'scale', decision: 'approve', key: 'gov-3' });
    await trail.appendToChain({ kind: 'execution', actor: 'U0ALICE', command: 'strict-mode', args: { mode: 'on' }, key: 'gov-4' });
    // A retried vote: one record in the trail, and the engine stores its event once too.
    await trail.append({ kind: 'vote', actor: 'U0BOB', command: 'scale', decision: 'approve', key: 'gov-3' });
    await outbox.flush();

    const { events } = await createAuditEngineClient(engineUrl).listEvents({ source: BOT_AUDIT_SOURCE, limit: 50 });
    const mine = events.filter((event) => String(event.idempotency_key).startsWith('chatops-trail:gov-')).reverse();
    expect(mine.map((event) => [event.event_type, event.idempotency_key, event.severity])).toEqual([
      ['chatops.command', 'chatops-trail:gov-1', 'critical'],
      ['chatops.vote', 'chatops-trail:gov-3', 'info'],
      ['chatops.execution', 'chatops-trail:gov-4', 'info'],
    ]);
    expect(mine[0]!.data).toMatchObject({ command: 'lockdown', arguments: { reason: 'incident 7', token: '[redacted]' }, actor: 'U0ALICE' });
    expect(JSON.stringify(mine)).not.toContain('xoxb-');
    expect((await createAuditEngineClient(engineUrl).verify()).valid).toBe(true);
  });

  it('still forwards a governance record when PostgreSQL is unreachable and the trail spools it', async () => {
    const deadPool = createPool({ databaseUrl: (await unusedLoopbackUrl()).replace('http:', 'postgres:') + '/nothing', max: 1, applicationName: 'acgs-trail-dead' });
    cleanups.push(() => deadPool.end());
    const { trail, outbox } = openTrail(deadPool);
    await trail.start();
    expect(await trail.append({ kind: 'break_glass', actor: 'U0ADMIN', command: 'lockdown', details: { reason: 'active exploit' }, key: 'gov-down' })).toMatchObject({
      stored: 'spool',
    });
    await outbox.flush();
    const { events } = await createAuditEngineClient(engineUrl).listEvents({ event_type: 'chatops.break_glass', limit: 10 });
    expect(events.find((event) => event.idempotency_key === 'chatops-trail:gov-down')).toMatchObject({
      severity: 'critical',
      agent_id: 'U0ADMIN',
      data: { details: { reason: 'active exploit' } },
    });
  });
});
