/**
 * The built-in monitor against the real services of `npm start` (on spare loopback ports, embedded
 * PGlite) and the alert store on the real PostgreSQL: a service whose process is frozen (SIGSTOP:
 * it no longer answers, and the supervisor sees no exit) is a firing ServiceDown in the store, and
 * resolved once it runs again. A service stopped through the Stack port is held on purpose and
 * raises none (test/alerts/crash-alerts-local-stack.test.ts); a killed one is back before
 * ServiceDown's `for` and is told as ServiceRestarted there.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAlertMonitor, type AlertMonitor } from '../../bot/alerts/alert-monitor.js';
import { createAlertStore, migrateAlertStore, type AlertChange, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { createPool } from '../../services/kit/postgres.js';
import type { LocalServices } from '../../services/stack/local/local-services.js';
import type { Stack } from '../../services/stack/stack.js';
import { startTestLocalStack, type TestLocalStack } from '../testing/local-stack.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

const DOWN_FINGERPRINT = 'monitor/ServiceDown/service=audit-engine';

let local: TestLocalStack | undefined;
let services: LocalServices;
let stack: Stack;
let db: TestDatabase;
let pool: pg.Pool;
let alerts: AlertStore;
let monitor: AlertMonitor | undefined;
let frozenPid: number | undefined;
const monitorErrors: unknown[] = [];
const changes: Array<{ change: AlertChange; receivedAt: number }> = [];

beforeAll(async () => {
  local = await startTestLocalStack('acgs-alert-monitor');
  ({ services, stack } = local);
  db = await createTestDatabase('acgs_alert_monitor');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-alert-monitor-test' });
  await migrateAlertStore(pool);
  alerts = createAlertStore({ pool });
  alerts.onChange((change) => {
    changes.push({ change, receivedAt: Date.now() });
  });
}, 120_000);

afterAll(async () => {
  // A failed test must not leave a frozen process behind for the stack's stop to wait on.
  if (frozenPid !== undefined) process.kill(frozenPid, 'SIGCONT');
  await monitor?.stop();
  await stack?.close().catch(() => undefined);
  await local?.close();
  await pool?.end().catch(() => undefined);
  await db?.drop();
}, 60_000);

/** The first change of the alert to `kind`, as the store announced it; undefined if none came before the deadline. */
function changeOf(kind: 'fired' | 'resolved', deadlineMs: number): Promise<{ change: AlertChange; receivedAt: number } | undefined> {
  return new Promise((resolve) => {
    const started = Date.now();
    const look = () => {
      const found = changes.find((entry) => entry.change.alert.fingerprint === DOWN_FINGERPRINT && entry.change.event.kind === kind);
      if (found || Date.now() - started >= deadlineMs) resolve(found);
      else setTimeout(look, 100);
    };
    look();
  });
}

it('reports a frozen service as a firing ServiceDown, and resolved once it runs again', async () => {
  const endpoints = services.endpoints;
  monitor = await startAlertMonitor({
    services: { ...createCommandDependencies({ endpoints, stack, checkTimeoutMs: 2000 }), stack },
    alerts,
    onError: (error) => monitorErrors.push(error),
  });
  const pid = services.processes.find((process) => process.name === 'audit-engine')!.pid()!;
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGSTOP');
  frozenPid = pid;
  const fired = await changeOf('fired', 20_000);
  expect(fired, 'no ServiceDown fired for audit-engine within 20 s').toBeDefined();
  // A frozen process costs each reading the health check's whole timeout; bench:alerts measures its p99 against the 10 s goal.
  expect(fired!.receivedAt - stoppedAt).toBeLessThanOrEqual(15_000);
  expect(fired!.change.alert).toMatchObject({ rule: 'ServiceDown', source: 'monitor', state: 'firing', value: 1, labels: { alertname: 'ServiceDown', service: 'audit-engine' } });
  expect((await alerts.listOpen()).map((open) => open.fingerprint)).toEqual([DOWN_FINGERPRINT]);

  process.kill(pid, 'SIGCONT');
  frozenPid = undefined;
  const resolved = await changeOf('resolved', 15_000);
  expect(resolved, 'the ServiceDown of audit-engine did not resolve within 15 s of its start').toBeDefined();
  const alert = await alerts.byFingerprint(DOWN_FINGERPRINT);
  // Its value stays the one that fired it, not the healthy reading's 0.
  expect(alert).toMatchObject({ state: 'resolved', resolvedBy: null, value: 1 });
  expect(alert!.resolvedAt!.getTime()).toBeGreaterThan(alert!.firedAt.getTime());
  // Nothing else fired while the monitor watched the stack.
  expect(await alerts.listOpen()).toEqual([]);
  expect((await alerts.history(new Date(0))).map((entry) => `${entry.fingerprint} ${entry.kind}`)).toEqual([`${DOWN_FINGERPRINT} fired`, `${DOWN_FINGERPRINT} resolved`]);
  expect(monitorErrors).toEqual([]);
}, 60_000);
