/**
 * Alertmanager's webhook on the bot's real HTTP server, on loopback. The store is not what is
 * under test here: a small in-memory AlertIntake records what the webhook hands it (the
 * PostgreSQL store has its own tests).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBotHttpServer } from '../slack/http-server.js';
import { createAlertmanagerWebhook, parseAlertWebhookSettings, DEFAULT_ALERTS_MAX_BODY_BYTES } from './alertmanager-webhook.js';
import { RecordingIntake } from './testing/recording-intake.js';

const TOKEN = 'a'.repeat(20) + 'webhook-test-token-1234';
const MAX_BODY = 16 * 1024;

const intake = new RecordingIntake();
const storeErrors: unknown[] = [];
let withWebhook: Server;
let withoutWebhook: Server;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
let url: string;
let urlWithout: string;

beforeAll(async () => {
  const common = { health: () => ({ statusCode: 200, body: { status: 'ok' } }), metrics: new Registry() };
  withWebhook = createBotHttpServer({
    ...common,
    alertmanagerWebhook: createAlertmanagerWebhook({ token: TOKEN, intake, maxBodyBytes: MAX_BODY, onError: (error) => storeErrors.push(error) }),
  });
  withoutWebhook = createBotHttpServer(common);
  url = await listen(withWebhook);
  urlWithout = await listen(withoutWebhook);
});
afterAll(async () => {
  for (const server of [withWebhook, withoutWebhook]) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
beforeEach(() => {
  intake.reports = [];
  intake.failWith = undefined;
  intake.gate = undefined;
  storeErrors.length = 0;
});

interface WireAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint?: string;
  silencedBy: string[];
}

/** A payload as Alertmanager 0.25 sends it, with a field this bot does not know. */
function payload(overrides: Record<string, unknown> = {}): { alerts: WireAlert[]; [key: string]: unknown } {
  return {
    receiver: 'acgs-bot',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'ServiceDown', instance: '127.0.0.1:8003', job: 'acgs-services', service: 'audit-engine', severity: 'critical' },
        annotations: { summary: 'a service health check is failing', threshold: '1', value: '1' },
        startsAt: '2026-12-07T04:00:01.123456789Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
        fingerprint: '5f2c6c1d7a0b9e3f',
        silencedBy: [],
      },
    ],
    groupLabels: { alertname: 'ServiceDown' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="ServiceDown"}',
    truncatedAlerts: 0,
    ...overrides,
  };
}

function post(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, target = url) {
  return fetch(`${target}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /alerts/alertmanager', () => {
  it('hands a firing alert to the intake as a ReportedAlert, the zero endsAt left out, and answers 200 with the counts', async () => {
    const response = await post(payload());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 1, stored: 1, duplicates: 0 });
    expect(intake.reports).toEqual([
      [
        {
          source: 'alertmanager',
          fingerprint: '5f2c6c1d7a0b9e3f',
          rule: 'ServiceDown',
          status: 'firing',
          labels: { alertname: 'ServiceDown', instance: '127.0.0.1:8003', job: 'acgs-services', service: 'audit-engine', severity: 'critical' },
          annotations: { summary: 'a service health check is failing', threshold: '1', value: '1' },
          startsAt: new Date('2026-12-07T04:00:01.123Z'),
          value: 1,
        },
      ],
    ]);
  });

  it("keeps a resolved alert's endsAt, and an alert of a rule the runbook does not know", async () => {
    const body = payload({ status: 'resolved' });
    body.alerts = [
      { ...body.alerts[0]!, status: 'resolved', endsAt: '2026-12-07T04:02:00+01:00', annotations: { summary: 'x' } },
      { ...body.alerts[0]!, labels: { alertname: 'SomeoneElsesRule' }, fingerprint: 'aa', annotations: { value: 'NaN' } },
    ];
    expect((await post(body)).status).toBe(200);
    const [resolved, other] = intake.reports[0]!;
    expect(resolved).toMatchObject({ status: 'resolved', endsAt: new Date('2026-12-07T03:02:00Z') });
    expect(resolved).not.toHaveProperty('value');
    expect(other).toMatchObject({ rule: 'SomeoneElsesRule', status: 'firing', fingerprint: 'aa' });
    expect(other).not.toHaveProperty('endsAt');
    expect(other).not.toHaveProperty('value');
  });

  it('answers only once the intake resolved', async () => {
    let open!: () => void;
    intake.gate = new Promise<void>((resolve) => (open = resolve));
    let answered = false;
    const pending = post(payload()).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    open();
    expect((await pending).status).toBe(200);
    expect(intake.reports).toHaveLength(1);
  });

  it('answers 503 when the intake fails, so that Alertmanager sends the alerts again', async () => {
    intake.failWith = new Error('database unreachable');
    const response = await post(payload());
    expect(response.status).toBe(503);
    expect((await response.json()).error).toMatch(/could not be stored/);
    expect(storeErrors).toEqual([intake.failWith]);
  });

  it('refuses a request without the token, with another scheme, or with a wrong token: 401, nothing reported', async () => {
    for (const headers of [{}, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Bearer ' }] as Array<Record<string, string>>) {
      const response = await post(payload(), headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(intake.reports).toEqual([]);
  });

  it('answers 404 naming ACGS_ALERTS_TOKEN when the webhook is off', async () => {
    const response = await post(payload(), { authorization: `Bearer ${TOKEN}` }, urlWithout);
    expect(response.status).toBe(404);
    expect((await response.json()).error).toContain('ACGS_ALERTS_TOKEN');
  });

  it('refuses malformed payloads with 400 and a message saying what is wrong', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"version": "4",', /not JSON/],
      [payload({ version: '3' }), /version/],
      [{ ...payload(), alerts: [{ ...payload().alerts[0]!, startsAt: 'yesterday' }] }, /alerts\.0\.startsAt/],
      [{ ...payload(), alerts: [{ ...payload().alerts[0]!, labels: { job: 'x' } }] }, /alerts\.0\.labels: must have an alertname/],
      [{ ...payload(), alerts: [{ ...payload().alerts[0]!, fingerprint: undefined }] }, /alerts\.0\.fingerprint/],
    ];
    for (const [body, message] of cases) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((await response.json()).error).toMatch(message);
    }
    expect(intake.reports).toEqual([]);
  });

  it('refuses a payload over the limit with 413, nothing reported', async () => {
    const body = payload({ padding: 'x'.repeat(MAX_BODY) });
    const response = await post(body);
    expect(response.status).toBe(413);
    expect((await response.json()).error).toContain(`${MAX_BODY} bytes`);
    expect(intake.reports).toEqual([]);
  });

  it('takes POST only', async () => {
    const response = await fetch(`${url}/alerts/alertmanager`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('parseAlertWebhookSettings', () => {
  it('is off without ACGS_ALERTS_TOKEN, with a 1 MB limit by default', () => {
    expect(parseAlertWebhookSettings({})).toEqual({ maxBodyBytes: DEFAULT_ALERTS_MAX_BODY_BYTES });
    expect(DEFAULT_ALERTS_MAX_BODY_BYTES).toBe(1024 * 1024);
  });

  it('reads the token and the limit, and refuses a short token without showing it', () => {
    expect(parseAlertWebhookSettings({ ACGS_ALERTS_TOKEN: TOKEN, ACGS_ALERTS_MAX_BODY_BYTES: '2048' })).toEqual({ token: TOKEN, maxBodyBytes: 2048 });
    expect(() => parseAlertWebhookSettings({ ACGS_ALERTS_TOKEN: 'short-secret' })).toThrow(/ACGS_ALERTS_TOKEN: must be at least 32 characters/);
    expect(() => parseAlertWebhookSettings({ ACGS_ALERTS_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
  });
});
