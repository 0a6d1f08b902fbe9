/**
 * The watch's real sampler (watch.ts): the Policy Engine's figures from its JSON metrics
 * (GET /v1/metrics, the client the `metrics` command uses) and every health check the `health`
 * command makes (each service's /health, the policy, PostgreSQL and Redis when configured).
 *
 * How each figure is made:
 * - p99: the engine's own, from its HDR histograms of the last minute (six 10 s slices, merged:
 *   services/policy-engine/latency-window.ts). Sampled every 15 s, so each sample also sees the
 *   previous 45 s: a slow release shows in about one sample, and one slow burst lasts four. Null
 *   when the window holds no evaluation (p99 0: no traffic).
 * - error rate: server errors (5xx) over requests between this sample and the previous one, from
 *   the engine's counters; null when no request came in between. A counter that went down means the
 *   engine restarted (a new replica): the counts since its start are the interval then.
 * - safety violations per minute: the growth of the engine's violations counter over the time
 *   between the two samples' answers (the engine's uptime is whole seconds: too coarse for it).
 * The first sample has no previous one: its rates are the engine's since its start (error rate)
 * and over its last minute (violations), which is what a baseline taken before a deploy wants.
 * A health check that timed out makes the sample one not taken (an error), not a failing check.
 */
import { answeredTooLate, runHealthChecks, HEALTH_TARGETS, type HealthTarget } from '../../commands/health.js';
import { withDeadline } from '../../commands/health-probes.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { WatchFigures, WatchSampler } from './watch.js';

/** Decisions since the previous sample below which the p99 says nothing about the release. */
export const MIN_DECISIONS_FOR_P99 = 10;

export interface WatchSamplerOptions {
  services: Pick<CommandDependencies, 'endpoints' | 'policyEngine' | 'checkTimeoutMs' | 'database' | 'redis'>;
  /** The health checks that count (default: all of `health`'s). */
  healthTargets?: readonly HealthTarget[];
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  now?: () => number;
  /**
   * What a health check with no answer in time makes of the sample: `not-taken` (the watch's: it
   * says nothing about the release) or `failing` (the baseline's: a figure to compare with, which
   * must not stop the deploy before it starts on a busy machine).
   */
  lateChecks?: 'not-taken' | 'failing';
}

interface Counters {
  requests: number;
  errors: number;
  violations: number;
  uptimeSeconds: number;
  /** When the metrics answered, on the sampler's clock. */
  atMs: number;
}

export function createWatchSampler(options: WatchSamplerOptions): WatchSampler {
  const { services } = options;
  const targets = options.healthTargets ?? HEALTH_TARGETS;
  const clock = options.now ?? (() => performance.now());
  let previous: Counters | undefined;

  async function readMetrics(signal: AbortSignal) {
    try {
      const metrics = await withDeadline(services.checkTimeoutMs, signal, () => services.policyEngine.metrics());
      return { metrics, atMs: clock() };
    } catch (error) {
      throw new Error(`the Policy Engine's metrics could not be read (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  return {
    async sample(signal) {
      const [{ metrics, atMs }, checks] = await Promise.all([
        readMetrics(signal),
        Promise.all(targets.map((target) => runHealthChecks({ services: services as CommandDependencies, signal }, target))).then((each) => each.flat()),
      ]);
      // A check with no answer within its deadline (a busy Sandbox Controller taking over 2 s) says
      // nothing about whether the release works: the sample is not taken, rather than counted as a
      // service down. A refused connection or an unhealthy answer still is one.
      const late = options.lateChecks === 'failing' ? [] : checks.filter((check) => answeredTooLate(check, services.checkTimeoutMs));
      if (late.length > 0) {
        throw new Error(`${late.map((check) => check.name).join(', ')} did not answer ${late.length === 1 ? 'its health check' : 'their health checks'} within ${services.checkTimeoutMs} ms`);
      }
      const now: Counters = { requests: metrics.request_count, errors: metrics.error_count, violations: metrics.safety_violations_total, uptimeSeconds: metrics.uptime_seconds, atMs };
      const restarted = previous !== undefined && (now.requests < previous.requests || now.violations < previous.violations || now.uptimeSeconds < previous.uptimeSeconds);
      const since = previous === undefined || restarted ? undefined : previous;
      previous = now;

      const requests = now.requests - (since?.requests ?? 0);
      const errorRate = requests > 0 ? (now.errors - (since?.errors ?? 0)) / requests : null;
      let safetyViolationsPerMinute: number | null;
      if (since) {
        const minutes = (now.atMs - since.atMs) / 60_000;
        safetyViolationsPerMinute = minutes > 0 ? (now.violations - since.violations) / minutes : null;
      } else {
        safetyViolationsPerMinute = metrics.safety_violations_per_minute;
      }
      const figures: WatchFigures = {
        // A p99 of a handful of decisions is the slowest one (a cold cache, the deploy's own checks): not judged.
        policyP99Ms: metrics.percentiles.p99 > 0 && requests >= MIN_DECISIONS_FOR_P99 ? metrics.percentiles.p99 : null,
        errorRate,
        safetyViolationsPerMinute,
        health: checks.map((check) => ({ name: check.name, failing: check.tone === 'fail', status: check.detail ? `${check.status} (${check.detail})` : check.status })),
      };
      return figures;
    },
  };
}
