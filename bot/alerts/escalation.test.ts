/**
 * Escalation on the real PostgreSQL: the levels an episode reached are recorded once, however
 * many replicas check at once; each is noted on the alert; a re-fire starts over; people's
 * actions stop it. The clock is the test's; the level's actions are recorded, not sent.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from './alert-store.js';
import { createEscalations, type EscalationNotice, type Escalations } from './escalation.js';
import { DEFAULT_ESCALATION } from './escalation-matrix.js';
import { createEscalationRecords, migrateEscalationRecords } from './escalation-records.js';
import type { ReportedAlert } from './intake.js';
import { firingReport } from './testing/reported-alerts.js';

let db: TestDatabase;
let pool: pg.Pool;
let otherReplica: pg.Pool;
let clock: Date;
const T0 = new Date('2026-12-07T03:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const ROLES = { oncall: ['S0ACGSONCALL'], approvers: ['U0APPROVER1', 'U0APPROVER2'] };

beforeAll(async () => {
  db = await createTestDatabase('acgs_escalation');
  pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-escalation-test' });
  otherReplica = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-escalation-test-2' });
  await migrateAlertStore(pool);
  expect(await migrateEscalationRecords(pool)).toEqual(['1767300000000_alert_escalations']);
  expect(await migrateEscalationRecords(otherReplica)).toEqual([]);
});
afterAll(async () => {
  await pool?.end();
  await otherReplica?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE alert_escalations, alert_events, alert_reports, alerts, alert_silences RESTART IDENTITY CASCADE');
  clock = T0;
});

/** A replica: its own pool, store and escalations, and the notices its actions were handed. */
function replica(replicaPool: pg.Pool, failing = false): { store: AlertStore; escalations: Escalations; handed: EscalationNotice[] } {
  const store = createAlertStore({ pool: replicaPool, now: () => clock });
  const handed: EscalationNotice[] = [];
  const escalations = createEscalations({
    alerts: store,
    records: createEscalationRecords(replicaPool),
    matrix: DEFAULT_ESCALATION,
    roles: ROLES,
    now: () => clock,
    actions: {
      async levelReached(notice) {
        handed.push(notice);
        if (failing) throw new Error('Slack is away');
      },
    },
  });
  return { store, escalations, handed };
}

function firing(overrides: Partial<ReportedAlert> = {}): ReportedAlert {
  return firingReport({ fingerprint: 'service-down-policy-engine', startsAt: T0, ...overrides });
}

async function escalatedEvents(store: AlertStore) {
  return (await store.history(new Date(0))).filter((entry) => entry.kind === 'escalated').map((entry) => entry.details);
}

describe('escalating unacknowledged alerts', () => {
  it('escalates once when two replicas check at the same moment, and notes it on the alert', async () => {
    const a = replica(pool);
    const b = replica(otherReplica);
    await a.store.report([firing()]);
    expect(await a.escalations.run(minutes(4))).toEqual([]);

    const [fromA, fromB] = await Promise.all([a.escalations.run(minutes(5)), b.escalations.run(minutes(5))]);
    expect(fromA.length + fromB.length).toBe(1);
    expect([...a.handed, ...b.handed]).toHaveLength(1);
    const notice = [...a.handed, ...b.handed][0]!;
    expect(notice).toMatchObject({ level: 2, reason: 'not acknowledged within 5 min at Level 1', issueType: 'infrastructure', recipients: { ids: ['S0ACGSONCALL'], emptyRoles: [] } });
    expect(await escalatedEvents(a.store)).toEqual([{ summary: 'Level 2: not acknowledged within 5 min at Level 1', level: 2, reason: 'not acknowledged within 5 min at Level 1', issue_type: 'infrastructure', notified: ['S0ACGSONCALL'] }]);

    // Checked again (by either), nothing more until Level 2's own wait is over.
    expect(await a.escalations.run(minutes(19))).toEqual([]);
    expect(await b.escalations.run(minutes(19))).toEqual([]);
    await Promise.all([b.escalations.run(minutes(20)), a.escalations.run(minutes(20))]);
    expect([...a.handed, ...b.handed].map((handed) => handed.level).sort()).toEqual([2, 3]);
    expect((await escalatedEvents(a.store)).map((details) => details!.level)).toEqual([2, 3]);
    expect((await escalatedEvents(a.store))[1]).toMatchObject({ notified: ['S0ACGSONCALL', 'U0APPROVER1', 'U0APPROVER2'] });
  });

  it('does not escalate an acknowledged or snoozed alert, nor one whose rule is silenced', async () => {
    const { store, escalations, handed } = replica(pool);
    await store.report([firing(), firing({ fingerprint: 'cpu', rule: 'HighCpu', labels: { alertname: 'HighCpu' } }), firing({ fingerprint: 'memory', rule: 'HighMemory', labels: { alertname: 'HighMemory' } })]);
    const down = (await store.byFingerprint('service-down-policy-engine'))!;
    await store.acknowledge(down.id, 'U0ONCALL');
    const memory = (await store.byFingerprint('memory'))!;
    await store.snooze(memory.id, minutes(60), 'U0ONCALL');
    await store.silence({ rule: 'HighCpu', until: minutes(60), reason: 'load test', by: 'U0ONCALL' });
    expect(await escalations.run(minutes(30))).toEqual([]);
    expect(handed).toEqual([]);
    expect(await escalatedEvents(store)).toEqual([]);
  });

  it('starts a re-fired alert over at its start level', async () => {
    const { store, escalations, handed } = replica(pool);
    await store.report([firing()]);
    await escalations.run(minutes(5));
    expect(handed.map((notice) => notice.level)).toEqual([2]);
    clock = minutes(6);
    await store.report([{ ...firing(), status: 'resolved', endsAt: minutes(6) }]);
    clock = minutes(10);
    await store.report([firing({ startsAt: minutes(10) })]);
    expect(await escalations.run(minutes(14))).toEqual([]);
    const again = await escalations.run(minutes(15));
    expect(again.map((notice) => notice.level)).toEqual([2]);
    expect(handed.map((notice) => notice.level)).toEqual([2, 2]);
  });

  it("reaches a rule's start level at once: a constitutional violation is Level 4 at the first check", async () => {
    const { store, escalations, handed } = replica(pool);
    await store.report([firing({ fingerprint: 'violations', rule: 'ConstitutionalViolations', labels: { alertname: 'ConstitutionalViolations' } })]);
    expect((await escalations.run(T0)).map((notice) => notice.level)).toEqual([4]);
    expect(handed[0]).toMatchObject({ level: 4, issueType: 'constitutional', reason: 'ConstitutionalViolations alerts start at Level 4' });
    expect(await escalations.run(minutes(600))).toEqual([]);
  });

  it('escalates at once for the circuit breaker, once, and not an alert a person has', async () => {
    const a = replica(pool);
    const b = replica(otherReplica);
    await a.store.report([firing()]);
    const alert = (await a.store.byFingerprint('service-down-policy-engine'))!;
    const [first, second] = await Promise.all([a.escalations.escalateNow(alert, 'three restarts failed'), b.escalations.escalateNow(alert.id, 'three restarts failed')]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect([first, second].find(Boolean)).toMatchObject({ level: 2, reason: 'three restarts failed' });
    // The periodic check then counts Level 2's wait from then.
    expect(await a.escalations.run(minutes(14))).toEqual([]);
    await a.store.acknowledge(alert.id, 'U0ONCALL');
    expect(await a.escalations.escalateNow(alert.id, 'again')).toBeUndefined();
    expect(await a.escalations.escalateNow('999999', 'no such alert')).toBeUndefined();
  });

  it("keeps a level recorded when its actions fail, so that it is not sent twice, and goes on with the other alerts", async () => {
    const { store, escalations, handed } = replica(pool, true);
    await store.report([firing(), firing({ fingerprint: 'cpu', rule: 'HighCpu', labels: { alertname: 'HighCpu' } })]);
    const notices = await escalations.run(minutes(5));
    // HighCpu starts at Level 2 (reached at once); ServiceDown's Level 1 wait is over: both handed on despite the failures.
    expect(notices.map((notice) => `${notice.alert.rule}:${notice.level}`).sort()).toEqual(['HighCpu:2', 'ServiceDown:2']);
    expect(handed).toHaveLength(2);
    expect(await escalations.run(minutes(6))).toEqual([]);
  });
});
