/**
 * Failed authentication into the bot's trail, through the real front doors on the real
 * PostgreSQL: the alert webhook with no token and a wrong one, a Slack request Bolt's real
 * HTTPReceiver refuses for its signature, one stamped in the future, the console's token, and a
 * flood throttled into one record that counts the rest. A request that authenticates records nothing.
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { HTTPReceiver } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestTrail, type TestTrail } from '../../test/testing/command-access.js';
import { waitFor } from '../../test/testing/wait-for.js';
import { ALERTMANAGER_WEBHOOK_PATH, createAlertmanagerWebhook } from '../alerts/alertmanager-webhook.js';
import { createBotHttpServer, SLACK_EVENTS_PATH } from '../slack/http-server.js';
import { startSlackStandIn } from '../slack/stand-in/index.js';
import { Registry } from 'prom-client';
import { authFailureRecorder } from './auth-failures.js';

const ALERTS_TOKEN = 'alerts-token-for-the-auth-failure-test-0123456789';
const SIGNING_SECRET = 'signing-secret-for-the-auth-failure-test';

let trail: TestTrail;
let server: Server;
let base: string;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_auth_failures' });
  const record = authFailureRecorder(trail.trail);
  const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET });
  server = createBotHttpServer({
    slackListener: receiver.requestListener,
    health: () => ({ statusCode: 200, body: { status: 'ok' } }),
    metrics: new Registry(),
    alertmanagerWebhook: createAlertmanagerWebhook({ token: ALERTS_TOKEN, intake: { report: async () => ({ stored: 0, duplicates: 0 }) }, onUnauthorized: (attempt) => record({ source: 'alert-webhook', ...attempt }) }),
    onAuthFailure: record,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await trail?.close();
});

/** The records appear once the trail's queue wrote them: wait for that many, never a fixed time. */
async function recordsAfter(before: number, count: number) {
  return waitFor(`${count} auth_failure records`, async () => {
    const rows = await authFailures();
    return rows.length >= before + count ? rows.slice(before) : undefined;
  }, 10_000, async () => `the trail holds ${(await authFailures()).length - before}`);
}

async function authFailures() {
  const { rows } = await trail.pool.query<{ actor: string; origin: string; outcome: string; details: Record<string, unknown> }>(
    "SELECT actor, origin, outcome, details FROM bot_audit_trail WHERE kind = 'auth_failure' ORDER BY sequence",
  );
  return rows;
}

function signed(body: string, timestamp: number, secret = SIGNING_SECRET) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

describe('failed authentication in the trail', () => {
  it('records the alert webhook called without a token and with a wrong one, and not with the right one', async () => {
    const before = (await authFailures()).length;
    const none = await fetch(`${base}${ALERTMANAGER_WEBHOOK_PATH}`, { method: 'POST', body: '{}' });
    const wrong = await fetch(`${base}${ALERTMANAGER_WEBHOOK_PATH}`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer not-the-token' } });
    const right = await fetch(`${base}${ALERTMANAGER_WEBHOOK_PATH}`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${ALERTS_TOKEN}` } });
    expect([none.status, wrong.status]).toEqual([401, 401]);
    expect(right.status).toBe(400);
    const recorded = await recordsAfter(before, 2);
    expect(recorded.map((row) => [row.actor, row.origin, row.outcome, row.details.source, row.details.reason, row.details.count])).toEqual([
      ['unknown', 'system', 'refused', 'alert-webhook', 'no token in the Authorization header', 1],
      ['unknown', 'system', 'refused', 'alert-webhook', 'a token that is not ACGS_ALERTS_TOKEN', 1],
    ]);
    expect(recorded[0]!.details.remote_address).toMatch(/127\.0\.0\.1/);
    expect(JSON.stringify(recorded)).not.toContain('not-the-token');
  });

  it('records a Slack request whose signature Bolt refuses, and one stamped in the future', async () => {
    const before = (await authFailures()).length;
    const now = Math.floor(Date.now() / 1000);
    const body = 'command=%2Facgs&text=health';
    const badSignature = await fetch(`${base}${SLACK_EVENTS_PATH}`, { method: 'POST', body, headers: signed(body, now, 'another-secret') });
    const future = await fetch(`${base}${SLACK_EVENTS_PATH}`, { method: 'POST', body, headers: signed(body, now + 3600) });
    expect([badSignature.status, future.status]).toEqual([401, 401]);
    const sources = (await recordsAfter(before, 2)).map((row) => row.details.source);
    expect(sources.sort()).toEqual(['slack-signature', 'slack-timestamp']);
  });

  it('records the console opened with a wrong token and an API call without one, not the right link', async () => {
    const before = (await authFailures()).length;
    const record = authFailureRecorder(trail.trail);
    const standIn = await startSlackStandIn({ botToken: 'xoxb-auth-failure-console', onConsoleAuthFailure: (attempt) => record({ source: 'console', ...attempt }) });
    try {
      expect((await fetch(`${standIn.url}/?token=guessed`)).status).toBe(403);
      expect((await fetch(`${standIn.url}/console/api/workspace`)).status).toBe(403);
      expect((await fetch(standIn.consoleUrl)).status).toBe(200);
      const recorded = await recordsAfter(before, 2);
      expect(recorded.map((row) => [row.details.source, row.details.reason])).toEqual([
        ['console', "the console page opened with a token that is not this start's"],
        ['console', "a console API call without this start's token"],
      ]);
      expect(JSON.stringify(recorded)).not.toContain('guessed');
    } finally {
      await standIn.close();
    }
  });

  it('throttles a flood per source, the next record counting what it held back', async () => {
    let now = Date.parse('2026-12-07T10:00:10Z');
    const appended: Array<Record<string, unknown>> = [];
    const record = authFailureRecorder({ append: async (input) => void appended.push(input.details!) as never }, { perMinute: 3, clock: () => now });
    for (let attempt = 0; attempt < 10; attempt += 1) record({ source: 'console', reason: 'wrong token' });
    record({ source: 'alert-webhook', reason: 'wrong token' });
    expect(appended.map((details) => [details.source, details.count])).toEqual([
      ['console', 1],
      ['console', 1],
      ['console', 1],
      ['alert-webhook', 1],
    ]);
    now += 60_000;
    record({ source: 'console', reason: 'wrong token' });
    // The seven held back in the first minute ride on the next one written.
    expect(appended.at(-1)).toMatchObject({ source: 'console', count: 8 });
  });
});
