/**
 * The metrics history over a real Prometheus (Debian's binary): it scrapes, every second, an
 * exporter of this test that exposes the Policy Engine's and the services' series under their
 * real names (services/policy-engine/engine-stats.ts, services/kit/service.ts) with traffic of
 * known proportions, and the history's query_range answers the catalogue's metrics from them.
 * Prometheus not answering, answering with an error, or not being Prometheus: each is a
 * "metrics history unavailable: ..." that names the cause.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { createPrometheusHistory } from '../../bot/metrics-history/prometheus-history.js';
import { MetricsHistoryUnavailable, type MetricsHistory } from '../../bot/metrics-history/metrics-history.js';
import { startPrometheus, type RunningTool } from '../testing/prometheus-processes.js';
import { missingPrometheusTools } from '../testing/prometheus-tools.js';
import { unusedLoopbackPort, unusedLoopbackUrl } from '../testing/loopback.js';

const missing = await missingPrometheusTools();

/** The series as the Policy Engine exposes them: 1 % errors, 90 % cache hits, decisions of 0.8 ms, 40 % memory. */
function policyEngineExporter() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'policy-engine' });
  const registers = [registry];
  const requests = new Counter({ name: 'policy_requests_total', help: 'requests', labelNames: ['outcome'] as const, registers });
  const cacheHits = new Counter({ name: 'policy_cache_hits_total', help: 'hits', labelNames: ['level'] as const, registers });
  const evaluations = new Counter({ name: 'policy_evaluations_total', help: 'evaluations', registers });
  const violations = new Counter({ name: 'policy_safety_violations_total', help: 'violations', registers });
  const duration = new Histogram({ name: 'policy_decision_duration_seconds', help: 'duration', buckets: [0.0005, 0.001, 0.005], registers });
  const cpu = new Counter({ name: 'process_cpu_seconds_total', help: 'cpu', registers });
  new Gauge({ name: 'process_resident_memory_bytes', help: 'rss', registers }).set(400e6);
  new Gauge({ name: 'service_memory_limit_bytes', help: 'limit', registers }).set(1e9);
  const healthy = new Gauge({ name: 'service_healthy', help: 'healthy', registers });
  healthy.set(1);
  // One tick's increments happen together, so every scrape sees the same proportions.
  const traffic = setInterval(() => {
    requests.inc({ outcome: 'ok' }, 99);
    requests.inc({ outcome: 'error' }, 1);
    cacheHits.inc({ level: 'l1' }, 9);
    evaluations.inc(1);
    violations.inc(1);
    for (let i = 0; i < 10; i++) duration.observe(0.0008);
    cpu.inc(0.025);
  }, 100);
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    void registry.metrics().then((text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  return { server, healthy, stop: () => clearInterval(traffic) };
}

const exporter = policyEngineExporter();
let exporterPort = 0;
let prometheus: RunningTool | undefined;
let history: MetricsHistory;
/** A server that takes connections and never answers. */
const hung: Server = createServer(() => undefined);

function prometheusConfig(port: number): string {
  return YAML.stringify({
    global: { scrape_interval: '1s', scrape_timeout: '900ms' },
    scrape_configs: [{ job_name: 'acgs-services', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${port}`], labels: { service: 'policy-engine' } }] }],
  });
}

async function lastValue(metric: Parameters<MetricsHistory['query']>[0]['metric'], service = 'policy-engine'): Promise<number | undefined> {
  const now = Date.now();
  const [series] = await history.query({ metric, service: service as never, from: new Date(now - 3000), to: new Date(now), stepMs: 1000 });
  return series!.points.at(-1)?.value;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms; Prometheus:\n${prometheus?.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function teardown(): Promise<void> {
  exporter.stop();
  await prometheus?.stop();
  await new Promise<void>((resolve) => exporter.server.close(() => resolve()));
  hung.closeAllConnections();
  await new Promise<void>((resolve) => hung.close(() => resolve()));
}

describe.skipIf(missing.length > 0)(`metrics history through Prometheus${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not on PATH)` : ''}`, () => {
  beforeAll(async () => {
    try {
      exporterPort = await unusedLoopbackPort();
      await new Promise<void>((resolve) => exporter.server.listen(exporterPort, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      prometheus = await startPrometheus({ port: await unusedLoopbackPort(), config: prometheusConfig(exporterPort), rules: 'groups: []\n' });
      history = createPrometheusHistory({ url: prometheus.url });
      // Rates need two scrapes in their window.
      await waitFor('an error rate from three scrapes', async () => (await lastValue('error_rate_percent')) !== undefined, 30_000);
      // The tests read four whole seconds ending at the last whole second, up to 5 s back: a point
      // has a value only once a scrape came before it, so wait until one came 6 s ago.
      await waitFor('six seconds scraped', async () => {
        const [series] = await history.query({ metric: 'service_up', service: 'policy-engine', from: new Date(Date.now() - 6000), to: new Date(), stepMs: 1000 });
        return series!.points.length >= 6;
      }, 30_000);
    } catch (error) {
      await teardown();
      throw error;
    }
  }, 60_000);
  afterAll(teardown, 30_000);

  it('answers the error rate and cache hit rate as the rules compute them, in percent', async () => {
    expect(await lastValue('error_rate_percent')).toBeCloseTo(1, 6);
    expect(await lastValue('cache_hit_rate_percent')).toBeCloseTo(90, 6);
  });

  it('answers the p99 from the decision histogram in milliseconds, within its bucket', async () => {
    const p99 = (await lastValue('p99_latency_ms'))!;
    expect(p99).toBeGreaterThan(0.5);
    expect(p99).toBeLessThanOrEqual(1);
  });

  it('answers the p50 and p95 from the same histogram, interpolated within the bucket every decision fell in', async () => {
    // Every decision took 0.8 ms, in the bucket 0.5 to 1 ms: histogram_quantile places the q-th at 0.5 + q * 0.5.
    expect(await lastValue('p50_latency_ms')).toBeCloseTo(0.75, 6);
    expect(await lastValue('p95_latency_ms')).toBeCloseTo(0.975, 6);
  });

  it('answers memory against its limit, memory in bytes, CPU in percent of a core, and counts a minute', async () => {
    expect(await lastValue('memory_percent')).toBeCloseTo(40, 6);
    expect(await lastValue('memory_bytes')).toBe(400e6);
    const cpu = (await lastValue('cpu_percent'))!;
    // 25 % of a core, but rate() over a minute's window holding only the seconds scraped so far reads less.
    expect(cpu).toBeGreaterThan(0);
    expect(cpu).toBeLessThanOrEqual(25.5);
    // 10 a second, extrapolated over the minute's window from the seconds scraped so far.
    expect(await lastValue('safety_violations')).toBeGreaterThan(0);
  });

  it('stamps each point with the start of its step, and answers a series per service asked, empty where nothing is scraped', async () => {
    const to = new Date(Math.floor(Date.now() / 1000) * 1000);
    const from = new Date(to.getTime() - 4000);
    const all = await history.query({ metric: 'service_up', from, to, stepMs: 1000 });
    expect(all.map((series) => series.service)).toEqual(['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine']);
    const engine = all.find((series) => series.service === 'policy-engine')!;
    expect(engine).toMatchObject({ resolution: 'prometheus', stepMs: 1000 });
    expect(engine.points.map((point) => point.time.getTime() - from.getTime())).toEqual([0, 1000, 2000, 3000]);
    expect(engine.points.every((point) => point.value === 1)).toBe(true);
    expect(all.find((series) => series.service === 'audit-engine')!.points).toEqual([]);
  });

  it('counts a service that says it is unhealthy as down, in its series and its uptime', async () => {
    const downSince = Date.now();
    exporter.healthy.set(0);
    try {
      // Down for two whole seconds: the uptime's averages are taken at whole seconds.
      const downPoints = async () => {
        const [series] = await history.query({ metric: 'service_up', service: 'policy-engine', from: new Date(Date.now() - 4000), to: new Date(), stepMs: 1000 });
        return series!.points.filter((point) => point.value === 0).length;
      };
      await waitFor('two seconds of service_up 0', async () => (await downPoints()) >= 2, 10_000);
      const [uptime] = await history.uptime({ from: new Date(downSince - 5000), to: new Date(), service: 'policy-engine' });
      expect(uptime!.upFraction).toBeGreaterThan(0);
      expect(uptime!.upFraction).toBeLessThan(1);
    } finally {
      exporter.healthy.set(1);
    }
  });

  it('names Prometheus not answering', async () => {
    const url = await unusedLoopbackUrl();
    const down = createPrometheusHistory({ url });
    const asked = down.query({ metric: 'p99_latency_ms', from: new Date(Date.now() - 60_000), to: new Date() });
    await expect(asked).rejects.toBeInstanceOf(MetricsHistoryUnavailable);
    await expect(asked).rejects.toThrow(`metrics history unavailable: Prometheus at ${url} could not be reached (ECONNREFUSED)`);
    await expect(down.uptime({ from: new Date(Date.now() - 60_000), to: new Date() })).rejects.toThrow(/^metrics history unavailable: Prometheus at .* could not be reached/);
  });

  it('names Prometheus hanging', async () => {
    const address = hung.address() as { port: number };
    const slow = createPrometheusHistory({ url: `http://127.0.0.1:${address.port}`, timeoutMs: 300 });
    await expect(slow.query({ metric: 'requests', from: new Date(Date.now() - 60_000), to: new Date() })).rejects.toThrow(`metrics history unavailable: Prometheus at http://127.0.0.1:${address.port} did not answer within 300 ms`);
  });

  it('names a URL that is not Prometheus', async () => {
    const notPrometheus = createPrometheusHistory({ url: `http://127.0.0.1:${exporterPort}` });
    await expect(notPrometheus.query({ metric: 'requests', from: new Date(Date.now() - 60_000), to: new Date() })).rejects.toThrow(
      `metrics history unavailable: Prometheus at http://127.0.0.1:${exporterPort} answered HTTP 404 without a Prometheus API answer`,
    );
  });

  it('names what Prometheus refused', async () => {
    // Prometheus itself refusing: the query is broken on its way there.
    const breaking: typeof fetch = (input, init) => {
      const body = new URLSearchParams(String(init?.body));
      body.set('query', 'sum(');
      return fetch(input, { ...init, body });
    };
    const refused = createPrometheusHistory({ url: prometheus!.url, fetch: breaking });
    await expect(refused.query({ metric: 'requests', from: new Date(Date.now() - 60_000), to: new Date() })).rejects.toThrow(/^metrics history unavailable: Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query \(bad_data: .+\)$/);
  });
});

describe('the Prometheus history refuses bad settings and queries before asking', () => {
  it.each([['not a url', /PROMETHEUS_URL is not a URL/], ['ftp://127.0.0.1:9090', /PROMETHEUS_URL must be http or https, not ftp:/]])('refuses PROMETHEUS_URL %s', (url, message) => {
    expect(() => createPrometheusHistory({ url })).toThrow(message);
  });

  it('refuses a query the sampler would refuse, without a request', async () => {
    let asked = 0;
    const counting = createPrometheusHistory({ url: 'http://127.0.0.1:9', fetch: async () => (asked++, new Response('{}')) });
    await expect(counting.query({ metric: 'p99_latency_ms', from: new Date(0), to: new Date(90 * 24 * 3600_000), stepMs: 60_000 })).rejects.toThrow(/too many/);
    expect(asked).toBe(0);
  });
});
