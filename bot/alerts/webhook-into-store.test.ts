/**
 * Alertmanager's webhook as the bot wires it (bot/main.ts): over the real HTTP server into the
 * PostgreSQL alert store. Alertmanager delivers at least once: the same notification twice is one
 * alert with one firing; the resolution that follows ends it; a store that cannot be reached is
 * answered 503 so Alertmanager sends again, and the retry is stored.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createBotHttpServer } from '../slack/http-server.js';
import { createAlertmanagerWebhook } from './alertmanager-webhook.js';
import { createAlertStore, migrateAlertStore, type AlertStore } from './alert-store.js';

const TOKEN = 'store-wiring-test-token-0123456789abcdef';

let db: TestDatabase;
let pool: pg.Pool;
let store: AlertStore;
let server: Server;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase('acgs_alert_webhook');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-alert-webhook-test' });
  await migrateAlertStore(pool);
  store = createAlertStore({ pool });
  server = createBotHttpServer({
    health: () => ({ statusCode: 200, body: { status: 'ok' } }),
    metrics: new Registry(),
    alertmanagerWebhook: createAlertmanagerWebhook({ token: TOKEN, intake: store }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts/alertmanager`;
});
afterAll(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool?.end().catch(() => undefined);
  await db?.drop();
});

function notification(status: 'firing' | 'resolved') {
  return {
    version: '4',
    receiver: 'acgs-bot',
    status,
    alerts: [
      {
        status,
        labels: { alertname: 'ServiceDown', service: 'audit-engine', instance: '127.0.0.1:8003' },
        annotations: { summary: 'a service health check is failing' },
        startsAt: '2026-12-07T05:00:00Z',
        endsAt: status === 'resolved' ? '2026-12-07T05:03:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph',
        fingerprint: 'c0ffee0123456789',
      },
    ],
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    groupKey: '{}:{alertname="ServiceDown"}',
    truncatedAlerts: 0,
  };
}

const post = (body: unknown) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe("Alertmanager's webhook into the alert store", () => {
  it('stores a notification delivered twice as one firing alert, then its resolution', async () => {
    expect((await post(notification('firing'))).status).toBe(200);
    expect((await post(notification('firing'))).status).toBe(200);
    const open = await store.listOpen();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ fingerprint: 'c0ffee0123456789', rule: 'ServiceDown', source: 'alertmanager', state: 'firing', labels: { service: 'audit-engine' } });
    expect(open[0]!.firedAt.toISOString()).toBe('2026-12-07T05:00:00.000Z');

    expect((await post(notification('resolved'))).status).toBe(200);
    expect(await store.listOpen()).toEqual([]);
    expect(await store.byFingerprint('c0ffee0123456789')).toMatchObject({ state: 'resolved', resolvedBy: null });
    expect((await store.history(new Date(0))).map((entry) => entry.kind)).toEqual(['fired', 'resolved']);
  });

  it('answers 503 while the store is unreachable and stores the retry once it is back', async () => {
    await pool.query('TRUNCATE alert_level_one_actions, alert_events, alert_reports, alerts RESTART IDENTITY');
    await pool.query('ALTER TABLE alerts RENAME TO alerts_away');
    try {
      expect((await post(notification('firing'))).status).toBe(503);
    } finally {
      await pool.query('ALTER TABLE alerts_away RENAME TO alerts');
    }
    expect(await store.listOpen()).toEqual([]);
    expect((await post(notification('firing'))).status).toBe(200);
    expect(await store.listOpen()).toHaveLength(1);
  });
});
