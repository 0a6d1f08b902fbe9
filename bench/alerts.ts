/**
 * `npm run bench:alerts` (issue 14, "Performance"): alerts from both sources into Slack, on real
 * components: the four services as `npm start` runs them (the local supervisor, spare loopback
 * ports, embedded state), the alert store and the alert messages' tables on a fresh database of
 * the real PostgreSQL, the bot's alert publisher (bot/slack/alert-messages.ts, through the channel
 * write queue) talking to the Slack stand-in over HTTP, and Alertmanager's webhook on the bot's
 * HTTP server (createBotHttpServer), all wired as bot/main.ts wires them.
 *
 * 1. Service down -> alert message posted, with the built-in monitor (2 s beat from start to start,
 *    ServiceDown's 5 s `for`, its 3 s health deadline), timed from the moment the process goes
 *    down to the stand-in receiving the alert's chat.postMessage; and -> healthy again by Level 1
 *    (bot/alerts/level-one-wiring.ts as bot/main.ts starts it: `restart <service>` through the
 *    command path with the real authorization policy and the bot's trail, the default guard
 *    rails), timed to its note, which it writes once the service answered its health check.
 *    Round-robin over three services (not the Policy Engine, which Level 1 asks about lockdown),
 *    each round a new alert (the alert tables emptied between rounds, so no guard rail counts an
 *    earlier round), the next round once the alert has resolved:
 *    - killed (BENCH_KILLS rounds, 6): SIGKILL, and the supervisor held so that it stays down
 *      (left alone it starts the service again within about a second, before the rule's `for`
 *      ends, and no alert is due), as a crash loop or a container without a restart policy;
 *      released by the bench once the message is posted: Level 1 is not on in these rounds, as
 *      the local stack refuses to restart a held service (a restore holds them);
 *    - frozen (BENCH_FREEZES rounds, 3), with Level 1 on: SIGSTOP, a process that hangs without
 *      exiting (what the supervisor cannot see, as test/alerts/level-one-local-stack.test.ts
 *      does): each health check waits its deadline; the restart continues it after SIGTERM.
 *    Goals: posted p99 <= 10 s, healthy again p99 <= 30 s.
 * 2. 1,000 Alertmanager alerts firing within one minute (Level 1 stopped first, so that it does
 *    not restart services for them under the figures), sent as Alertmanager sends them
 *    (prometheus/alertmanager.yml: grouped by alertname, service, instance; a group's first
 *    notification 5 s after its first alert, then every 30 s while it grew, each one carrying the
 *    whole group, so alerts already delivered are repeated; 3 % of notifications delivered twice,
 *    at least once being Alertmanager's promise): every POST timed at the sender (v4 payload,
 *    bearer token), open loop. Goal p99 under 50 ms. Then the Slack calls the publisher made for
 *    them, per method, and the peak per channel in any 60 s and any 1 s, against Slack's
 *    documented limits (chat.postMessage about 1 per second per channel with short bursts,
 *    chat.update Tier 3, about 50 per minute); the storm summary should keep them there.
 *
 * BENCH_KILLS, BENCH_FREEZES, BENCH_WEBHOOK_ALERTS (1000) and BENCH_SKIP=down,webhook change the
 * run; with the defaults it takes about 4 minutes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, cpus, totalmem } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { createAlertmanagerWebhook, ALERTMANAGER_WEBHOOK_PATH } from '../bot/alerts/alertmanager-webhook.js';
import { startAlertMonitor, type AlertMonitor } from '../bot/alerts/alert-monitor.js';
import { ALERT_RULES } from '../bot/alerts/alert-rules.js';
import { readAlertContext } from '../bot/alerts/alert-context.js';
import { createAlertStore, migrateAlertStore, type AlertChange } from '../bot/alerts/alert-store.js';
import { createAlertMessages, DEFAULT_STORM_THRESHOLD } from '../bot/slack/alert-messages.js';
import { createAlertMessageStore, migrateAlertMessageStore } from '../bot/slack/alert-message-store.js';
import { channelWriteQueue } from '../bot/slack/channel-write-queue.js';
import { createBotHttpServer } from '../bot/slack/http-server.js';
import { startSlackStandIn, type ApiCall } from '../bot/slack/stand-in/index.js';
import { startLevelOne, withLevelOneActor } from '../bot/alerts/level-one-wiring.js';
import { defaultAuthorizationData } from '../bot/authorization/data.js';
import { createCommandPathDependencies, stackModesOf } from '../bot/command-path/index.js';
import { createCommandRegistry } from '../commands/index.js';
import { createPool } from '../services/kit/postgres.js';
import type { ServiceName } from '../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../services/stack/local/local-services.js';
import { createLocalStack } from '../services/stack/local/local-stack.js';
import { unusedLoopbackPort } from '../test/testing/loopback.js';
import { openTestTrail, testGate } from '../test/testing/command-access.js';
import { BOT_TOKEN } from '../test/testing/slack-harness.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 6);
const FREEZES = Number(process.env.BENCH_FREEZES ?? 3);
const WEBHOOK_ALERTS = Number(process.env.BENCH_WEBHOOK_ALERTS ?? 1000);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];
/** The services taken down: Level 1 reads lockdown from the Policy Engine before acting. */
const VICTIMS: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine'];
const ALERTS_CHANNEL = 'C0ACGSALERT';
const TOKEN = 'bench-alerts-token-0123456789abcdef0123';
const DOWN_GOAL_MS = 10_000;
const HEALTHY_GOAL_MS = 30_000;
const WEBHOOK_P99_GOAL_MS = 50;
/** prometheus/alertmanager.yml's route. */
const GROUP_WAIT_MS = 5_000;
const GROUP_INTERVAL_MS = 30_000;
const FIRING_WINDOW_MS = 60_000;
const GROUP_SIZE = 10;
const REDELIVERED_SHARE = 0.03;
const ROUND_TIMEOUT_MS = 60_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const ms = (value: number) => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

/** The first value `check` gives; the stand-in and the store are in this process, so looking every 50 ms costs nothing. */
async function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The most calls inside any window of `windowMs` (sliding, by the stand-in's arrival time). */
function peakIn(times: readonly number[], windowMs: number): number {
  let peak = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

interface Notification {
  at: number;
  body: unknown;
}

/** Alertmanager's deliveries of WEBHOOK_ALERTS alerts firing at random times within a minute. */
function alertmanagerSchedule(count: number): Notification[] {
  const rules = Object.keys(ALERT_RULES);
  const groups = Math.ceil(count / GROUP_SIZE);
  const members: Array<Array<{ firesAt: number; alert: Record<string, unknown> }>> = Array.from({ length: groups }, () => []);
  for (let index = 0; index < count; index++) {
    const group = index % groups;
    const firesAt = Math.random() * FIRING_WINDOW_MS;
    const labels = {
      alertname: rules[group % rules.length]!,
      service: SERVICES[group % SERVICES.length]!,
      instance: `node-${group}.example:9100`,
      replica: String(Math.floor(index / groups)),
    };
    members[group]!.push({
      firesAt,
      alert: {
        status: 'firing',
        labels,
        annotations: { summary: ALERT_RULES[labels.alertname as keyof typeof ALERT_RULES].summary },
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph',
        fingerprint: index.toString(16).padStart(16, '0'),
      },
    });
  }
  const t0 = Date.now();
  const notifications: Notification[] = [];
  members.forEach((group) => {
    group.sort((a, b) => a.firesAt - b.firesAt);
    const [first] = group;
    if (!first) return;
    let sentUpTo = 0;
    for (let at = first.firesAt + GROUP_WAIT_MS; sentUpTo < group.length; at += GROUP_INTERVAL_MS) {
      const firing = group.filter((member) => member.firesAt <= at);
      if (firing.length === sentUpTo) continue;
      sentUpTo = firing.length;
      const labels = first.alert.labels as Record<string, string>;
      const body = {
        version: '4',
        receiver: 'acgs-bot',
        status: 'firing',
        groupKey: `{}:{alertname="${labels.alertname}", instance="${labels.instance}", service="${labels.service}"}`,
        truncatedAlerts: 0,
        groupLabels: { alertname: labels.alertname, service: labels.service, instance: labels.instance },
        commonLabels: { alertname: labels.alertname, service: labels.service, instance: labels.instance },
        commonAnnotations: {},
        externalURL: 'http://127.0.0.1:9093',
        alerts: firing.map((member) => ({ ...member.alert, startsAt: new Date(t0 + member.firesAt).toISOString() })),
      };
      notifications.push({ at, body });
      if (Math.random() < REDELIVERED_SHARE) notifications.push({ at: at + 1000, body });
    }
  });
  return notifications.sort((a, b) => a.at - b.at);
}

async function main(): Promise<void> {
  console.log(`bench:alerts on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}; load average ${load()}`);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const frozen = new Set<number>();
  try {
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-bench-alerts-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const ports = {} as Record<ServiceName, number>;
    for (const service of SERVICES) ports[service] = await unusedLoopbackPort();
    const services: LocalServices = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
    cleanups.push(() => services.stop());
    cleanups.push(() => services.processes.forEach((child) => child.release()));
    cleanups.push(() => {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone already: Level 1 restarted it.
        }
      }
    });
    for (const child of services.processes) {
      if (!(await child.waitUntilHealthy(60_000))) throw new Error(`${child.name} did not become healthy`);
    }
    const stack = createLocalStack({ processes: services.processes, stateDir });
    cleanups.push(() => stack.close());

    // The trail, the alerts, their messages and Level 1's claims in one database, as the bot keeps them.
    const opened = await openTestTrail({ prefix: 'acgs_bench_alerts' });
    cleanups.push(() => opened.close());
    const pool: pg.Pool = createPool({ databaseUrl: opened.db.url, max: 4, applicationName: 'acgs-bench-alerts' });
    cleanups.push(() => pool.end());
    await migrateAlertStore(pool);
    await migrateAlertMessageStore(pool);
    const alerts = createAlertStore({ pool });

    const standIn = await startSlackStandIn({ botToken: BOT_TOKEN, maxRecordedCalls: 100_000, maxMessagesPerChannel: 10_000 });
    cleanups.push(() => standIn.close());
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl });
    const publisherErrors: string[] = [];
    const shown = createAlertMessages({
      queue: channelWriteQueue(client),
      alerts,
      messages: createAlertMessageStore({ pool }),
      channel: ALERTS_CHANNEL,
      context: (alert) => readAlertContext(alert, { stack }),
      log: (message, error) => publisherErrors.push(`${message}${error ? ` (${(error as Error).message})` : ''}`),
    });
    const changes: Array<{ change: AlertChange; at: number }> = [];
    alerts.onChange((change) => {
      changes.push({ change, at: Date.now() });
      shown.changed(change);
    });
    const levelOneRules = defaultAuthorizationData().level_one;
    const pathServices = createCommandPathDependencies({ endpoints: services.endpoints, stack, checkTimeoutMs: 2000 });
    const gate = await testGate({ roles: withLevelOneActor({}, levelOneRules), modes: stackModesOf(pathServices) });
    const deps = { ...pathServices, authorization: gate, trail: opened.trail };
    const levelOneLog: string[] = [];
    // Level 1 only for the frozen rounds: the local stack refuses to restart a held service.
    const startLevelOneNow = () => startLevelOne({
      execution: { registry: createCommandRegistry(), services: deps, logError: (reference, error) => levelOneLog.push(`${reference}: ${(error as Error).message}`) },
      alerts,
      pool,
      rules: levelOneRules,
      modes: stackModesOf(deps),
      holder: 'bench-alerts',
      log: (message, error) => levelOneLog.push(error ? `${message}: ${(error as Error).message}` : message),
    });
    let levelOne: ReturnType<typeof startLevelOne> | undefined;
    cleanups.push(() => levelOne?.stop());
    const monitorErrors: unknown[] = [];
    const monitor: AlertMonitor = await startAlertMonitor({ services: deps, alerts, onError: (error) => monitorErrors.push(error) });
    cleanups.push(() => monitor.stop());
    const emptyAlerts = async () => {
      await shown.idle();
      await pool.query('TRUNCATE bot_slack_alert_messages, bot_slack_alert_storms, alert_level_one_actions, alert_events, alert_reports, alerts, alert_silences CASCADE');
      changes.length = 0;
    };
    const topLevelPosts = (since: number) =>
      standIn.calls('chat.postMessage').filter((call) => call.at >= since && call.ok && call.args.channel === ALERTS_CHANNEL && !call.args.thread_ts);

    /** One round: the service goes down, its alert is posted, it comes back, the alert resolves. */
    const downRound = async (service: ServiceName, how: 'killed' | 'frozen') => {
      const child = services.processes.find((candidate) => candidate.name === service)!;
      const pid = child.pid();
      if (pid === undefined) throw new Error(`${service} has no process`);
      const fingerprint = `monitor/ServiceDown/service=${service}`;
      const downAt = Date.now();
      if (how === 'killed') {
        process.kill(pid, 'SIGKILL');
        // Held in the same turn, before the exit is seen: the supervisor leaves it down (as a crash loop or a container without a restart policy would be).
        await child.hold();
      } else {
        process.kill(pid, 'SIGSTOP');
        frozen.add(pid);
      }
      const posted = await until(() => topLevelPosts(downAt)[0], ROUND_TIMEOUT_MS, `the alert message of ${service}`);
      const stored = changes.find((entry) => entry.change.alert.fingerprint === fingerprint && entry.change.event.kind === 'fired');
      if (how === 'killed') {
        child.release();
        await until(() => changes.find((entry) => entry.change.alert.fingerprint === fingerprint && entry.change.event.kind === 'resolved'), ROUND_TIMEOUT_MS, `${service}'s alert to resolve`);
        await emptyAlerts();
        return { stored: stored ? stored.at - downAt : Number.NaN, posted: posted.at - downAt, healthy: Number.NaN, restart: Number.NaN };
      }
      // Level 1 restarts it; its note is written once the service answered its health check.
      const acted = await until(
        () => changes.find((entry) => entry.change.alert.fingerprint === fingerprint && entry.change.event.kind === 'auto-action'),
        ROUND_TIMEOUT_MS,
        `Level 1 to act on ${service} (log: ${levelOneLog.join(' | ')})`,
      );
      frozen.delete(pid);
      const details = acted.change.event.details ?? {};
      if (details.outcome !== 'succeeded') throw new Error(`Level 1 did not bring ${service} back: ${JSON.stringify(details)}`);
      await until(() => changes.find((entry) => entry.change.alert.fingerprint === fingerprint && entry.change.event.kind === 'resolved'), ROUND_TIMEOUT_MS, `${service}'s alert to resolve`);
      await emptyAlerts();
      return { stored: stored ? stored.at - downAt : Number.NaN, posted: posted.at - downAt, healthy: acted.at - downAt, restart: Number(details.duration_ms) };
    };

    if (!SKIP.has('down')) {
      console.log(`\n1. service down -> alert message posted (built-in monitor), and healthy again by Level 1 (goals: p99 <= ${DOWN_GOAL_MS / 1000} s, <= ${HEALTHY_GOAL_MS / 1000} s)`);
      const rows: string[] = [];
      for (const [how, rounds] of [['killed', KILLS], ['frozen', FREEZES]] as const) {
        if (how === 'frozen') levelOne = startLevelOneNow();
        const toPost: number[] = [];
        const toStore: number[] = [];
        const toHealthy: number[] = [];
        const restarts: number[] = [];
        for (let round = 0; round < rounds; round++) {
          const service = VICTIMS[round % VICTIMS.length]!;
          const figure = await downRound(service, how);
          toPost.push(figure.posted);
          toStore.push(figure.stored);
          toHealthy.push(figure.healthy);
          restarts.push(figure.restart);
          const levelOneFigures = how === 'frozen' ? `, healthy again (Level 1) after ${ms(figure.healthy)}, its restart and check ${ms(figure.restart)}` : '';
          console.log(`  ${how} ${round + 1}/${rounds} ${service}: stored after ${ms(figure.stored)}, posted after ${ms(figure.posted)}${levelOneFigures}`);
        }
        const posted = [...toPost].sort((a, b) => a - b);
        const stored = [...toStore].sort((a, b) => a - b);
        const healthy = [...toHealthy].sort((a, b) => a - b);
        const restart = [...restarts].sort((a, b) => a - b);
        const p99 = percentile(posted, 99);
        const healthyP99 = percentile(healthy, 99);
        const levelOneColumns = how === 'frozen' ? `${ms(percentile(restart, 50))} / ${ms(percentile(restart, 99))} | ${ms(percentile(healthy, 50))} / ${ms(healthyP99)} ${healthyP99 <= HEALTHY_GOAL_MS ? '(met)' : '(MISSED)'}` : 'released by hand | n/a';
        rows.push(`  | ${how} | ${rounds} | ${ms(percentile(stored, 50))} / ${ms(percentile(stored, 99))} | ${ms(percentile(posted, 50))} / ${ms(p99)} ${p99 <= DOWN_GOAL_MS ? '(met)' : '(MISSED)'} | ${levelOneColumns} |`);
      }
      console.log(`\n  | down how | rounds | -> stored p50 / p99 | -> posted p50 / p99 (goal <= 10 s) | Level 1 restart + check p50 / p99 | -> healthy again p50 / p99 (goal <= 30 s) |\n  |---|---|---|---|---|---|\n${rows.join('\n')}`);
      console.log(`  load average ${load()}`);
    }

    // Level 1 would act on the storm's ServiceDown, LowCacheHitRate and SandboxFailures alerts (three
    // actions per service an hour) and restart real services under the webhook's figures.
    await levelOne?.stop();
    levelOne = undefined;

    if (!SKIP.has('webhook')) {
      const server: Server = createBotHttpServer({
        health: () => ({ statusCode: 200, body: { status: 'ok' } }),
        metrics: new Registry(),
        alertmanagerWebhook: createAlertmanagerWebhook({ token: TOKEN, intake: alerts }),
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${ALERTMANAGER_WEBHOOK_PATH}`;
      const agent = new Agent({ connections: 64 });
      cleanups.push(() => agent.close());

      const schedule = alertmanagerSchedule(WEBHOOK_ALERTS);
      const carried = schedule.reduce((sum, notification) => sum + (notification.body as { alerts: unknown[] }).alerts.length, 0);
      console.log(`\n2. ${WEBHOOK_ALERTS} Alertmanager alerts firing within ${FIRING_WINDOW_MS / 1000} s: ${schedule.length} notifications carrying ${carried} alerts (repeats included), over ${((schedule.at(-1)?.at ?? 0) / 1000).toFixed(1)} s; load average ${load()}`);
      const started = Date.now();
      const latencies: number[] = [];
      const statuses = new Map<number, number>();
      await Promise.all(
        schedule.map(async (notification) => {
          const wait = started + notification.at - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const body = JSON.stringify(notification.body);
          const sentAt = performance.now();
          const answer = await request(url, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
          await answer.body.dump();
          latencies.push(performance.now() - sentAt);
          statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
        }),
      );
      const sentFor = Date.now() - started;
      await shown.idle();
      const settled = Date.now();
      const sorted = [...latencies].sort((a, b) => a - b);
      const p99 = percentile(sorted, 99);
      console.log(`  webhook answers: ${[...statuses].map(([status, count]) => `${count} x ${status}`).join(', ')}`);
      console.log(`  webhook latency: p50 ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, p99 ${ms(p99)}, max ${ms(sorted.at(-1) ?? Number.NaN)} (goal p99 < ${WEBHOOK_P99_GOAL_MS} ms: ${p99 < WEBHOOK_P99_GOAL_MS ? 'met' : 'MISSED'})`);
      const stored = await pool.query<{ alerts: string; storms: string; in_storm: string; own: string }>(
        `SELECT (SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM bot_slack_alert_storms) AS storms,
                (SELECT count(*) FROM bot_slack_alert_messages WHERE storm_id IS NOT NULL) AS in_storm,
                (SELECT count(*) FROM bot_slack_alert_messages WHERE storm_id IS NULL) AS own`,
      );
      const row = stored.rows[0]!;
      console.log(`  stored: ${row.alerts} alerts; ${row.own} with a message of their own, ${row.in_storm} in ${row.storms} storm summar${row.storms === '1' ? 'y' : 'ies'} (threshold ${DEFAULT_STORM_THRESHOLD} a minute); sent over ${(sentFor / 1000).toFixed(1)} s, Slack caught up ${((settled - started - sentFor) / 1000).toFixed(1)} s after the last answer`);
      const calls = standIn.calls().filter((call: ApiCall) => call.at >= started);
      const byMethod = new Map<string, ApiCall[]>();
      for (const call of calls) byMethod.set(call.method, [...(byMethod.get(call.method) ?? []), call]);
      const limits: Record<string, string> = { 'chat.postMessage': 'about 1 per second per channel, short bursts allowed (~60 a minute)', 'chat.update': 'Tier 3, about 50 a minute' };
      console.log('  | method | calls | failed (429) | peak per channel in 60 s | peak in 1 s | Slack\'s limit |');
      console.log('  |---|---|---|---|---|---|');
      for (const [method, list] of [...byMethod].sort()) {
        const channels = new Map<string, number[]>();
        for (const call of list) {
          const channel = String(call.args.channel ?? '-');
          channels.set(channel, [...(channels.get(channel) ?? []), call.at]);
        }
        const minute = Math.max(...[...channels.values()].map((times) => peakIn(times, 60_000)));
        const second = Math.max(...[...channels.values()].map((times) => peakIn(times, 1_000)));
        const failed = list.filter((call) => !call.ok);
        console.log(`  | ${method} | ${list.length} | ${failed.length} (${failed.filter((call) => call.status === 429).length}) | ${minute} | ${second} | ${limits[method] ?? 'Tier 3 or above'} |`);
      }
      console.log(`  top-level messages in the alerts channel: ${topLevelPosts(started).length}; load average ${load()}`);
    }
    if (publisherErrors.length > 0) console.log(`\npublisher logged ${publisherErrors.length} errors, first: ${publisherErrors[0]}`);
    const ownLines = levelOneLog.filter((line) => !line.startsWith('level 1: restart'));
    if (ownLines.length > 0) console.log(`\nLevel 1 logged: ${ownLines.slice(0, 5).join(' | ')}`);
    if (monitorErrors.length > 0) console.log(`\nmonitor reported ${monitorErrors.length} errors, first: ${(monitorErrors[0] as Error).message}`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`cleanup failed: ${(error as Error).message}`);
      }
    }
  }
}

await main();
