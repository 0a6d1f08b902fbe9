/**
 * `npm run bench:reports` (issue 15, "Performance"): the metrics history the reports read, the
 * daily report built over it, and the sampler that fills it. On a fresh database of the real
 * PostgreSQL:
 *
 * 1. 90 days of minute samples for every series the sampler keeps (21: 9 metrics, per service
 *    where they are per service; 129,600 rows a series) written by one generate_series statement
 *    (bot/metrics-history/testing/fill-history.ts), then rolled up to hours as the sampler would
 *    have: both timed.
 * 2. The reports' range queries over it, every metric for every service, BENCH_QUERY_ROUNDS (20)
 *    rounds each: the last 24 h (minute rows, a point a minute), 7 days and 90 days (hourly rows,
 *    a point an hour), and violations per day over 90 days. All 90 days of minutes stay in the
 *    table (retention would keep 7), so the minute index is as large as it ever gets.
 * 3. The daily report over those 90 days (issue 15's goal: built and rendered in under 2 s, with
 *    its chart PNGs): BENCH_REPORT_ROUNDS (10) rounds of what makeDailyReport does without a
 *    poster, each part timed: gather (gatherDailyReport: the four services' health checks and the
 *    Audit Engine's checkpoint verification over HTTP, the history's 24 h of minutes and uptime,
 *    the night's alerts from the real alert store, the backup catalog), render (the chart PNGs)
 *    and the result document. The first round (cold: JIT, Vega's first parse) is shown apart.
 * 4. The sampler's cost: BENCH_SAMPLER_BEATS (30) beats of the real sampler (readStack over HTTP
 *    against the four services as `npm start` runs them, the samples written, the last two hours
 *    rolled up, retention applied) back to back; this process's CPU per beat (user + system) and
 *    the beat's wall time, as a share of one core at one beat a minute. PostgreSQL's own CPU is
 *    inside the wall time, not the CPU figure. Goal: under 1 % of one core.
 *
 * `--json <file>` also writes the figures as JSON. BENCH_SKIP (comma-separated) leaves parts out:
 * `queries` part 2, `daily` part 3, `sampler` part 4; the fixture (part 1) is made when part 2 or
 * 3 runs. Part 4 runs last: its retention deletes the fixture's older minutes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { readStack } from '../bot/alerts/stack-reading.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../bot/command-path/index.js';
import { METRIC_NAMES, type MetricName } from '../bot/metrics-history/metric-catalogue.js';
import { createSamplerBeat } from '../bot/metrics-history/metrics-sampler.js';
import { createSampleStore, migrateMetricsHistory } from '../bot/metrics-history/sample-store.js';
import { everySeries, fillHistory } from '../bot/metrics-history/testing/fill-history.js';
import { createPool } from '../services/kit/postgres.js';
import type { ServiceName } from '../services/kit/service-ports.js';
import { startLocalServices, type LocalServices } from '../services/stack/local/local-services.js';
import { createLocalStack } from '../services/stack/local/local-stack.js';
import { unusedLoopbackPort } from '../test/testing/loopback.js';
import { benchDailyReport } from './reports/daily-report.js';
import { percentile } from './reports/percentile.js';
import { createTestDatabase } from '../test/testing/postgres.js';

const DAY = 24 * 3600_000;
const ROUNDS = Number(process.env.BENCH_QUERY_ROUNDS ?? 20);
const BEATS = Number(process.env.BENCH_SAMPLER_BEATS ?? 30);
const REPORT_ROUNDS = Number(process.env.BENCH_REPORT_ROUNDS ?? 10);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const SERVICES: readonly ServiceName[] = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'];
const jsonIndex = process.argv.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;

const fixed = (value: number, digits = 1) => value.toFixed(digits);

interface QueryFigures {
  range: string;
  resolution: string;
  /** Points in one series. */
  points: number;
  /** Every metric for every service once: what one report asks. */
  p50Ms: number;
  p99Ms: number;
}

async function timeQueries(name: string, run: () => Promise<{ points: number; resolution: string }>): Promise<QueryFigures> {
  const times: number[] = [];
  let shape = { points: 0, resolution: '' };
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    shape = await run();
    times.push(performance.now() - started);
  }
  return { range: name, ...shape, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/** The four services as `npm start` runs them, on spare loopback ports, and the command dependencies that reach them. */
async function startServices(cleanups: Array<() => Promise<unknown> | unknown>): Promise<CommandPathDependencies> {
  const stateDir = mkdtempSync(join(tmpdir(), 'acgs-bench-reports-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const ports = {} as Record<ServiceName, number>;
  for (const service of SERVICES) ports[service] = await unusedLoopbackPort();
  const services: LocalServices = await startLocalServices({ stateDir, ports, env: { ACGS_STATE_DIR: stateDir }, log: () => undefined });
  cleanups.push(() => services.stop());
  for (const child of services.processes) {
    if (!(await child.waitUntilHealthy(60_000))) throw new Error(`${child.name} did not become healthy`);
  }
  const stack = createLocalStack({ processes: services.processes, stateDir });
  cleanups.push(() => stack.close());
  return createCommandPathDependencies({ endpoints: services.endpoints, stack, checkTimeoutMs: 2000 });
}

async function main(): Promise<void> {
  console.log(`bench:reports on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const figures: Record<string, unknown> = {};
  try {
    const db = await createTestDatabase('acgs_bench_reports');
    cleanups.push(() => db.drop());
    const pool: pg.Pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-bench-reports' });
    cleanups.push(() => pool.end());
    await migrateMetricsHistory(pool);
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    // Retention is the default (7 days of minutes), but nothing is pruned: all 90 days of minutes stay.
    const store = createSampleStore({ pool, now: () => now });

    // 1. The fixture.
    const series = everySeries();
    if (!SKIP.has('queries') || !SKIP.has('daily')) {
      const fillStarted = performance.now();
      const filled = await fillHistory(pool, store, { from: new Date(now.getTime() - 90 * DAY), to: now }, series);
      const fillMs = performance.now() - fillStarted;
      await pool.query('VACUUM ANALYZE metric_samples');
      await pool.query('VACUUM ANALYZE metric_hourly');
      const size = await pool.query<{ bytes: string }>("SELECT pg_total_relation_size('metric_samples') + pg_total_relation_size('metric_hourly') AS bytes");
      figures.fixture = { series: series.length, minuteRows: filled.minutes, hourRows: filled.hours, rowsPerSeries: filled.minutes / series.length, fillAndRollUpMs: fillMs, bytes: Number(size.rows[0]!.bytes) };
      console.log(`\n1. fixture: ${series.length} series x ${filled.minutes / series.length} minutes = ${filled.minutes.toLocaleString('en')} minute rows, ${filled.hours.toLocaleString('en')} hour rows, written and rolled up in ${fixed(fillMs / 1000)} s; ${fixed(Number(size.rows[0]!.bytes) / 2 ** 20)} MiB`);
    }

    // 2. The reports' queries: every metric for every service that has it, as one report asks.
    if (!SKIP.has('queries')) {
      const everyMetric = (days: number, extra: { stepMs?: number; metrics?: readonly MetricName[] } = {}) => async () => {
        const answers = await Promise.all((extra.metrics ?? METRIC_NAMES).map((metric) => store.query({ metric, from: new Date(now.getTime() - days * DAY), to: now, ...(extra.stepMs ? { stepMs: extra.stepMs } : {}) })));
        const first = answers[0]![0]!;
        return { points: Math.max(...answers.flat().map((one) => one.points.length)), resolution: first.resolution };
      };
      const queries = [
        await timeQueries('24 h, a point a minute', everyMetric(1)),
        await timeQueries('7 days, a point an hour', everyMetric(7)),
        await timeQueries('90 days, a point an hour', everyMetric(90)),
        await timeQueries('90 days of violations a day', everyMetric(90, { stepMs: DAY, metrics: ['safety_violations'] })),
      ];
      figures.queries = queries;
      console.log(`\n2. range queries, every metric for every service (${series.length} series), ${ROUNDS} rounds each:`);
      console.log('| range | rows read | points per series | p50 ms | p99 ms |\n|---|---|---|---|---|');
      for (const query of queries) console.log(`| ${query.range} | ${query.resolution} | ${query.points} | ${fixed(query.p50Ms)} | ${fixed(query.p99Ms)} |`);
    }

    // Parts 3 and 4 talk to the four services as `npm start` runs them.
    const deps = SKIP.has('daily') && SKIP.has('sampler') ? undefined : await startServices(cleanups);

    // 3. The daily report over the 90 days (before part 4, whose retention deletes most of them).
    if (deps && !SKIP.has('daily')) {
      const daily = await benchDailyReport({ pool, history: store, services: deps, now, rounds: REPORT_ROUNDS, log: console.log });
      figures.dailyReport = daily;
    }

    // 4. The sampler against the four services.
    if (deps && !SKIP.has('sampler')) {
      // The live store: its clock is the real one, so each beat writes a new minute.
      let minute = 0;
      const clock = () => new Date(now.getTime() + ++minute * 60_000);
      const live = createSampleStore({ pool, now: clock });
      const beat = createSamplerBeat(live, clock);
      const signal = new AbortController().signal;
      await beat(await readStack(deps, signal, clock));
      const cpuTimes: number[] = [];
      const wallTimes: number[] = [];
      const storeTimes: number[] = [];
      let written = 0;
      for (let i = 0; i < BEATS; i++) {
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const reading = await readStack(deps, signal, clock);
        const read = performance.now();
        const result = await beat(reading);
        wallTimes.push(performance.now() - started);
        storeTimes.push(performance.now() - read);
        const cpu = process.cpuUsage(cpuBefore);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
        written += result.written;
      }
      const cpuMs = cpuTimes.reduce((a, b) => a + b, 0) / BEATS;
      const wallMs = wallTimes.reduce((a, b) => a + b, 0) / BEATS;
      const storeMs = storeTimes.reduce((a, b) => a + b, 0) / BEATS;
      figures.sampler = { beats: BEATS, samplesPerBeat: written / BEATS, cpuMsPerBeat: cpuMs, cpuP99Ms: percentile(cpuTimes, 99), wallMsPerBeat: wallMs, wallP99Ms: percentile(wallTimes, 99), storeMsPerBeat: storeMs, storeP99Ms: percentile(storeTimes, 99), corePercentAtOneBeatAMinute: (cpuMs / 60_000) * 100 };
      console.log(`\n4. sampler, ${BEATS} beats against the four local services (${fixed(written / BEATS, 0)} samples a beat):`);
      console.log('| per beat | mean ms | p99 ms | share of one core at a beat a minute |\n|---|---|---|---|');
      console.log(`| bot CPU (user + system) | ${fixed(cpuMs)} | ${fixed(percentile(cpuTimes, 99))} | ${fixed((cpuMs / 60_000) * 100, 3)} % |`);
      console.log(`| wall, the whole beat (the reading waits on the services and the stats' CPU window) | ${fixed(wallMs)} | ${fixed(percentile(wallTimes, 99))} | |`);
      console.log(`| wall, the store's part (write, roll-up, retention: PostgreSQL's work is inside it) | ${fixed(storeMs)} | ${fixed(percentile(storeTimes, 99))} | at most ${fixed((storeMs / 60_000) * 100, 3)} % |`);
    }
    if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ bench: 'reports', at: new Date().toISOString(), cores: cpus().length, load: loadavg(), ...figures }, null, 2)}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
