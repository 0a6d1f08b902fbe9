/**
 * `npm run bench:audit`: sustained appends/s of the Audit Engine with 16 concurrent writers,
 * side by side with plain INSERTs into an unchained table, on a fresh database in one run.
 *
 *   plain INSERT   16 pg connections, one autocommitted INSERT each, same columns and indexes
 *   HTTP           the real server (its own process, as deployed) on loopback, one event per request
 *   in-process     the same store without HTTP, as a co-located producer could call it
 *
 * Then `GET /audit/verify` walks everything that was appended; the run fails if it is not valid.
 * Env: BENCH_SECONDS (default 10 per phase), BENCH_WRITERS (16), TEST_DATABASE_URL (the server
 * on which the throw-away database is created, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
import { createTestDatabase } from '../test/kit/postgres.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
const WARMUP_MS = 1000;

interface PhaseResult {
  name: string;
  appends: number;
  seconds: number;
  latency: Histogram;
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

/** Runs `writers` loops of `op` for warm-up plus SECONDS; counts only what completes after warm-up. */
async function runPhase(name: string, op: (writer: number, n: number) => Promise<void>): Promise<PhaseResult> {
  const latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + SECONDS * 1000;
  let appends = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let n = 0; performance.now() < end; n += 1) {
        const began = performance.now();
        await op(writer, n);
        const finished = performance.now();
        if (began >= measureFrom && finished <= end) {
          appends += 1;
          latency.recordValue(Math.max(1, Math.round((finished - began) * 1000)));
        }
      }
    }),
  );
  process.stderr.write(`  ${name}: ${appends} appends\n`);
  return { name, appends, seconds: SECONDS, latency };
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

async function startServer(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/audit-engine/main.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
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
    append(event: AuditEventInput): Promise<void> {
      const body = JSON.stringify(event);
      return new Promise((resolve, reject) => {
        const request = http.request(
          { agent, hostname, port, path: '/audit/events', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
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

async function plainInsertPhase(databaseUrl: string): Promise<PhaseResult> {
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
  try {
    return await runPhase('plain INSERT', async (writer, n) => {
      const event = benchEvent(writer, n);
      await clients[writer]!.query(
        `INSERT INTO plain_events (id, sequence, event_type, source, agent_id, severity, occurred_at, recorded_at,
                                   idempotency_key, data, constitutional_hash, content_hash, prev_chain_hash, chain_hash)
         VALUES ($1, nextval('plain_events_sequence'), $2, $3, $4, $5, now(), now(), $6, $7, 'cdd01ef066bc6cf2', '', '', '')`,
        [randomUUID(), event.event_type, event.source, event.agent_id, event.severity, event.idempotency_key, JSON.stringify(event.data)],
      );
    });
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

function formatTable(results: PhaseResult[], plainRate: number): string {
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
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const db = await createTestDatabase('acgs_audit_bench');
  let server: { url: string; child: ChildProcess } | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  try {
    // Migrations first (through the app), so the plain table can copy the events table's shape.
    app = buildApp({ ...loadConfig({ DATABASE_URL: db.url }), poolMax: 4 }, { logger: false });
    await app.ready();
    const settings = await app.auditDb.query<{ version: string; fsync: string; synchronous_commit: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit",
    );
    const { version, fsync, synchronous_commit } = settings.rows[0]!;
    process.stderr.write(`audit bench: ${WRITERS} writers, ${SECONDS} s per phase after ${WARMUP_MS} ms warm-up, database ${db.name}\n`);

    const plain = await plainInsertPhase(db.url);

    server = await startServer(db.url);
    const appender = httpAppender(server.url);
    const viaHttp = await runPhase('HTTP POST /audit/events', (writer, n) => appender.append(benchEvent(writer, n)));
    appender.close();

    const store = app.auditStore;
    const inProcess = await runPhase('in-process store', async (writer, n) => {
      await store.append([benchEvent(writer, n)]);
    });

    const verifyResult = VerifyResponse.parse(await createAuditEngineClient(server.url).verify(600_000));
    const plainRate = plain.appends / plain.seconds;
    const httpRatio = viaHttp.appends / viaHttp.seconds / plainRate;

    console.log(`\nAudit Engine append benchmark (${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} CPUs, ` +
      `PostgreSQL ${version}, fsync=${fsync}, synchronous_commit=${synchronous_commit})\n`);
    console.log(formatTable([plain, viaHttp, inProcess], plainRate));
    console.log(
      `\ngoal: HTTP appends/s at least 0.5 x plain INSERT/s -> ${httpRatio.toFixed(2)} (${httpRatio >= 0.5 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `verify: ${verifyResult.valid ? 'valid' : 'BROKEN'}, ${verifyResult.events_checked} events checked in ${verifyResult.duration_ms} ms` +
        (verifyResult.first_broken ? `; first broken: ${JSON.stringify(verifyResult.first_broken)}` : ''),
    );
    return verifyResult.valid ? 0 : 1;
  } finally {
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
