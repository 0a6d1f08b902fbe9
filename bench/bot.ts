/**
 * `npm run bench:bot`: signed `/acgs help` and `/acgs health` slash commands fired at the bot's
 * HTTP receiver, side by side in one run with a bare Bolt app that only acks (the floor).
 *
 *   bare Bolt      HTTPReceiver + `app.command('/acgs', ({ ack }) => ack())`, on a plain node server
 *   bot help       the real bot as `npm start` builds it from the environment (createSlackBot: our
 *                  server, de-duplication, metrics, listeners, rendering, respond)
 *   bot health     the same bot running `health` after each ack, against the four real services
 *                  (real PostgreSQL and Redis, no container runtime)
 *
 * Every server runs in its own process, as deployed: the four services, the bare app, the bot and
 * Slack's end of the response_urls. The work a bot does after its ack costs its own acks and
 * nothing else; the parent process only sends requests, times the acks and plays Slack's Web API
 * (auth.test, at start).
 *
 * 1. Fixed rate: BENCH_RATE requests/s per target, open loop, in BENCH_ROUNDS rounds of
 *    BENCH_SECONDS per target taking turns; ack latency measured at the client (request sent ->
 *    response received), so it includes what the bot's post-ack work costs the event loop.
 * 2. Throughput: BENCH_CONCURRENCY senders per target for BENCH_SECONDS, each waiting for the
 *    ack (bare) or for the reply through the response_url (bot).
 * 3. The full `health` reply one at a time: all services up, then with one service hanging
 *    (its reply should come at the per-check timeout plus at most 100 ms).
 *
 * Slack's Web API is the stand-in (auth.test only); response_urls point at a sink in its own process.
 * BENCH_CPU_PROF=<dir> has the bot processes write V8 CPU profiles (with BENCH_CONCURRENCY=0 and
 * BENCH_REPLY_SAMPLES=0 the profile holds the fixed-rate phase only).
 * BENCH_RATE must stay below what the stack's health endpoints sustain (the `max commands/s` of
 * `bot /acgs health`), or the fixed-rate figures measure a queue. Needs PostgreSQL and Redis
 * (scripts/provision.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { build, type Histogram } from 'hdr-histogram-js';
import pidusage from 'pidusage';
import { pino } from 'pino';
import { createSlackBot } from '../bot/slack/app.js';
import { parseSlackSettings } from '../bot/slack/settings.js';
import { signedHeaders, startSlackStandIn } from '../bot/slack/stand-in/index.js';
import { createCommandRegistry } from '../commands/index.js';
import { commandDependenciesFromEnv } from '../bot/command-path/index.js';
import { SERVICE_NAMES, type ServiceName } from '../services/kit/service-ports.js';
import { createTestDatabase } from '../test/testing/postgres.js';
import { requireRedis } from '../test/testing/redis.js';
import { unusedLoopbackPort } from '../test/testing/loopback.js';
import { startHungServer } from '../test/testing/stack.js';

// 800 acks per target at the fixed rate (p99 is then the 8th-worst, not the 4th), in about 2.5 minutes.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const REPLY_SAMPLES = Number(process.env.BENCH_REPLY_SAMPLES ?? 40);
const HUNG_SAMPLES = Number(process.env.BENCH_HUNG_SAMPLES ?? 5);
const CHECK_TIMEOUT_MS = 2000;

const BOT_TOKEN = 'xoxb-1000-2000-bench';
const SIGNING_SECRET = 'benchbenchbench0123456789abcdef0';

const histogram = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

/**
 * Slack's side of the response_url, in its own process as Slack is: it answers each reply and
 * tells this process when it arrived (monotonic clock, shared by every process of the machine).
 * Were it in this process, reading a reply could delay reading the next ack, which this process
 * times: the bot's replies would count against its own acks.
 */
class ReplySink {
  private readonly waiting = new Map<string, (atNs: bigint) => void>();
  private child: ChildProcess | undefined;
  url = '';

  async listen(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bot.ts', '--sink'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    const [first] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the reply sink exited with code ${code} during start-up`);
      }),
    ])) as [{ url: string }];
    this.url = first.url;
    child.on('message', (message: { id: string; atNs: string }) => {
      const resolve = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      resolve?.(BigInt(message.atNs));
    });
  }

  /** Resolves with the arrival time of the reply to `id` (process.hrtime.bigint() of the sink). */
  expect(id: string): Promise<bigint> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  async close(): Promise<void> {
    if (this.child) await stopChild(this.child);
  }
}

/** Child mode of the sink: answer every reply, report its id and arrival time to the parent. */
async function serveSink(): Promise<void> {
  const server = http.createServer((request, response) => {
    const id = (request.url ?? '').split('/').pop() ?? '';
    request.resume();
    request.on('end', () => {
      const atNs = process.hrtime.bigint();
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      process.send?.({ id, atNs: String(atNs) });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  exitWithParent(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/**
 * A child stops on SIGTERM, and also when its parent is gone without telling it (a bench killed
 * with SIGKILL, a crash): the IPC channel then closes ('disconnect'). Without that, a killed bench
 * left its children serving on their ports.
 */
function exitWithParent(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

interface Target {
  name: string;
  eventsUrl: string;
  text: string;
  /** Whether a reply arrives at the response_url (the bare app only acks). */
  replies: boolean;
  fixedAck: Histogram;
  maxAck: Histogram;
  completed: number;
  maxSeconds: number;
  errors: number;
  /** The serving process, whose CPU time per command the throughput phase reports. */
  pid: number;
  cpuMs: number;
}

let sequence = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One signed slash command; resolves with the ack time and, when asked, the reply time (ms). */
async function slash(target: Target, sink: ReplySink, waitForReply: boolean): Promise<{ ackMs: number; replyMs?: number }> {
  const id = `r${(sequence += 1)}`;
  const body = new URLSearchParams({
    token: 'bench',
    team_id: 'T0BENCH',
    team_domain: 'bench',
    channel_id: 'C0ACGSOPS01',
    channel_name: 'acgs-ops',
    user_id: 'U0ONCALL',
    user_name: 'oncall',
    command: '/acgs',
    text: target.text,
    api_app_id: 'A0BENCH',
    is_enterprise_install: 'false',
    response_url: `${sink.url}/response/${id}`,
    trigger_id: `${Date.now()}.bench.${id}`,
  }).toString();
  const reply = target.replies ? sink.expect(id) : undefined;
  const startedNs = process.hrtime.bigint();
  const started = performance.now();
  const url = new URL(target.eventsUrl);
  const status = await new Promise<number>((resolve, reject) => {
    const request = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signedHeaders(SIGNING_SECRET, body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
  const ackMs = performance.now() - started;
  if (status !== 200) throw new Error(`${target.name}: HTTP ${status}`);
  if (!waitForReply || !reply) return { ackMs };
  return { ackMs, replyMs: Number((await reply) - startedNs) / 1e6 };
}

async function fixedRateSlice(target: Target, sink: ReplySink): Promise<void> {
  const interval = 1000 / RATE;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < RATE * SECONDS; n += 1) {
    const due = start + n * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      slash(target, sink, target.replies).then(
        ({ ackMs }) => void target.fixedAck.recordValue(Math.max(1, Math.round(ackMs * 1000))),
        () => void (target.errors += 1),
      ),
    );
  }
  // Replies still on their way finish here, so they do not load the next target's slice.
  await Promise.all(pending);
}

async function throughput(target: Target, sink: ReplySink): Promise<void> {
  const cpuBefore = (await pidusage(target.pid)).ctime;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        try {
          const { ackMs } = await slash(target, sink, true);
          target.maxAck.recordValue(Math.max(1, Math.round(ackMs * 1000)));
          target.completed += 1;
        } catch {
          target.errors += 1;
        }
      }
    }),
  );
  target.maxSeconds += SECONDS;
  target.cpuMs += (await pidusage(target.pid)).ctime - cpuBefore;
}

async function replyTimes(target: Target, sink: ReplySink, samples: number): Promise<Histogram> {
  const replies = histogram();
  for (let n = 0; n < samples; n += 1) {
    const { replyMs } = await slash(target, sink, true);
    replies.recordValue(Math.max(1, Math.round(replyMs! * 1000)));
  }
  return replies;
}

interface ServiceProcesses {
  endpoints: Record<ServiceName, string>;
  /** What the bot needs to reach the same stack (service URLs, PostgreSQL, Redis, admin token). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The four services, each in its own process on a free port, on fresh databases of the real PostgreSQL. */
async function startServiceProcesses(): Promise<ServiceProcesses> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    while (closers.length > 0) await closers.pop()!().catch(() => undefined);
  };
  try {
    const redis = await requireRedis();
    closers.push(() => redis.cleanup());
    const auditDb = await createTestDatabase('acgs_bench_bot_audit');
    closers.push(() => auditDb.drop());
    const evolutionDb = await createTestDatabase('acgs_bench_bot_evolution');
    closers.push(() => evolutionDb.drop());
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-bench-bot-'));
    closers.push(async () => rmSync(stateDir, { recursive: true, force: true }));
    const adminToken = randomBytes(16).toString('hex');
    const serviceToken = randomBytes(16).toString('hex');
    const ports = Object.fromEntries(await Promise.all(SERVICE_NAMES.map(async (name) => [name, await unusedLoopbackPort()] as const))) as Record<ServiceName, number>;
    const endpoints = Object.fromEntries(SERVICE_NAMES.map((name) => [name, `http://127.0.0.1:${ports[name]}`])) as Record<ServiceName, string>;
    const common = { HOST: '127.0.0.1', LOG_LEVEL: 'error', NODE_ENV: 'production', ACGS_ADMIN_TOKEN: adminToken, ACGS_SERVICE_TOKEN: serviceToken, POLICY_ENGINE_URL: endpoints['policy-engine'], AUDIT_ENGINE_URL: endpoints['audit-engine'] };
    const envs: Record<ServiceName, Record<string, string>> = {
      'policy-engine': { ...common, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, POLICY_WATCH: 'false', ACGS_STATE_DIR: join(stateDir, 'policy-engine') },
      'audit-engine': { ...common, DATABASE_URL: auditDb.url, DATABASE_POOL_MAX: '4', AUDIT_VERIFY_INTERVAL_MS: '0' },
      'evolution-oversight': { ...common, DATABASE_URL: evolutionDb.url, DATABASE_POOL_MAX: '4', ACGS_STATE_DIR: join(stateDir, 'evolution-oversight') },
      // No container engine: its health answers at once that it cannot run code.
      'sandbox-controller': { ...common, DOCKER_HOST: `tcp://127.0.0.1:${await unusedLoopbackPort()}`, ACGS_STATE_DIR: join(stateDir, 'sandbox-controller') },
    };
    for (const name of SERVICE_NAMES) {
      const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/main.ts`], { env: { ...process.env, ...envs[name], PORT: String(ports[name]) }, stdio: ['ignore', 'ignore', 'inherit'] });
      closers.push(() => stopChild(child));
    }
    for (const name of SERVICE_NAMES) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const answered = await fetch(`${endpoints[name]}/health`, { signal: AbortSignal.timeout(5000) }).then(
          () => true,
          () => false,
        );
        if (answered) break;
        if (Date.now() > deadline) throw new Error(`${name} did not answer /health within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const env = {
      POLICY_ENGINE_URL: endpoints['policy-engine'],
      AUDIT_ENGINE_URL: endpoints['audit-engine'],
      EVOLUTION_OVERSIGHT_URL: endpoints['evolution-oversight'],
      SANDBOX_CONTROLLER_URL: endpoints['sandbox-controller'],
      DATABASE_URL: auditDb.url,
      REDIS_URL: redis.url,
      ACGS_ADMIN_TOKEN: adminToken,
      ACGS_SERVICE_TOKEN: serviceToken,
    };
    return { endpoints, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The floor: Bolt's HTTPReceiver with a listener that only acks, on a plain node server. */
async function serveBareBolt(): Promise<{ port: number; close(): Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, logLevel: LogLevel.ERROR });
  const app = new App({ receiver, authorize: async () => ({ botToken: BOT_TOKEN, botId: 'B0BENCH', botUserId: 'U0BENCHBOT' }), logLevel: LogLevel.ERROR });
  app.command('/acgs', async ({ ack }) => {
    await ack();
  });
  const server = http.createServer(receiver.requestListener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The bot as production builds it: settings and stack from the environment. */
async function serveBot(): Promise<{ port: number; close(): Promise<void> }> {
  const stack = commandDependenciesFromEnv();
  const bot = createSlackBot({ settings: parseSlackSettings(), registry: createCommandRegistry(), services: stack.services, logger: pino({ level: 'error' }) });
  const { port } = await bot.start();
  return {
    port,
    close: async () => {
      await bot.stop();
      await stack.close();
    },
  };
}

/** Child mode: serve, print the port as one JSON line, stop on SIGTERM or when the parent is gone. */
async function serve(kind: string): Promise<void> {
  const target = kind === 'bare' ? await serveBareBolt() : await serveBot();
  process.stdout.write(`${JSON.stringify({ port: target.port })}\n`);
  exitWithParent(() => target.close());
}

async function spawnTarget(kind: 'bare' | 'bot', env: Record<string, string>): Promise<{ eventsUrl: string; child: ChildProcess }> {
  // BENCH_CPU_PROF=<dir>: the bot processes write V8 CPU profiles there (sampled every 100 µs) on exit.
  const profile = kind === 'bot' && process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, '--cpu-prof-interval=100'] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/bot.ts', '--serve', kind], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    // The IPC channel carries nothing: it only closes when this process dies, which stops the child.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the ${kind} target exited with code ${code} during start-up`);
    }),
  ]);
  const { port } = JSON.parse(first) as { port: number };
  return { eventsUrl: `http://127.0.0.1:${port}/slack/events`, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

const ms = (h: Histogram, p: number) => (h.totalCount === 0 ? 'n/a' : (h.getValueAtPercentile(p) / 1000).toFixed(2));

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const stops: Array<() => Promise<unknown>> = [];
  try {
    console.log('starting the four services (real PostgreSQL and Redis), the Slack stand-in, the bare Bolt app and the bot, each in its own process ...');
    const stack = await startServiceProcesses();
    stops.push(() => stack.close());
    const hung = await startHungServer();
    stops.push(() => hung.close());
    const standIn = await startSlackStandIn({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, console: false });
    stops.push(() => standIn.close());
    const sink = new ReplySink();
    await sink.listen();
    stops.push(() => sink.close());
    const botEnv = (overrides: Record<string, string> = {}) => ({
      ...stack.env,
      ...overrides,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: standIn.apiUrl,
      PORT: '0',
      ACGS_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
    });
    const bare = await spawnTarget('bare', {});
    stops.push(() => stopChild(bare.child));
    const bot = await spawnTarget('bot', botEnv());
    stops.push(() => stopChild(bot.child));
    const hungBot = await spawnTarget('bot', botEnv({ SANDBOX_CONTROLLER_URL: hung.url }));
    stops.push(() => stopChild(hungBot.child));

    const target = (name: string, served: { eventsUrl: string; child: ChildProcess }, text: string, replies: boolean): Target => ({
      name,
      eventsUrl: served.eventsUrl,
      pid: served.child.pid!,
      cpuMs: 0,
      text,
      replies,
      fixedAck: histogram(),
      maxAck: histogram(),
      completed: 0,
      maxSeconds: 0,
      errors: 0,
    });
    const targets = [target('bare Bolt (ack only)', bare, 'help', false), target('bot /acgs help', bot, 'help', true), target('bot /acgs health', bot, 'health', true)];

    console.log('warming up ...');
    for (const t of targets) for (let n = 0; n < 50; n += 1) await slash(t, sink, t.replies);

    console.log(`fixed rate: ${RATE} req/s, ${ROUNDS} rounds of ${SECONDS} s per target ...`);
    for (let round = 0; round < ROUNDS; round += 1) for (const t of targets) await fixedRateSlice(t, sink);

    console.log(`throughput: ${CONCURRENCY} senders for ${SECONDS} s per target ...`);
    for (const t of targets) await throughput(t, sink);

    console.log(`health replies one at a time: ${REPLY_SAMPLES} with all services up, ${HUNG_SAMPLES} with the sandbox controller hanging ...`);
    const healthReplies = await replyTimes(targets[2]!, sink, REPLY_SAMPLES);
    const hungReplies = await replyTimes(target('bot /acgs health, one service hung', hungBot, 'health', true), sink, HUNG_SAMPLES);

    const floor = targets[0]!.fixedAck.getValueAtPercentile(99);
    console.log('');
    printTable(
      ['target', `ack p50 ms @${RATE}/s`, `ack p99 ms @${RATE}/s`, 'p99 / bare', 'max commands/s', `ack p99 ms @max`, 'CPU ms / command', 'errors'],
      targets.map((t) => [
        t.name,
        ms(t.fixedAck, 50),
        ms(t.fixedAck, 99),
        (t.fixedAck.getValueAtPercentile(99) / floor).toFixed(2),
        t.maxSeconds === 0 ? 'n/a' : Math.round(t.completed / t.maxSeconds).toLocaleString('en-US'),
        ms(t.maxAck, 99),
        t.completed === 0 ? 'n/a' : (t.cpuMs / t.completed).toFixed(2),
        String(t.errors),
      ]),
    );
    console.log('');
    printTable(
      ['full health reply', 'p50 ms', 'p99 ms', 'max ms', 'goal'],
      [
        ['all services up', ms(healthReplies, 50), ms(healthReplies, 99), ms(healthReplies, 100), '< 150 ms'],
        [`sandbox controller hung (check timeout ${CHECK_TIMEOUT_MS} ms)`, ms(hungReplies, 50), ms(hungReplies, 99), ms(hungReplies, 100), `< ${CHECK_TIMEOUT_MS + 100} ms`],
      ],
    );
    const ratio = Math.max(targets[1]!.fixedAck.getValueAtPercentile(99), targets[2]!.fixedAck.getValueAtPercentile(99)) / floor;
    console.log('');
    console.log(`ack p99 at most 1.2 x the bare app's: ${ratio <= 1.2 ? 'met' : 'missed'} (${ratio.toFixed(2)} x)`);
    console.log(`health reply p99 under 150 ms: ${healthReplies.getValueAtPercentile(99) / 1000 < 150 ? 'met' : 'missed'}`);
    console.log(`hung-service reply within the check timeout + 100 ms: ${hungReplies.getValueAtPercentile(100) / 1000 <= CHECK_TIMEOUT_MS + 100 ? 'met' : 'missed'}`);
    console.log(`load average ${loadAtStart.toFixed(2)} before the start, ${loadavg()[0]!.toFixed(2)} at the end`);
  } finally {
    while (stops.length > 0) await stops.pop()!().catch(() => undefined);
    agent.destroy();
  }
}

const serveIndex = process.argv.indexOf('--serve');
(serveIndex >= 0 ? serve(process.argv[serveIndex + 1] ?? 'bot') : process.argv.includes('--sink') ? serveSink() : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
