/**
 * The built-in monitor with its production timing (2 s beat, 3 s health deadline) against real
 * loopback servers: one that takes requests and never answers (a frozen process), one alive
 * but slow, answering degraded after 2.2 s as evolution-oversight does while its Policy Engine is
 * frozen (its own check of the engine waits 2 s), and two quick healthy ones. The alert store is
 * on the real PostgreSQL. Counted, not timed: the frozen service fires at the second reading that
 * waited for it, readings never overlap, and the slow one is never called down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAlertMonitor, type AlertMonitor } from '../../bot/alerts/alert-monitor.js';
import { createAlertStore, migrateAlertStore, type AlertChange, type AlertStore } from '../../bot/alerts/alert-store.js';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import { createPool } from '../../services/kit/postgres.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';

const FROZEN: ServiceName = 'evolution-oversight';
const SLOW: ServiceName = 'audit-engine';
const SLOW_ANSWER_MS = 2200;

interface HealthServer {
  url: string;
  /** Health requests received and answered so far, and the most that were open at once. */
  received: number;
  answered: number;
  mostAtOnce: number;
  close(): Promise<void>;
}

/**
 * A service's /health answering `status` after `delayMs`, or never (a frozen process: the request
 * stays open until the caller gives up); anything else 404. Requests are counted, not connections:
 * the client's pool may open a spare connection after it drops one that timed out.
 */
async function startHealthServer(service: ServiceName, status: 'healthy' | 'degraded', delayMs: number | 'never'): Promise<HealthServer> {
  let inProgress = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    if (request.url !== '/health') return void response.writeHead(404).end();
    health.received += 1;
    inProgress += 1;
    health.mostAtOnce = Math.max(health.mostAtOnce, inProgress);
    response.on('close', () => (inProgress -= 1));
    if (delayMs === 'never') return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      health.answered += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status, service, version: '1.0.0', constitutional_hash: CONSTITUTIONAL_HASH, uptime_seconds: 1 }));
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const health: HealthServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: 0,
    answered: 0,
    mostAtOnce: 0,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return health;
}

let db: TestDatabase;
let pool: pg.Pool;
let alerts: AlertStore;
const servers: HealthServer[] = [];
let monitor: AlertMonitor | undefined;

beforeAll(async () => {
  db = await createTestDatabase('acgs_alert_hung');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-alert-hung-test' });
  await migrateAlertStore(pool);
  alerts = createAlertStore({ pool });
}, 60_000);

afterAll(async () => {
  await monitor?.stop();
  await Promise.all(servers.map((server) => server.close()));
  await pool?.end().catch(() => undefined);
  await db?.drop();
}, 30_000);

it('fires a frozen service at the second reading that waited for it, one reading at a time, and never calls a slow but alive one down', async () => {
  const frozen = await startHealthServer(FROZEN, 'healthy', 'never');
  const slow = await startHealthServer(SLOW, 'degraded', SLOW_ANSWER_MS);
  const quick = await Promise.all((['policy-engine', 'sandbox-controller'] as const).map((service) => startHealthServer(service, 'healthy', 0)));
  servers.push(frozen, slow, ...quick);
  const endpoints: Record<ServiceName, string> = { 'policy-engine': quick[0]!.url, 'sandbox-controller': quick[1]!.url, [FROZEN]: frozen.url, [SLOW]: slow.url } as Record<ServiceName, string>;

  let firedAfterReadings: number | undefined;
  const fired = new Promise<AlertChange>((resolve) => {
    alerts.onChange((change) => {
      if (change.event.kind !== 'fired') return;
      // Each reading asks the frozen service once.
      firedAfterReadings ??= frozen.received;
      resolve(change);
    });
  });
  const errors: unknown[] = [];
  monitor = await startAlertMonitor({ services: createCommandDependencies({ endpoints, checkTimeoutMs: 2000 }), alerts, onError: (error) => errors.push(error) });
  const change = await fired;

  expect(change.alert).toMatchObject({ rule: 'ServiceDown', state: 'firing', labels: { service: FROZEN } });
  // The first reading waited 3 s, the second (at once, not after a further 2 s) another 3 s: 6 s >= the 5 s `for`.
  expect(firedAfterReadings).toBe(2);
  // One reading at a time: the next asked only once the last had given up.
  expect(frozen.mostAtOnce).toBe(1);
  expect(slow.mostAtOnce).toBe(1);
  // The slow service answered within the deadline each time: degraded, never down.
  expect(slow.answered).toBeGreaterThanOrEqual(2);
  expect((await alerts.listOpen()).map((open) => open.fingerprint)).toEqual([`monitor/ServiceDown/service=${FROZEN}`]);
  await monitor.stop();
  monitor = undefined;
  expect(errors).toEqual([]);
}, 30_000);
