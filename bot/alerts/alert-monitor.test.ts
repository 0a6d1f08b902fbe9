/**
 * The monitor's beat with readings of the test's making and the alert store on the real
 * PostgreSQL: what reaches the store, a report the store could not take, and a restart.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { HealthCheckData } from '../../commands/health.js';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createMonitorBeat, type MonitorAlerts } from './alert-monitor.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from './alert-store.js';
import type { Replica, ServiceStatus } from '../../services/stack/stack.js';
import type { StackReading } from './stack-reading.js';

let db: TestDatabase;
let pool: pg.Pool;
let store: AlertStore;
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const FINGERPRINT = 'monitor/ServiceDown/service=evolution-oversight';

beforeAll(async () => {
  db = await createTestDatabase('acgs_alert_beat');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-alert-beat-test' });
  await migrateAlertStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE alert_level_one_actions, alert_events, alert_reports, alerts, alert_silences');
  store = createAlertStore({ pool });
});

function reading(seconds: number, evolutionOversight: 'healthy' | 'unreachable', startedSeconds?: number): StackReading {
  const check = (target: HealthCheckData['target'], status: string): HealthCheckData => ({ name: target, target, tone: status === 'healthy' ? 'ok' : 'fail', status, latency_ms: 1, version: null, detail: null });
  return {
    at: new Date(T0 + seconds * 1000),
    ...(startedSeconds === undefined ? {} : { startedAt: new Date(T0 + startedSeconds * 1000) }),
    health: [check('policy-engine', 'healthy'), check('audit-engine', 'healthy'), check('evolution-oversight', evolutionOversight), check('sandbox-controller', 'healthy')],
  };
}

const history = async () => (await store.history(new Date(0))).map((entry) => `${entry.fingerprint} ${entry.kind}`);

it('reports a service down for its for-duration as firing, and resolved at the first beat it answers again', async () => {
  const beat = await createMonitorBeat(store);
  await beat(reading(0, 'unreachable'));
  await beat(reading(2, 'unreachable'));
  expect(await store.listOpen()).toEqual([]);
  await beat(reading(6, 'unreachable'));
  expect(await store.listOpen()).toMatchObject([{ fingerprint: FINGERPRINT, state: 'firing', firedAt: new Date(T0 + 6000), value: 1 }]);
  await beat(reading(8, 'unreachable'));
  await beat(reading(10, 'healthy'));
  // Resolved, its value still the one that fired it (not the healthy reading's 0 failing checks).
  expect(await store.byFingerprint(FINGERPRINT)).toMatchObject({ state: 'resolved', resolvedAt: new Date(T0 + 10_000), value: 1 });
  expect(await history()).toEqual([`${FINGERPRINT} fired`, `${FINGERPRINT} resolved`]);
});

it('fires for a frozen service at the second reading that waited out its timeout, not a third', async () => {
  const beat = await createMonitorBeat(store);
  await beat(reading(0, 'healthy', 0));
  // Readings back to back from 2 s, each waiting the 3 s health deadline for an answer that never comes.
  await beat(reading(5, 'unreachable', 2));
  expect(await store.listOpen()).toEqual([]);
  await beat(reading(8, 'unreachable', 5));
  expect(await store.listOpen()).toMatchObject([{ fingerprint: FINGERPRINT, state: 'firing', firedAt: new Date(T0 + 8000) }]);
});

it('sends a report the store could not take again with the next beat, and the store keeps it once', async () => {
  let failures = 1;
  const flaky: MonitorAlerts = {
    listOpen: (filter) => store.listOpen(filter),
    settleFlapping: () => store.settleFlapping(),
    report: (reports) => (failures-- > 0 ? Promise.reject(new Error('connection terminated')) : store.report(reports)),
  };
  const beat = await createMonitorBeat(flaky);
  await beat(reading(0, 'unreachable'));
  await expect(beat(reading(6, 'unreachable'))).rejects.toThrow('connection terminated');
  expect(await store.listOpen()).toEqual([]);
  await beat(reading(8, 'unreachable'));
  expect(await store.listOpen()).toMatchObject([{ fingerprint: FINGERPRINT, state: 'firing', firedAt: new Date(T0 + 6000) }]);
  await beat(reading(10, 'unreachable'));
  expect(await history()).toEqual([`${FINGERPRINT} fired`]);
});

it('resolves after a restart an alert it fired before, keeping who acknowledged it', async () => {
  const before = await createMonitorBeat(store);
  await before(reading(0, 'unreachable'));
  await before(reading(6, 'unreachable'));
  const [open] = await store.listOpen();
  await store.acknowledge(open!.id, 'U0ONCALL');

  const after = await createMonitorBeat(store);
  await after(reading(20, 'unreachable'));
  expect((await store.get(open!.id))!.state).toBe('acknowledged');
  await after(reading(22, 'healthy'));
  expect(await store.get(open!.id)).toMatchObject({ state: 'resolved', firedAt: new Date(T0 + 6000), resolvedAt: new Date(T0 + 22_000), acknowledgedBy: 'U0ONCALL' });
  expect(await history()).toEqual([`${FINGERPRINT} fired`, `${FINGERPRINT} acknowledged`, `${FINGERPRINT} resolved`]);
});

function listing(evolutionOversight: Partial<Replica>): ServiceStatus[] {
  const replica: Replica = { id: 'local:evolution-oversight', name: 'evolution-oversight', number: 1, state: 'running', health: 'healthy', image: 'node', startedAt: null, uptimeSeconds: null, restarts: 0, ...evolutionOversight };
  return [{ name: 'evolution-oversight', replicas: [replica] }];
}

it('keeps a held service held through beats whose listing did not come, and judges it again once started', async () => {
  const beat = await createMonitorBeat(store);
  const held = listing({ state: 'exited', health: 'none', held: true });
  await beat({ ...reading(0, 'unreachable'), replicas: held, stackKind: 'local' });
  for (const seconds of [2, 4, 6, 8, 10]) await beat(reading(seconds, 'unreachable'));
  expect(await store.listOpen()).toEqual([]);
  // Started again but not answering: a real ServiceDown, its `for` counted from now.
  await beat({ ...reading(12, 'unreachable'), replicas: listing({ health: 'starting' }), stackKind: 'local' });
  await beat(reading(16, 'unreachable'));
  expect(await store.listOpen()).toEqual([]);
  await beat(reading(17, 'unreachable'));
  expect(await store.listOpen()).toMatchObject([{ fingerprint: FINGERPRINT, state: 'firing', firedAt: new Date(T0 + 17_000) }]);
});

it('stops counting a service held once its last listing is over 10 s old: a writer frozen after a restore, whose listings never come, still fires', async () => {
  const beat = await createMonitorBeat(store);
  // Held during the restore; started again, answering, but no listing won its race since.
  await beat({ ...reading(0, 'unreachable'), replicas: listing({ state: 'exited', health: 'none', held: true }), stackKind: 'local' });
  await beat(reading(2, 'healthy'));
  // Frozen: its probe takes the listing's whole deadline, so no listing comes any more.
  for (const seconds of [4, 7, 10]) await beat(reading(seconds, 'unreachable', seconds - 3));
  expect(await store.listOpen()).toEqual([]);
  // The held listing is over 10 s old: judged as any other service, its `for` counted from the reading's start.
  await beat(reading(13, 'unreachable', 10));
  await beat(reading(16, 'unreachable', 13));
  expect(await store.listOpen()).toMatchObject([{ fingerprint: FINGERPRINT, state: 'firing', firedAt: new Date(T0 + 16_000) }]);
});

it('stores a healed crash as a ServiceRestarted that fires and resolves, and resolves one left open before a restart', async () => {
  const before = await createMonitorBeat(store);
  await before({ ...reading(0, 'healthy'), replicas: listing({ restarts: 0 }), stackKind: 'local' });
  await before({ ...reading(2, 'healthy'), replicas: listing({ restarts: 1, health: 'starting', startedAt: new Date(T0 + 1500).toISOString() }), stackKind: 'local' });
  const [open] = await store.listOpen();
  expect(open).toMatchObject({ rule: 'ServiceRestarted', state: 'firing', value: 1, labels: { service: 'evolution-oversight', replica: 'evolution-oversight' } });

  const after = await createMonitorBeat(store);
  await after({ ...reading(4, 'healthy'), replicas: listing({ restarts: 1 }), stackKind: 'local' });
  const resolved = await store.get(open!.id);
  expect(resolved).toMatchObject({ state: 'resolved', resolvedAt: new Date(T0 + 4000) });
  expect(resolved!.annotations.summary).toMatch(/^evolution-oversight crashed at 03:00:02 UTC; the supervisor restarted it; healthy again after \d+ s$/);
  expect(await store.listOpen()).toEqual([]);
});
