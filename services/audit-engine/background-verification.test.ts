import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../kit/service.js';
import { type AuditTestContext, createAuditTestContext } from './testing/audit-test-context.js';
import { appendAuditEvents, auditHealth, auditHealthUntil } from './testing/audit-health.js';

let ctx: AuditTestContext;

beforeAll(async () => {
  ctx = await createAuditTestContext();
});
afterAll(() => ctx?.close());

const appendSome = (app: Service, count: number) => appendAuditEvents(app, count, 'background.seed');

describe('the background chain verification', () => {
  it('does not run when AUDIT_VERIFY_INTERVAL_MS is 0, so integrity stays unknown until someone verifies', async () => {
    const app = await ctx.start({ verifyIntervalMs: 0 });
    await appendSome(app, 12);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await auditHealth(app)).toMatchObject({ status: 'healthy', integrity: null });
    const verified = (await app.inject('/audit/verify')).json();
    expect((await auditHealth(app)).integrity).toEqual({ valid: true, checked_at: verified.checked_at, events_checked: 12 });
  });

  it('verifies the chain at start-up, without anyone calling /audit/verify', async () => {
    const app = await ctx.start();
    const body = await auditHealthUntil(app, (answer) => answer.integrity !== null);
    expect(body).toMatchObject({ status: 'healthy', integrity: { valid: true, events_checked: await ctx.countEvents() } });
    expect(Date.parse(body.integrity!.checked_at)).toBeGreaterThan(Date.now() - 10_000);
    expect((await app.inject('/metrics')).body).toMatch(/audit_verify_runs_total\{result="valid",service="audit-engine"\} 1\b/);
  });

  it('verifies again on its interval: reports degraded naming the altered event, then healthy once it is restored', async () => {
    const app = await ctx.start({ verifyIntervalMs: 50 });
    await auditHealthUntil(app, (answer) => answer.integrity?.valid === true);
    const victim = (await ctx.sql.query('SELECT id, data FROM audit_events WHERE sequence = 5')).rows[0];
    await ctx.sql.query('SET session_replication_role = replica');
    try {
      await ctx.sql.query(`UPDATE audit_events SET data = '{"forged": true}' WHERE sequence = 5`);
      const broken = await auditHealthUntil(app, (answer) => answer.status === 'degraded');
      expect(broken.integrity).toMatchObject({ valid: false, events_checked: 4, first_broken: { id: victim.id, sequence: 5, check: 'content_hash' } });
      await ctx.sql.query('UPDATE audit_events SET data = $1 WHERE sequence = 5', [victim.data]);
    } finally {
      await ctx.sql.query('SET session_replication_role = origin');
    }
    const restored = await auditHealthUntil(app, (answer) => answer.status === 'healthy');
    expect(restored.integrity).toMatchObject({ valid: true });
    expect(restored.integrity).not.toHaveProperty('first_broken');
  });

  it('holds up neither start-up nor health while a walk waits on the database', async () => {
    // A session that keeps every reader out of audit_events: the start-up walk cannot proceed.
    const head = await ctx.countEvents();
    const blocker = new pg.Client({ connectionString: ctx.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const app = await ctx.start();
      const answer = await app.inject('/health');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ status: 'healthy', integrity: null, chain_head: { sequence: head } });
      await blocker.query('COMMIT');
      await auditHealthUntil(app, (body) => body.integrity?.valid === true);
    } finally {
      await blocker.end();
    }
  });

  it('is stopped with the app, letting a walk in progress finish before the pool closes', async () => {
    const app = await ctx.start({ verifyIntervalMs: 1 });
    await auditHealthUntil(app, (answer) => answer.integrity !== null);
    const runs = async () => (await app.metricsRegistry.getSingleMetric('audit_verify_runs_total')!.get()).values;
    await app.close();
    const atClose = await runs();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await runs()).toEqual(atClose);
    expect(atClose.filter((value) => value.labels.result !== 'valid')).toEqual([]);
  });
});
