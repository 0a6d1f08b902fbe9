/**
 * What the built-in monitor reads each time, through what the commands use (`health`'s checks, the
 * Policy Engine client of `metrics`, the Stack port of `stats` and `list`), and the observations the rules
 * judge. Reading is the only IO; `observe` is pure. SandboxFailures has no figure here (the
 * controller keeps no failure count): only Prometheus's rules judge it.
 */
import { runHealthChecks, type HealthCheckData } from '../../commands/health.js';
import { withDeadline } from '../../commands/health-probes.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import type { ContainerStats, ServiceStatus, StackKind } from '../../services/stack/stack.js';
import { ALERT_RULES, type AlertRuleName } from './alert-rules.js';
import type { MonitorSample, Observation } from './rule-evaluation.js';

export interface StackReading {
  /** When the reading ended: the sample's time. */
  at: Date;
  /**
   * When the reading began, every check being sent then: a service found down was not answering
   * from here (a check that waited its timeout saw so the whole time). Absent: at `at`.
   */
  startedAt?: Date;
  /** The /health check of each service (the row named after the service). */
  health: readonly HealthCheckData[];
  /** Absent when the Policy Engine did not answer. */
  metrics?: PolicyMetrics;
  /** Absent without a Stack port or when it could not measure. */
  stats?: readonly ContainerStats[];
  /** The Stack port's listing (crash counts, held replicas) and its kind; absent without a Stack port or when it did not answer. */
  replicas?: readonly ServiceStatus[];
  stackKind?: StackKind;
}

/** A service whose health check fails: unreachable, or saying so itself. Degraded is not down. */
const DOWN_STATUSES = new Set(['unreachable', 'unhealthy']);

/**
 * `healthTimeoutMs` is the health checks' deadline (default: the commands' `checkTimeoutMs`); the
 * monitor's is longer than the services' own checks of their dependencies (see README.md).
 */
export async function readStack(services: CommandDependencies, signal: AbortSignal, now: () => Date, healthTimeoutMs = services.checkTimeoutMs): Promise<StackReading> {
  const startedAt = now();
  const context = { services: { ...services, checkTimeoutMs: healthTimeoutMs }, signal };
  // Each read has the health checks' deadline: a hung Policy Engine must not hold back the beat
  // that reports another service down.
  const within = <T>(work: () => Promise<T>) => withDeadline(services.checkTimeoutMs, signal, work).catch(() => undefined);
  const stack = services.stack;
  // The listing (crash counts, held services) never lengthens a beat: one not back when the rest
  // is (a frozen service's probe waits out the whole deadline) has missed this beat, and the
  // health checks' judgement is not held back for it.
  let replicas: readonly ServiceStatus[] | undefined;
  if (stack) {
    void within(() => stack.list()).then((listed) => {
      replicas = listed;
    });
  }
  const [health, metrics, stats] = await Promise.all([
    Promise.all(SERVICE_NAMES.map((service) => runHealthChecks(context, service))).then((rows) => rows.flat().filter((row) => row.name === row.target)),
    within(() => services.policyEngine.metrics()),
    stack ? within(() => stack.stats()) : Promise.resolve(undefined),
  ]);
  return { at: now(), startedAt, health, ...(metrics ? { metrics } : {}), ...(stats ? { stats } : {}), ...(replicas && stack ? { replicas, stackKind: stack.kind } : {}) };
}

function observation(rule: AlertRuleName, labels: Record<string, string>, value: number, breaching: boolean): Observation {
  return { rule, labels, value, breaching };
}

const above = (rule: AlertRuleName, value: number) => value > ALERT_RULES[rule].threshold;
const below = (rule: AlertRuleName, value: number) => value < ALERT_RULES[rule].threshold;

function metricObservations(metrics: PolicyMetrics): Observation[] {
  const labels = { service: 'policy-engine' satisfies ServiceName };
  // The rules are in percent; the engine reports fractions. Nothing to judge before the first request or lookup.
  const served = metrics.request_count > 0;
  const lookups = metrics.cache_stats.l1.hits + metrics.cache_stats.l1.misses > 0;
  const p99 = metrics.percentiles.p99;
  const errorPercent = metrics.error_rate * 100;
  const hitPercent = metrics.cache_hit_rate * 100;
  const violations = metrics.safety_violations_per_minute;
  return [
    observation('HighP99Latency', labels, p99, served && above('HighP99Latency', p99)),
    observation('HighErrorRate', labels, errorPercent, served && above('HighErrorRate', errorPercent)),
    observation('LowCacheHitRate', labels, hitPercent, lookups && below('LowCacheHitRate', hitPercent)),
    observation('ConstitutionalViolations', labels, violations, above('ConstitutionalViolations', violations)),
  ];
}

function resourceObservations(stats: readonly ContainerStats[]): Observation[] {
  return stats.flatMap((sample) => {
    const labels = { service: sample.service, replica: sample.replica };
    return [observation('HighCpu', labels, sample.cpuPercent, above('HighCpu', sample.cpuPercent)), observation('HighMemory', labels, sample.memory.percent, above('HighMemory', sample.memory.percent))];
  });
}

/** Services whose every replica is held stopped through the Stack port (a restore's writers). */
export function heldServices(replicas: readonly ServiceStatus[] | undefined): Set<string> {
  return new Set((replicas ?? []).filter((service) => service.replicas.length > 0 && service.replicas.every((replica) => replica.held)).map((service) => service.name));
}

/**
 * A held service is not down: it was stopped on purpose and its ServiceDown is suspended (no page,
 * no Level 1) until it is started again; the run that holds it tells its own progress.
 */
export function observe(reading: StackReading): MonitorSample {
  const evaluated = new Set<AlertRuleName>(['ServiceDown']);
  const held = heldServices(reading.replicas);
  const observations = reading.health.map((check) => {
    const down = DOWN_STATUSES.has(check.status);
    const seen = { ...observation('ServiceDown', { service: check.target }, down ? 1 : 0, down), ...(held.has(check.target) ? { suspended: true } : {}) };
    return down && reading.startedAt ? { ...seen, since: reading.startedAt } : seen;
  });
  if (reading.metrics) {
    observations.push(...metricObservations(reading.metrics));
    for (const rule of ['HighP99Latency', 'HighErrorRate', 'LowCacheHitRate', 'ConstitutionalViolations'] as const) evaluated.add(rule);
  }
  if (reading.stats) {
    observations.push(...resourceObservations(reading.stats));
    evaluated.add('HighCpu').add('HighMemory');
  }
  return { at: reading.at, observations, evaluated };
}
