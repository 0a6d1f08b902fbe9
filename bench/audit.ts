/**
 * `npm run bench:audit`: sustained appends/s of the Audit Engine with 16 concurrent writers,
 * side by side with plain INSERTs into an unchained table, on a fresh database in one run.
 *
 *   plain INSERT   16 pg connections, one autocommitted INSERT each, same columns and indexes
 *   HTTP           the real server (its own process, as deployed) on loopback, one event per request
 *   HTTP batched   the same, 20 events per request, as the services' audit outbox sends them
 *   in-process     the same store without HTTP, as a co-located producer could call it
 *
 * The paths take turns in short slices (BENCH_ROUNDS rounds), so that load from elsewhere on the
 * machine falls on all of them alike rather than on whichever happened to run at that moment.
 * Then `GET /audit/verify` walks everything that was appended; the run fails if it is not valid.
 * Env: BENCH_SECONDS (default 10 per path), BENCH_ROUNDS (5), BENCH_WRITERS (16), TEST_DATABASE_URL (the server
 * on which the throw-away database is created, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { type Histogram, build } from 'hdr-histogram-js';
import pg from 'pg';
import { buildApp } from '../services/audit-engine/app.js';
import { loadConfig } from '../services/audit-engine/config.js';
import { type AuditEventInput, VerifyResponse } from '../services/audit-engine/contract.js';
import { createAuditEngineClient } from '../services/clients/audit-engine.js';
import { createTestDatabase } from '../test/testing/postgres.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
const WARMUP_MS = 1000;
const OUTBOX_BATCH = 20;

interface Phase {
  name: string;
  /** Appends `eventsPerOp` events; latency is recorded per op. */
  op(writer: number, n: number): Promise<void>;
  eventsPerOp: number;
  appends: number;
  seconds: number;
  latency: Histogram;
  calls: number;
  /** CPU seconds the audit-engine process spent during this phase's slices (HTTP phases only). */
  serverCpuSeconds?: number;
}

function phase(name: string, op: Phase['op'], eventsPerOp = 1): Phase {
  const latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  return { name, op, eventsPerOp, appends: 0, seconds: 0, latency, calls: 0 };
}

function benchEvent(writer: number, n: number): AuditEventInput {
  return {
    event_type: 'policy.decision',
    source: 'bench',
    agent_id: `agent-${writer}`,
    severity: 'info',
    idempotency_key: randomUUID(),
    data: { action: 'data.read', decision: 'allow', compliance_score: 0.97, n },
  };
}

/** Runs WRITERS loops of the phase's op for `warmupMs` plus `seconds`; counts what completes after warm-up. */
async function runSlice(target: Phase, seconds: number, warmupMs: number, serverCpu?: () => Promise<number>): Promise<void> {
  const measureFrom = performance.now() + warmupMs;
  let cpuAtStart: number | undefined;
  const cpuStart = serverCpu
    ? new Promise<void>((resolve) => setTimeout(() => void serverCpu().then((value) => ((cpuAtStart = value), resolve())), warmupMs))
    : Promise.resolve();
  const end = measureFrom + seconds * 1000;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      while (performance.now() < end) {
        const began = performance.now();
        await target.op(writer, target.calls++);
        const finished = performance.now();
        if (began >= measureFrom && finished <= end) {
          target.appends += target.eventsPerOp;
          target.latency.recordValue(Math.max(1, Math.round((finished - began) * 1000)));
        }
      }
    }),
  );
  target.seconds += seconds;
  await cpuStart;
  if (serverCpu && cpuAtStart !== undefined) target.serverCpuSeconds = (target.serverCpuSeconds ?? 0) + (await serverCpu()) - cpuAtStart;
}

/** The audit-engine process's CPU seconds so far, from its own Prometheus metrics. */
async function serverCpuSeconds(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith('process_cpu_seconds_total'));
  return Number(line?.split(' ').pop());
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The token the benchmark's Audit Engine requires of its appends, as a real stack's does. */
const SERVICE_TOKEN = randomBytes(24).toString('hex');

async function startServer(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/audit-engine/main.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', ACGS_SERVICE_TOKEN: SERVICE_TOKEN },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const client = createAuditEngineClient(url, { timeoutMs: 1000 });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`audit-engine exited with code ${child.exitCode} during start-up`);
    const ready = await client.health().then(
      (health) => health.status === 'healthy',
      () => false,
    );
    if (ready) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGTERM');
  throw new Error('audit-engine did not become healthy within 20 s');
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** One keep-alive connection per writer, as a producer's HTTP client would hold. */
function httpAppender(baseUrl: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: WRITERS });
  const { hostname, port } = new URL(baseUrl);
  return {
    append(event: AuditEventInput | AuditEventInput[]): Promise<void> {
      const body = JSON.stringify(Array.isArray(event) ? { events: event } : event);
      return new Promise((resolve, reject) => {
        const request = http.request(
          { agent, hostname, port, path: '/audit/events', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${SERVICE_TOKEN}` } },
          (response) => {
            response.resume();
            response.on('end', () => (response.statusCode === 201 ? resolve() : reject(new Error(`append answered ${response.statusCode}`))));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** 16 connections doing autocommitted INSERTs into an unchained copy of the events table. */
async function plainInserter(databaseUrl: string) {
  const setup = new pg.Client({ connectionString: databaseUrl });
  await setup.connect();
  // Same columns and indexes as audit_events, no trigger and no chain: only the cost of a durable row.
  await setup.query(`
    CREATE TABLE plain_events (LIKE audit_events INCLUDING DEFAULTS INCLUDING INDEXES);
    CREATE SEQUENCE plain_events_sequence;`);
  await setup.end();
  const clients = await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    }),
  );
  return {
    async insert(writer: number, n: number): Promise<void> {
      const event = benchEvent(writer, n);
      await clients[writer]!.query(
        `INSERT INTO plain_events (id, sequence, event_type, source, agent_id, severity, occurred_at, recorded_at,
                                   idempotency_key, data, constitutional_hash, content_hash, prev_chain_hash, chain_hash)
         VALUES ($1, nextval('plain_events_sequence'), $2, $3, $4, $5, now(), now(), $6, $7, 'cdd01ef066bc6cf2', '', '', '')`,
        [randomUUID(), event.event_type, event.source, event.agent_id, event.severity, event.idempotency_key, JSON.stringify(event.data)],
      );
    },
    close: () => Promise.all(clients.map((client) => client.end())),
  };
}

function formatTable(results: Phase[], plainRate: number): string {
  const rows = results.map((result) => {
    const rate = result.appends / result.seconds;
    return [
      result.name,
      String(WRITERS),
      String(result.appends),
      rate.toFixed(0),
      (result.latency.getValueAtPercentile(50) / 1000).toFixed(2),
      (result.latency.getValueAtPercentile(99) / 1000).toFixed(2),
      (rate / plainRate).toFixed(2),
    ];
  });
  const header = ['path', 'writers', 'appends', 'appends/s', 'p50 ms', 'p99 ms', 'ratio to plain'];
  // p50/p99 are per call: one INSERT, one request (of one or a batch of events), one store append.
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  // Other work on the machine moves every number here; the load average says how much there was.
  const loadAtStart = os.loadavg()[0]!;
  const db = await createTestDatabase('acgs_audit_bench');
  let server: { url: string; child: ChildProcess } | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  let plain: Awaited<ReturnType<typeof plainInserter>> | undefined;
  let appender: ReturnType<typeof httpAppender> | undefined;
  try {
    // Migrations first (through the app), so the plain table can copy the events table's shape.
    app = buildApp({ ...loadConfig({ DATABASE_URL: db.url }), poolMax: 4 }, { logger: false });
    await app.ready();
    const settings = await app.auditDb.query<{ version: string; fsync: string; synchronous_commit: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit",
    );
    const { version, fsync, synchronous_commit } = settings.rows[0]!;
    process.stderr.write(
      `audit bench: ${WRITERS} writers, ${SECONDS} s per path in ${ROUNDS} turns after ${WARMUP_MS} ms warm-up, database ${db.name}\n`,
    );

    plain = await plainInserter(db.url);
    server = await startServer(db.url);
    appender = httpAppender(server.url);
    const store = app.auditStore;
    const http = appender;
    const phases = [
      phase('plain INSERT', (writer, n) => plain!.insert(writer, n)),
      phase('HTTP POST /audit/events', (writer, n) => http.append(benchEvent(writer, n))),
      phase(
        `HTTP POST, ${OUTBOX_BATCH} events/request`,
        (writer, n) => http.append(Array.from({ length: OUTBOX_BATCH }, (_, i) => benchEvent(writer, n * OUTBOX_BATCH + i))),
        OUTBOX_BATCH,
      ),
      phase('in-process store', async (writer, n) => {
        await store.append([benchEvent(writer, n)]);
      }),
    ] as const;
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of phases) {
        const serverCpu = target.name.startsWith('HTTP') ? () => serverCpuSeconds(server!.url) : undefined;
        await runSlice(target, SECONDS / ROUNDS, round === 0 ? WARMUP_MS : 0, serverCpu);
      }
      process.stderr.write(`  turn ${round + 1}/${ROUNDS}: ${phases.map((target) => `${target.name} ${target.appends}`).join(', ')}\n`);
    }
    const [plainPhase, viaHttp] = phases;

    const verifyResult = VerifyResponse.parse(await createAuditEngineClient(server.url).verify(600_000));
    const plainRate = plainPhase.appends / plainPhase.seconds;
    const httpRatio = viaHttp.appends / viaHttp.seconds / plainRate;

    console.log(`\nAudit Engine append benchmark (${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} CPUs, ` +
      `PostgreSQL ${version}, fsync=${fsync}, synchronous_commit=${synchronous_commit}; ` +
      `load average ${loadAtStart.toFixed(2)} before the start, ${os.loadavg()[0]!.toFixed(2)} at the end)\n`);
    console.log(formatTable([...phases], plainRate));
    for (const target of phases) {
      if (target.serverCpuSeconds === undefined) continue;
      const perEvent = (target.serverCpuSeconds / target.appends) * 1e6;
      console.log(`audit-engine CPU per appended event, ${target.name}: ${perEvent.toFixed(0)} µs`);
    }
    console.log(
      `\ngoal: HTTP appends/s at least 0.5 x plain INSERT/s -> ${httpRatio.toFixed(2)} (${httpRatio >= 0.5 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `verify: ${verifyResult.valid ? 'valid' : 'BROKEN'}, ${verifyResult.events_checked} events checked in ${verifyResult.duration_ms} ms` +
        (verifyResult.first_broken ? `; first broken: ${JSON.stringify(verifyResult.first_broken)}` : ''),
    );
    return verifyResult.valid ? 0 : 1;
  } finally {
    appender?.close();
    await plain?.close();
    if (server) await stopServer(server.child);
    await app?.close();
    await db.drop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
