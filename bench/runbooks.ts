/**
 * `npm run bench:runbooks`: the runbook engine's cost, on the real PostgreSQL (issue 12).
 *
 * 1. Engine overhead per step: runs of steps that do nothing, the time from one step's start to
 *    the next one's (recording the attempt, its end, the audit events, the lease checks), beside
 *    the floor: the two statements a step needs at the least (an INSERT and an UPDATE), timed alone.
 * 2. Takeover after SIGKILL: a runner process holding a run mid-step is killed; another runner
 *    process, started beforehand with the production lease (15 s, renewed every 5 s, scan every
 *    5 s), starts the step again. Goal: within lease + 5 s.
 * 3. `backup` and `backup-verify` of one database of BENCH_BACKUP_MB (default 1024) MB, through the
 *    engine, beside plain `pg_dump -Fc` and `pg_restore --single-transaction` of the same database in
 *    the same run, and the time of each of verify's steps. Goal: at most 1.2 times theirs.
 *
 * Environment: BENCH_STEPS (default 100 steps per run), BENCH_RUNS (5), BENCH_BACKUP_MB (1024),
 * BENCH_SKIP (comma list of overhead,takeover,backup).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { z } from 'zod';
import { backupHostPorts } from '../bot/runbook-runs/backup-host-ports.js';
import { createPool } from '../services/kit/postgres.js';
import { libpqEnvironment } from '../services/stack/backup/pg-tools.js';
import { withScratchDatabase } from '../services/stack/backup/scratch-database.js';
import { listBackups } from '../runbooks/backup/backup-catalog.js';
import { backupRunbooks } from '../runbooks/backup/index.js';
import { defineRunbook } from '../runbooks/engine/definition.js';
import type { BackupPorts, RunAuditSink } from '../runbooks/engine/ports.js';
import { createRunbookRegistry } from '../runbooks/engine/registry.js';
import { checkRequest } from '../runbooks/engine/requests.js';
import { createRunExecutor, DEFAULT_LEASE_MS, DEFAULT_RENEW_EVERY_MS, type RunExecutor } from '../runbooks/engine/run-executor.js';
import { createRunStore, FINAL_RUN_STATES, migrateRunStore, type RunRecord, type RunStore } from '../runbooks/engine/run-store.js';
import { MARKS_TABLE_SQL } from '../runbooks/engine/testing/database.js';
import { crashRunbooks } from '../runbooks/engine/testing/scripted-runbooks.js';
import { TEST_POSTGRES_URL, createTestDatabase, type TestDatabase } from '../test/testing/postgres.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BACKUP_MB = Number(process.env.BENCH_BACKUP_MB ?? 1024);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const RUNNER_PROCESS = fileURLToPath(new URL('../runbooks/engine/testing/runner-process.ts', import.meta.url));

const say = (line: string) => console.log(line);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms (${sorted.length} samples)`;
}

async function settled(store: RunStore, runId: string, timeoutMs: number): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await store.get(runId))!;
    if (FINAL_RUN_STATES.includes(run.state) || run.state === 'needs_decision') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stepOverhead(db: TestDatabase, pool: pg.Pool, store: RunStore): Promise<void> {
  const noop = defineRunbook({
    source: import.meta.url,
    name: 'bench-noop',
    summary: 'steps that do nothing',
    level: 1,
    args: z.object({}),
    steps: Array.from({ length: STEPS }, (_, index) => ({
      id: `s${index}`,
      kind: 'act' as const,
      title: `step ${index}`,
      timeoutMs: 10_000,
      idempotent: true,
      run: async () => ({}),
      dryRun: async () => ({ mode: 'description' as const, text: 'nothing' }),
    })),
  });
  const starts = new Map<string, number[]>();
  const audit: RunAuditSink = {
    async stepStarted(event) {
      const list = starts.get(event.runId) ?? [];
      list.push(performance.now());
      starts.set(event.runId, list);
    },
    async stepFinished() {},
    async runStateChanged() {},
  };
  const executor = createRunExecutor({ store, registry: createRunbookRegistry([noop]), audit });
  executor.start();
  const gaps: number[] = [];
  try {
    for (let run = 0; run < RUNS; run += 1) {
      const submitted = await executor.submit({ runbook: 'bench-noop', args: {}, requester: 'bench', origin: 'bench' });
      const done = await settled(store, submitted.id, 120_000);
      if (done.state !== 'succeeded') throw new Error(`bench-noop ended ${done.state}: ${done.reason}`);
      const times = starts.get(submitted.id)!;
      for (let index = 1; index < times.length; index += 1) gaps.push(times[index]! - times[index - 1]!);
    }
  } finally {
    await executor.stop();
  }
  // The floor: what recording a step costs at the least, one INSERT and one UPDATE, each its own round trip.
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, started timestamptz, finished timestamptz)');
  const floor: number[] = [];
  for (let index = 0; index < RUNS * STEPS; index += 1) {
    const started = performance.now();
    const { rows } = await pool.query<{ id: string }>('INSERT INTO bench_floor (started) VALUES (now()) RETURNING id');
    await pool.query('UPDATE bench_floor SET finished = now() WHERE id = $1', [rows[0]!.id]);
    floor.push(performance.now() - started);
  }
  say(`\n1. engine overhead per step (a step that does nothing; ${RUNS} runs of ${STEPS} steps on ${db.name})`);
  say(`   engine, start to next start:        ${summary(gaps)}   goal: p99 under 20 ms`);
  say(`   floor, INSERT + UPDATE round trips: ${summary(floor)}`);
}

interface RunnerLine {
  event: string;
  versions?: Record<string, string>;
  runId?: string;
  stepId?: string;
  attempt?: number;
  at: number;
}

function startRunner(databaseUrl: string, owner: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER_PROCESS, JSON.stringify({ databaseUrl, owner, leaseMs: DEFAULT_LEASE_MS, renewEveryMs: DEFAULT_RENEW_EVERY_MS })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: RunnerLine[] = [];
  const waiters: Array<{ match: (line: RunnerLine) => boolean; resolve: (line: RunnerLine) => void }> = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      const line = { ...(JSON.parse(part) as RunnerLine), at: performance.now() };
      lines.push(line);
      for (const waiter of waiters.filter((each) => each.match(line))) waiter.resolve(line);
    }
  });
  return {
    child,
    waitFor(match: (line: RunnerLine) => boolean): Promise<RunnerLine> {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

async function takeover(db: TestDatabase, pool: pg.Pool, store: RunStore): Promise<void> {
  await pool.query(MARKS_TABLE_SQL);
  const first = startRunner(db.url, 'bench-a');
  // The version as the runner processes compute it (the same as here: it hashes the module's file, not the loader's output).
  const { versions } = await first.waitFor((line) => line.event === 'started');
  const { args } = checkRequest(createRunbookRegistry(crashRunbooks(pool)), 'copy-files', { holdMs: { copy: 600_000 } });
  const run = await store.create({ runbook: 'copy-files', version: versions!['copy-files']!, args, requester: 'bench', origin: 'bench' });
  await first.waitFor((line) => line.event === 'stepStarted' && line.runId === run.id && line.stepId === 'copy');
  const second = startRunner(db.url, 'bench-b');
  await second.waitFor((line) => line.event === 'started');
  const killedAt = performance.now();
  first.child.kill('SIGKILL');
  const resumed = await second.waitFor((line) => line.event === 'stepStarted' && line.runId === run.id && line.stepId === 'copy');
  const seconds = (resumed.at - killedAt) / 1000;
  second.child.kill('SIGTERM');
  say(`\n2. takeover after SIGKILL (lease ${DEFAULT_LEASE_MS / 1000} s, renewed every ${DEFAULT_RENEW_EVERY_MS / 1000} s)`);
  say(`   the interrupted idempotent step started again on the other runner ${seconds.toFixed(1)} s after the kill   goal: within ${(DEFAULT_LEASE_MS + 5000) / 1000} s`);
}

async function fillDatabase(url: string, megabytes: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE events (id bigserial PRIMARY KEY, body text NOT NULL)');
    // About 1 KiB a row of md5 text, which compresses about as well as real event payloads do.
    const rowsPerBatch = 50_000;
    const rows = Math.ceil((megabytes * 1024 * 1024) / 1100);
    for (let done = 0; done < rows; done += rowsPerBatch) {
      await client.query(`INSERT INTO events (body) SELECT string_agg(md5(random()::text || g::text || k::text), '') FROM generate_series(1, $1::int) g, generate_series(1, 32) k GROUP BY g`, [Math.min(rowsPerBatch, rows - done)]);
    }
    await client.query('VACUUM ANALYZE events');
  } finally {
    await client.end();
  }
}

async function databaseSize(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ size: string }>('SELECT pg_size_pretty(pg_database_size(current_database())) AS size')).rows[0]!.size;
  } finally {
    await client.end();
  }
}

function timed(work: () => void): number {
  const started = performance.now();
  work();
  return (performance.now() - started) / 1000;
}

async function backupSideBySide(pool: pg.Pool, store: RunStore): Promise<void> {
  const source = await createTestDatabase('acgs_bench_backup');
  const work = mkdtempSync(join(tmpdir(), 'acgs-bench-backup-'));
  let executor: RunExecutor | undefined;
  try {
    await fillDatabase(source.url, BACKUP_MB);
    const size = await databaseSize(source.url);
    const env = { ...process.env, ...libpqEnvironment(source.url, 'acgs-bench') };
    const plainFile = join(work, 'plain.dump');
    const plainDump = timed(() => execFileSync('pg_dump', ['--no-password', '--format=custom', `--file=${plainFile}`], { env, stdio: 'inherit' }));
    const plainRestore = await withScratchDatabase(TEST_POSTGRES_URL, 'bench plain', async (scratchUrl) =>
      timed(() =>
        execFileSync('pg_restore', ['--no-password', '--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', '--dbname', new URL(scratchUrl).pathname.slice(1), plainFile], {
          env: { ...process.env, ...libpqEnvironment(scratchUrl, 'acgs-bench') },
          stdio: 'inherit',
        }),
      ),
    );
    const ports: BackupPorts = {
      root: join(work, 'backups'),
      databases: [{ name: 'bench', url: source.url }],
      scratchServerUrl: TEST_POSTGRES_URL,
      configFiles: [],
      retention: { keepCount: 100, keepDays: 365 },
      modes: async () => ({}),
      serviceVersions: async () => ({}),
      auditChainHead: async () => null,
      ...backupHostPorts(pool),
    };
    executor = createRunExecutor({ store, registry: createRunbookRegistry([...backupRunbooks]), ports: { backup: ports } });
    executor.start();
    const backupStarted = performance.now();
    const backup = await settled(store, (await executor.submit({ runbook: 'backup', args: {}, requester: 'bench', origin: 'bench' })).id, 3_600_000);
    const backupSeconds = (performance.now() - backupStarted) / 1000;
    if (backup.state !== 'succeeded') throw new Error(`backup ended ${backup.state}: ${backup.reason}`);
    const [made] = await listBackups(ports.root);
    const verifyStarted = performance.now();
    const verify = await settled(store, (await executor.submit({ runbook: 'backup-verify', args: { id: made!.id }, requester: 'bench', origin: 'bench' })).id, 3_600_000);
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    if (verify.state !== 'succeeded') throw new Error(`backup-verify ended ${verify.state}: ${verify.reason}`);
    say(`\n3. backup and verify of one database of ${size} (BENCH_BACKUP_MB=${BACKUP_MB}), side by side`);
    say(`   pg_dump -Fc:                              ${plainDump.toFixed(1)} s`);
    say(`   backup runbook (dump, hash, TOC, manifest): ${backupSeconds.toFixed(1)} s   ${(backupSeconds / plainDump).toFixed(2)} x pg_dump   goal: at most 1.2 x`);
    say(`   pg_restore --single-transaction:          ${plainRestore.toFixed(1)} s`);
    say(`   backup-verify (hash, TOC, restore, counts, chains): ${verifySeconds.toFixed(1)} s   ${(verifySeconds / plainRestore).toFixed(2)} x pg_restore   goal: at most 1.2 x`);
    const steps = (await store.attempts(verify.id)).map((attempt) => `${attempt.stepId} ${((attempt.finishedAt!.getTime() - attempt.startedAt.getTime()) / 1000).toFixed(2)} s`);
    say(`   backup-verify's steps: ${steps.join(', ')}`);
  } finally {
    await executor?.stop();
    await source.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const db = await createTestDatabase('acgs_bench_runbooks');
  const pool = createPool({ databaseUrl: db.url, max: 6, applicationName: 'acgs-bench-runbooks' });
  try {
    await migrateRunStore(pool);
    const store = createRunStore(pool);
    say(`bench:runbooks on ${execFileSync('nproc').toString().trim()} cores, PostgreSQL at ${new URL(TEST_POSTGRES_URL).host}`);
    if (!SKIP.has('overhead')) await stepOverhead(db, pool, store);
    if (!SKIP.has('takeover')) await takeover(db, pool, store);
    if (!SKIP.has('backup')) await backupSideBySide(pool, store);
  } finally {
    await pool.end();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
