/**
 * The MetricsHistory port over Prometheus's HTTP API (`PROMETHEUS_URL`): one query_range per
 * query, with the expressions of prometheus-queries.ts. Prometheus stamps a point with the end of
 * the window it covers; the port's points carry the step's start, as the sampler's do, so the
 * range is asked from `from + step` and each point moved back a step.
 *
 * Whatever keeps Prometheus from answering (not reachable, an error answer, not Prometheus at
 * all) is a MetricsHistoryUnavailable naming it, which a report shows in place of its charts.
 */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { checkQuery, MetricsHistoryUnavailable, uptimeFromSeries, type MetricQuery, type MetricSeries, type MetricsHistory } from './metrics-history.js';
import { promqlFor } from './prometheus-queries.js';

export interface PrometheusHistoryOptions {
  /** Prometheus's base URL (`PROMETHEUS_URL`), e.g. http://prometheus:9090. */
  url: string;
  /** Per request; a report must not wait on a hung Prometheus for long. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const QueryRangeAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({
      resultType: z.literal('matrix'),
      result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })),
    }),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);

const isService = (name: string | undefined): name is ServiceName => name !== undefined && (SERVICE_NAMES as readonly string[]).includes(name);

export function parsePrometheusUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`PROMETHEUS_URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`PROMETHEUS_URL must be http or https, not ${parsed.protocol}`);
  return parsed;
}

export function createPrometheusHistory(options: PrometheusHistoryOptions): MetricsHistory {
  const base = parsePrometheusUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const fetchImpl = options.fetch ?? fetch;
  const where = `Prometheus at ${base.origin}`;

  async function queryRange(expression: string, start: Date, end: Date, stepMs: number) {
    const url = new URL('api/v1/query_range', base.href.endsWith('/') ? base : `${base.href}/`);
    const body = new URLSearchParams({ query: expression, start: String(start.getTime() / 1000), end: String(end.getTime() / 1000), step: String(stepMs / 1000) });
    let response: Response;
    try {
      response = await fetchImpl(url, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      const reason = (error as Error).name === 'TimeoutError' ? `did not answer within ${timeoutMs} ms` : `could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`;
      throw new MetricsHistoryUnavailable(`${where} ${reason}`, { cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MetricsHistoryUnavailable(`${where} answered HTTP ${response.status} without a Prometheus API answer`);
    }
    const answer = QueryRangeAnswer.safeParse(json);
    if (!answer.success) throw new MetricsHistoryUnavailable(`${where} answered HTTP ${response.status} with something other than a range query's result`);
    if (answer.data.status === 'error') throw new MetricsHistoryUnavailable(`${where} refused the query (${answer.data.errorType ?? 'error'}: ${answer.data.error})`);
    return answer.data.data.result;
  }

  const history: MetricsHistory = {
    source: where,
    async query(asked: MetricQuery): Promise<MetricSeries[]> {
      const checked = checkQuery(asked);
      const start = new Date(checked.from.getTime() + checked.stepMs);
      // A range shorter than one step is still one point, over the whole range.
      const end = start.getTime() <= checked.to.getTime() ? checked.to : start;
      const result = await queryRange(promqlFor(checked.metric, checked.stat, checked.stepMs), start, end, checked.stepMs);
      return checked.services.map((service) => {
        const found = result.find((series) => isService(series.metric.service) && series.metric.service === service);
        const points = (found?.values ?? [])
          .map(([seconds, value]) => ({ time: new Date(seconds * 1000 - checked.stepMs), value: Number(value) }))
          // NaN is Prometheus's "no traffic" (0 / 0): no point, as the sampler stores none then.
          .filter((point) => Number.isFinite(point.value));
        return { metric: checked.metric, service, resolution: 'prometheus' as const, stepMs: checked.stepMs, points };
      });
    },
    uptime: (range) => uptimeFromSeries(history, range),
  };
  return history;
}
