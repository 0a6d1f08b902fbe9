/**
 * `npm run bench:policy`: the Policy Engine's decision endpoint under load, beside
 * `opa run --server` serving the same Rego, in one run on this machine.
 *
 * 1. Fixed rate: 2,000 req/s for 10 s, open loop (requests leave on schedule whether or not
 *    earlier ones came back, and latency counts from the scheduled time, so a stall is not
 *    hidden), with a 95 % cache-hit mix: a hot set of 20 inputs and 5 % unique inputs.
 *    Server-side p50/p99 from the engine's own `GET /v1/metrics` (from each request's arrival
 *    to its response), client-side from here. The same fixed-rate run against an engine that
 *    always asks Redis first on an L1 miss (POLICY_L2_LOOKUP_MIN_EVAL_MS=0, the old behaviour)
 *    and one without Redis shows what waiting for the L2 round trip costs the misses.
 * 2. Maximum throughput: closed loop, a fixed number of connections for 8 s, same inputs.
 *
 * All targets get identical request bodies. Everything listens on 127.0.0.1 only; the engines
 * use the real Redis (REDIS_URL, default redis://127.0.0.1:6379) under a throw-away key prefix.
 * The engines and OPA are child processes: this process is only the load generator (and reads
 * the metrics between runs), so it shares no event loop with them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Histogram, build } from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { CONSTITUTIONAL_HASH } from '../services/kit/constitution.js';
import { PolicyMetrics } from '../services/policy-engine/contract.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const POLICY_DIR = join(ROOT, 'services/policy-engine/policy');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const FIXED_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/**
 * Pause between the warm-up and the measured runs, long enough for the engines' 60 s latency
 * window (10 s slices) to drop the warm-up, so server-side percentiles describe the steady state.
 */
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 71);
const UNIQUE_SHARE = 0.05;
const DECISION_PATH = '/v1/data/acgs/main/decision';

// ---------------------------------------------------------------------------------------------
// Inputs

const trusted = { id: 'bench-agent', trust_level: 0.95 };
const guarded = { sandbox_enabled: true, audit_enabled: true };
const actions = [
  'health.check', 'metrics.read', 'policy.read', 'audit.read', 'evolution.read', 'data.read', 'data.write',
  'model.infer', 'code.analyze', 'sandbox.execute', 'code.execute', 'compute.allocate', 'compute.run',
  'model.train', 'agent.create', 'data.export', 'model.deploy', 'evolution.request', 'policy.update',
];

function actionInput(action: string, agent = trusted, explanation = 'scheduled maintenance job') {
  return {
    input: {
      type: 'action_authorization',
      constitutional_hash: CONSTITUTIONAL_HASH,
      action,
      context: { agent, environment: guarded, explanation },
    },
  };
}

// Nineteen routine actions and one dangerous one that agents keep trying (a safety violation).
const HOT_BODIES = [...actions.map((action) => actionInput(action)), actionInput('system.execute_shell')].map((body) =>
  Buffer.from(JSON.stringify(body)),
);

let uniqueCounter = 0;
function uniqueBody(): Buffer {
  uniqueCounter += 1;
  const agent = { id: `bench-agent-${uniqueCounter}`, trust_level: 0.9 };
  return Buffer.from(JSON.stringify(actionInput(actions[uniqueCounter % actions.length]!, agent, `job ${uniqueCounter}`)));
}

/** 95 % from the hot set, 5 % never seen before. */
function nextBody(sequence: number): Buffer {
  if (sequence % Math.round(1 / UNIQUE_SHARE) === 0) return uniqueBody();
  return HOT_BODIES[sequence % HOT_BODIES.length]!;
}

// ---------------------------------------------------------------------------------------------
// HTTP load

function histogram(): Histogram {
  return build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
}

interface Target {
  name: string;
  port: number;
}

interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  seconds: number;
  latency: Histogram;
}

function post(agent: http.Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: DECISION_PATH,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        response.on('data', () => undefined);
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', () => resolve(0));
      },
    );
    request.on('error', () => resolve(0));
    request.end(body);
  });
}

/** Open loop at a fixed rate; latency from each request's scheduled time. */
async function fixedRate(target: Target, rate: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latency = histogram();
  const total = Math.round(rate * seconds);
  const intervalNs = 1e9 / rate;
  const start = process.hrtime.bigint();
  let sent = 0;
  let ok = 0;
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  while (sent < total) {
    const elapsedNs = Number(process.hrtime.bigint() - start);
    const due = Math.min(total, Math.floor(elapsedNs / intervalNs) + 1);
    while (sent < due) {
      const scheduled = start + BigInt(Math.round(sent * intervalNs));
      const body = nextBody(sent);
      sent += 1;
      const promise = post(agent, target.port, body).then((status) => {
        latency.recordValue(Math.max(1, Number(process.hrtime.bigint() - scheduled)));
        if (status === 200) ok += 1;
        else errors += 1;
      });
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return { sent, ok, errors, seconds: elapsed, latency };
}

/** Closed loop: `connections` callers, each sending its next request when the last one is back. */
async function maxThroughput(target: Target, connections: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latency = histogram();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let sequence = 0;
  let ok = 0;
  let errors = 0;
  async function caller(): Promise<void> {
    while (process.hrtime.bigint() < deadline) {
      const body = nextBody(sequence++);
      const sentAt = process.hrtime.bigint();
      const status = await post(agent, target.port, body);
      latency.recordValue(Math.max(1, Number(process.hrtime.bigint() - sentAt)));
      if (status === 200) ok += 1;
      else errors += 1;
    }
  }
  await Promise.all(Array.from({ length: connections }, caller));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return { sent: ok + errors, ok, errors, seconds: elapsed, latency };
}

// ---------------------------------------------------------------------------------------------
// Processes

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited early (code ${code}, signal ${signal}):\n${stderr}`);
  });
  child.on('error', (error) => console.error(`${name} could not start: ${error.message}`));
  children.push(child);
  return child;
}

let stopping = false;
async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

async function waitForHttp(name: string, port: number, path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${path} on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (h: Histogram, p: number) => (h.getValueAtPercentile(p) / 1e6).toFixed(3);
const rps = (r: LoadResult) => Math.round(r.ok / r.seconds).toLocaleString('en-US');

function row(cells: string[], widths: number[]): string {
  return `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  console.log(row(header, widths));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(row(r, widths));
}

async function engineMetrics(port: number): Promise<PolicyMetrics> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/metrics`);
  return PolicyMetrics.parse(await response.json());
}

async function main(): Promise<void> {
  // Before this benchmark adds its own processes: how busy the box was with everything else.
  const loadAtStart = loadavg()[0]!;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${REDIS_URL} (${(error as Error).message}); run scripts/provision.sh`);
  }
  const prefix = `acgs-bench:${randomBytes(4).toString('hex')}:`;
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-bench-policy-'));
  try {
    const enginePort = await freePort();
    const alwaysL2Port = await freePort();
    const l1OnlyPort = await freePort();
    const opaPort = await freePort();
    const engineEnv = {
      HOST: '127.0.0.1',
      REDIS_KEY_PREFIX: prefix,
      // The L2 entries are signed with a key derived from it; without it the engine has no L2.
      ACGS_ADMIN_TOKEN: randomBytes(24).toString('hex'),
      // Nothing listens there: the safety violations of the mix stay in the outbox spool.
      AUDIT_ENGINE_URL: 'http://127.0.0.1:9',
      POLICY_WATCH: 'false',
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
    };
    const engineArgs = ['--import', 'tsx', 'services/policy-engine/main.ts'];
    start('policy engine', process.execPath, engineArgs, {
      ...engineEnv,
      PORT: String(enginePort),
      REDIS_URL,
      ACGS_STATE_DIR: join(stateDir, 'with-l2'),
    });
    // The engine as it was: every L1 miss waits for Redis before evaluating.
    start('policy engine (always L2)', process.execPath, engineArgs, {
      ...engineEnv,
      PORT: String(alwaysL2Port),
      REDIS_URL,
      REDIS_KEY_PREFIX: `${prefix}always:`,
      POLICY_L2_LOOKUP_MIN_EVAL_MS: '0',
      ACGS_STATE_DIR: join(stateDir, 'always-l2'),
    });
    // The same engine without Redis, to show what the L2 round trip costs the 5 % of misses.
    start('policy engine (L1 only)', process.execPath, engineArgs, {
      ...engineEnv,
      PORT: String(l1OnlyPort),
      REDIS_URL: '',
      ACGS_STATE_DIR: join(stateDir, 'l1-only'),
    });
    start('opa', 'opa', [
      'run', '--server', '--addr', `127.0.0.1:${opaPort}`, '--log-level', 'error', '--skip-version-check',
      '--ignore', '*_test.rego', POLICY_DIR,
    ]);
    await Promise.all([
      waitForHttp('policy engine', enginePort, '/health'),
      waitForHttp('policy engine (always L2)', alwaysL2Port, '/health'),
      waitForHttp('policy engine (L1 only)', l1OnlyPort, '/health'),
      waitForHttp('opa', opaPort, '/health'),
    ]);
    const engine: Target = { name: 'policy-engine, L1 + Redis L2', port: enginePort };
    const alwaysL2: Target = { name: 'policy-engine, L2 asked on every miss', port: alwaysL2Port };
    const l1Only: Target = { name: 'policy-engine, L1 only', port: l1OnlyPort };
    const opa: Target = { name: 'opa run --server', port: opaPort };

    console.log(`warming up both targets (the hot set into the engine's cache, JIT on both) ...`);
    for (const target of [engine, alwaysL2, l1Only, opa]) await fixedRate(target, 500, 2);
    const warmMetrics = await engineMetrics(enginePort);
    if (SETTLE_SECONDS > 0) {
      console.log(`settling ${SETTLE_SECONDS} s so the warm-up leaves the engines' latency window ...`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
    }

    console.log(`fixed rate: ${RATE} req/s for ${FIXED_SECONDS} s, ${100 - UNIQUE_SHARE * 100} % hot inputs ...`);
    const engineFixed = await fixedRate(engine, RATE, FIXED_SECONDS);
    const serverSide = await engineMetrics(enginePort);
    const alwaysL2Fixed = await fixedRate(alwaysL2, RATE, FIXED_SECONDS);
    const alwaysL2Server = await engineMetrics(alwaysL2Port);
    const l1OnlyFixed = await fixedRate(l1Only, RATE, FIXED_SECONDS);
    const l1OnlyServer = await engineMetrics(l1OnlyPort);
    const opaFixed = await fixedRate(opa, RATE, FIXED_SECONDS);

    console.log(`maximum throughput: ${CONNECTIONS} connections for ${MAX_SECONDS} s each ...`);
    const engineMax = await maxThroughput(engine, CONNECTIONS, MAX_SECONDS);
    const opaMax = await maxThroughput(opa, CONNECTIONS, MAX_SECONDS);
    const afterAll = await engineMetrics(enginePort);

    const lookups = (m: PolicyMetrics) => m.cache_stats.l1.hits + m.cache_stats.l1.misses;
    const hits = (m: PolicyMetrics) => m.cache_stats.l1.hits + m.cache_stats.l2.hits;
    const fixedHitRate = (hits(serverSide) - hits(warmMetrics)) / Math.max(1, lookups(serverSide) - lookups(warmMetrics));

    console.log('');
    console.log(
      `Policy Engine benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os()}, ` +
        `load average ${loadAtStart.toFixed(2)} before the start, ${loadavg()[0]!.toFixed(2)} at the end`,
    );
    console.log('');
    printTable(
      ['run', 'target', 'req/s', 'errors', 'client p50 ms', 'client p99 ms', 'server p50 ms', 'server p99 ms'],
      [
        [`fixed ${RATE}/s`, engine.name, rps(engineFixed), String(engineFixed.errors), ms(engineFixed.latency, 50), ms(engineFixed.latency, 99),
          serverSide.percentiles.p50.toFixed(3), serverSide.percentiles.p99.toFixed(3)],
        [`fixed ${RATE}/s`, alwaysL2.name, rps(alwaysL2Fixed), String(alwaysL2Fixed.errors), ms(alwaysL2Fixed.latency, 50), ms(alwaysL2Fixed.latency, 99),
          alwaysL2Server.percentiles.p50.toFixed(3), alwaysL2Server.percentiles.p99.toFixed(3)],
        [`fixed ${RATE}/s`, l1Only.name, rps(l1OnlyFixed), String(l1OnlyFixed.errors), ms(l1OnlyFixed.latency, 50), ms(l1OnlyFixed.latency, 99),
          l1OnlyServer.percentiles.p50.toFixed(3), l1OnlyServer.percentiles.p99.toFixed(3)],
        [`fixed ${RATE}/s`, opa.name, rps(opaFixed), String(opaFixed.errors), ms(opaFixed.latency, 50), ms(opaFixed.latency, 99), 'n/a', 'n/a'],
        ['max', engine.name, rps(engineMax), String(engineMax.errors), ms(engineMax.latency, 50), ms(engineMax.latency, 99), '', ''],
        ['max', opa.name, rps(opaMax), String(opaMax.errors), ms(opaMax.latency, 50), ms(opaMax.latency, 99), '', ''],
      ],
    );
    console.log('');
    console.log(
      `engine cache hit rate during the fixed-rate run: ${(fixedHitRate * 100).toFixed(1)} % ` +
        `(overall ${(afterAll.cache_hit_rate * 100).toFixed(1)} %, L2 lookups bypassed ${afterAll.cache_stats.l2.bypassed}, ` +
        `L2 errors ${afterAll.cache_stats.l2.errors}, L2 errors when always asked ${alwaysL2Server.cache_stats.l2.errors}); ` +
        `server p99 target < 1 ms: ${serverSide.percentiles.p99 < 1 ? 'met' : 'NOT met'} with L2, ` +
        `${alwaysL2Server.percentiles.p99 < 1 ? 'met' : 'NOT met'} asking L2 on every miss, ` +
        `${l1OnlyServer.percentiles.p99 < 1 ? 'met' : 'NOT met'} L1 only; ` +
        `throughput vs OPA: ${(engineMax.ok / engineMax.seconds / (opaMax.ok / opaMax.seconds)).toFixed(2)}x`,
    );
    console.log(
      `server-side percentiles cover the engine's last ${serverSide.latency_window_seconds} s` +
        (SETTLE_SECONDS * 1000 >= (serverSide.latency_window_seconds + 10) * 1000 ? ' (warm-up excluded).' : ' (warm-up included).'),
    );
  } finally {
    await stopAll();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function os(): string {
  return `${cpus().length} CPUs`;
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(`bench:policy failed: ${(error as Error).message}`);
    await stopAll();
    process.exit(1);
  },
);
