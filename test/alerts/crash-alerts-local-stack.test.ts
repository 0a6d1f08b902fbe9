/**
 * Crashes on the embedded local stack (the services of `npm start` on spare loopback ports), told
 * by the built-in monitor's beat (real readings of the stack, the alert store on the real
 * PostgreSQL) and shown in the Slack stand-in:
 *
 * - a service's process killed (SIGKILL) is back within about a second, before ServiceDown's `for`:
 *   a ServiceRestarted alert fires and resolves by itself, and its one message says the service was
 *   killed, the supervisor restarted it and when it was healthy again, with its context (restart
 *   count; the services log nothing under vitest, so bot/slack/alert-messages.test.ts shows the
 *   log lines) in its thread; no ServiceDown;
 * - three kills within 10 minutes fire ServiceCrashLooping;
 * - a service held stopped through the Stack port (a restore's writers) raises no ServiceDown.
 *
 * The beat is driven here, reading after reading (createMonitorBeat, as startAlertMonitor runs it),
 * so that the test counts samples instead of trusting a timer.
 */
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readAlertContext } from '../../bot/alerts/alert-context.js';
import { createMonitorBeat } from '../../bot/alerts/alert-monitor.js';
import { createAlertStore, migrateAlertStore, type AlertRecord, type AlertStore } from '../../bot/alerts/alert-store.js';
import { readStack, type StackReading } from '../../bot/alerts/stack-reading.js';
import { createAlertMessageStore, migrateAlertMessageStore } from '../../bot/slack/alert-message-store.js';
import { createAlertMessages, type AlertMessages } from '../../bot/slack/alert-messages.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { startSlackStandIn, type SlackStandIn, type StandInMessage } from '../../bot/slack/stand-in/index.js';
import { createCommandDependencies, type CommandDependencies } from '../../commands/dependencies.js';
import { createPool } from '../../services/kit/postgres.js';
import type { SupervisedProcess } from '../../services/stack/local/local-supervisor.js';
import type { Stack } from '../../services/stack/stack.js';
import { startTestLocalStack, type TestLocalStack } from '../testing/local-stack.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { blockText, BOT_TOKEN, SIGNING_SECRET } from '../testing/slack-harness.js';

const ALERTS = 'C0ACGSALERT';

let local: TestLocalStack | undefined;
let stack: Stack;
let dependencies: CommandDependencies;
let db: TestDatabase;
let pool: pg.Pool;
let alerts: AlertStore;
let shown: AlertMessages;
let slack: SlackStandIn | undefined;
let beat: (reading: StackReading) => Promise<void>;
const logged: string[] = [];

beforeAll(async () => {
  local = await startTestLocalStack('acgs-crash-alerts');
  stack = local.stack;
  dependencies = { ...createCommandDependencies({ endpoints: local.services.endpoints, stack, checkTimeoutMs: 2000 }), stack };
  db = await createTestDatabase('acgs_crash_alerts');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-crash-alerts-test' });
  await migrateAlertStore(pool);
  await migrateAlertMessageStore(pool);
  alerts = createAlertStore({ pool });
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, transport: 'http', signingSecret: SIGNING_SECRET });
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, minTimeout: 50, maxTimeout: 1500 } });
  shown = createAlertMessages({
    queue: channelWriteQueue(client, { minEditIntervalMs: 10 }),
    alerts,
    messages: createAlertMessageStore({ pool }),
    channel: ALERTS,
    context: (alert) => readAlertContext(alert, { stack, logLines: 5 }),
    log: (message) => logged.push(message),
  });
  alerts.onChange((change) => shown.changed(change));
  beat = await createMonitorBeat(alerts);
  // The baseline: counts before the monitor ran are history, not news.
  await beatOnce();
}, 120_000);

afterAll(async () => {
  await slack?.close();
  await stack?.close().catch(() => undefined);
  await local?.close();
  await pool?.end().catch(() => undefined);
  await db?.drop();
}, 60_000);

const processOf = (service: string): SupervisedProcess => local!.services.processes.find((process) => process.name === service)!;

async function beatOnce(): Promise<void> {
  await beat(await readStack(dependencies, new AbortController().signal, () => new Date()));
}

/** Beats until `done` holds, at most `maxBeats` times, half a second apart. */
async function beatUntil<T>(what: string, done: () => Promise<T | undefined>, maxBeats = 60): Promise<T> {
  for (let count = 0; count < maxBeats; count += 1) {
    await beatOnce();
    const value = await done();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: not within ${maxBeats} beats`);
}

/** SIGKILL to the service's process, then waits until the supervisor has a new one running. */
async function kill(service: string): Promise<void> {
  const process = processOf(service);
  const pid = process.pid()!;
  const restarts = process.restarts();
  globalThis.process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 40_000;
  while (process.restarts() === restarts || process.pid() === undefined || process.pid() === pid) {
    if (Date.now() > deadline) throw new Error(`the supervisor did not restart ${service} after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ofRule(rule: string, service: string): Promise<AlertRecord[]> {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM alerts WHERE rule = $1 AND labels->>'service' = $2 ORDER BY id", [rule, service]);
  return Promise.all(rows.map(async (row) => (await alerts.get(row.id))!));
}

const header = (message: StandInMessage | undefined) => ((message?.blocks?.[0] as { text?: { text?: string } } | undefined)?.text?.text ?? '');

it('tells a killed service that the supervisor healed as one ServiceRestarted message that ends resolved with what happened', async () => {
  await kill('audit-engine');
  const [alert] = await beatUntil('ServiceRestarted of audit-engine resolved', async () => {
    const found = await ofRule('ServiceRestarted', 'audit-engine');
    return found.length > 0 && found.every((entry) => entry.state === 'resolved') ? found : undefined;
  });
  expect(await ofRule('ServiceRestarted', 'audit-engine')).toHaveLength(1);
  expect(alert).toMatchObject({ source: 'monitor', state: 'resolved', resolvedBy: null, value: 1, labels: { alertname: 'ServiceRestarted', service: 'audit-engine', replica: 'audit-engine' } });
  expect(alert!.annotations.summary).toMatch(/^audit-engine crashed \(killed by SIGKILL\) at \d\d:\d\d:\d\d UTC; the supervisor restarted it; healthy again after \d+ s$/);
  // Healed before ServiceDown's `for`: no page, nothing for Level 1.
  expect(await ofRule('ServiceDown', 'audit-engine')).toEqual([]);

  await shown.idle();
  const parents = slack!.messages(ALERTS).filter((message) => !message.threadTs);
  expect(parents.map(header)).toEqual([':white_check_mark: ServiceRestarted: audit-engine: resolved']);
  const text = blockText(parents[0]!.blocks);
  expect(text).toContain('killed by SIGKILL');
  expect(text).toContain('the supervisor restarted it; healthy again after');
  expect(text).toContain('informational, nobody is paged');
  const thread = slack!.thread(ALERTS, parents[0]!.ts).slice(1).map((reply) => blockText(reply.blocks));
  expect(thread[0]).toContain('Context for audit-engine');
  expect(thread[0]).toContain('Restarted on its own 1 time');
  expect(logged).toEqual([]);
}, 90_000);

it('fires ServiceCrashLooping at the third crash within 10 minutes, and opens no ServiceRestarted for the third', async () => {
  // Each crash healed before the next: crashing again before healthy would stay in the same alert.
  for (const _ of [1, 2, 3]) {
    await kill('evolution-oversight');
    expect(await processOf('evolution-oversight').waitUntilHealthy(60_000)).toBe(true);
    await beatOnce();
  }
  const [loop] = await beatUntil('ServiceCrashLooping of evolution-oversight', async () => {
    const found = await ofRule('ServiceCrashLooping', 'evolution-oversight');
    return found.length > 0 ? found : undefined;
  }, 10);
  expect(loop).toMatchObject({ state: 'firing', labels: { alertname: 'ServiceCrashLooping', service: 'evolution-oversight' } });
  expect(loop!.value).toBeGreaterThanOrEqual(3);
  expect((await ofRule('ServiceRestarted', 'evolution-oversight')).length).toBe(2);
  await shown.idle();
  expect(slack!.messages(ALERTS).filter((message) => !message.threadTs).map(header)).toContain(':rotating_light: ServiceCrashLooping: evolution-oversight: firing');
}, 120_000);

it('raises no ServiceDown for a service held stopped through the Stack port, however many beats pass', async () => {
  await stack.stop('sandbox-controller');
  expect((await stack.list()).find((service) => service.name === 'sandbox-controller')!.replicas[0]).toMatchObject({ state: 'exited', held: true });
  const started = Date.now();
  let beats = 0;
  // Past ServiceDown's 5 s `for` by several samples.
  while (beats < 4 || Date.now() - started < 8000) {
    await beatOnce();
    beats += 1;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  expect(await ofRule('ServiceDown', 'sandbox-controller')).toEqual([]);
  await stack.start('sandbox-controller');
  await beatOnce();
  expect(await ofRule('ServiceDown', 'sandbox-controller')).toEqual([]);
  expect(await ofRule('ServiceRestarted', 'sandbox-controller')).toEqual([]);
}, 90_000);
