/**
 * The post-deployment watch (OPERATIONAL_RUNBOOK.md, "Deployment"): after a release is rolled out,
 * the stack is sampled every 15 s for 15 minutes, and each sample is held against the runbook's
 * thresholds (commands/thresholds.ts). Three breaching samples in a row call for a rollback; four
 * samples in a row that could not be taken (the metrics, or a health check in time, did not answer) stop for a person, since
 * not knowing is no reason to roll back; the window ending clean passes the release.
 *
 * Only logic: the clock and the sampler are handed in, so a test drives a whole window in
 * milliseconds and chooses every figure. watch-sampler.ts reads the real stack.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RUNBOOK_THRESHOLDS } from '../../commands/thresholds.js';
import { formatDuration } from '../../commands/format.js';

/** What one sample found. A figure is null when there was nothing to measure (no requests since the last sample). */
export interface WatchFigures {
  /** The Policy Engine's p99 evaluation latency, in ms. */
  policyP99Ms: number | null;
  /** Share of the Policy Engine's requests that failed (5xx) since the previous sample, 0 to 1. */
  errorRate: number | null;
  /** Safety violations per minute since the previous sample. */
  safetyViolationsPerMinute: number | null;
  /** Each health check, and whether it failed (unreachable, unhealthy). */
  health: ReadonlyArray<{ name: string; failing: boolean; status: string }>;
}

/** Reads the stack. Each call measures since the previous one (rates come from counters); it throws when it cannot. */
export interface WatchSampler {
  sample(signal: AbortSignal): Promise<WatchFigures>;
}

/** The watch's time: milliseconds on a monotonic clock, the wall clock, and a wait a test can run instantly. */
export interface WatchClock {
  now(): number;
  /** Milliseconds since the epoch: when each sample was taken, as people read it (the monotonic clock paces the window). */
  wallNow(): number;
  /** Resolves after `ms`, or rejects when the signal fires. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface WatchSettings {
  /** Time between two samples; 15 s in the runbook. */
  everyMs: number;
  /** How long the watch lasts; 15 minutes in the runbook. */
  windowMs: number;
  /** Breaching samples in a row that call for a rollback. */
  breachesForRollback: number;
  /** Samples in a row that could not be taken before a person is asked. */
  errorsForDecision: number;
}

export const DEFAULT_WATCH_SETTINGS: Readonly<WatchSettings> = { everyMs: 15_000, windowMs: 15 * 60_000, breachesForRollback: 3, errorsForDecision: 4 };

export type BreachRule = 'policy-p99' | 'error-rate' | 'health' | 'safety-violations';

/** The rules, each with its threshold as the runbook states it. */
export const BREACH_RULES: Readonly<Record<BreachRule, string>> = {
  'policy-p99': `Policy Engine p99 above ${RUNBOOK_THRESHOLDS.policyP99Ms.alert} ms`,
  'error-rate': `error rate above ${RUNBOOK_THRESHOLDS.errorRate.target * 100} %`,
  health: 'a health check failing',
  'safety-violations': `safety violations above ${RUNBOOK_THRESHOLDS.safetyViolationsPerMinute.alert} per minute`,
};

export interface WatchSample extends WatchFigures {
  /** 1 for the first sample after the watch began. */
  number: number;
  /** Milliseconds since the watch began. */
  atMs: number;
  /** When its figures were read, on the wall clock (ISO): the time a rolled-back notice gives each breach. */
  at: string;
  breaches: Array<{ rule: BreachRule; detail: string }>;
}

export interface WatchCounts {
  samples: number;
  breachingSamples: number;
  queryErrors: number;
}

export type WatchVerdict =
  | { verdict: 'passed'; summary: string; baseline: WatchFigures | null; counts: WatchCounts; last: WatchSample | null; worst: WorstFigures }
  | { verdict: 'rollback'; summary: string; baseline: WatchFigures | null; counts: WatchCounts; rules: BreachRule[]; breaching: WatchSample[] }
  | { verdict: 'needs-decision'; summary: string; baseline: WatchFigures | null; counts: WatchCounts; errors: Array<{ number: number; atMs: number; error: string }> };

/** The highest figures seen over the window: what "passed" passed with. */
export interface WorstFigures {
  policyP99Ms: number | null;
  errorRate: number | null;
  safetyViolationsPerMinute: number | null;
}

export interface WatchProgress {
  text: string;
  data: { sample: number; of: number; leftMs: number; counts: WatchCounts; last: WatchSample | null; lastError: string | null };
}

export interface WatchOptions {
  sampler: WatchSampler;
  clock: WatchClock;
  settings?: Partial<WatchSettings>;
  /** The figures taken just before the deploy, reported with the verdict for comparison. */
  baseline?: WatchFigures | null;
  signal: AbortSignal;
  /** Told after every sample (the step's progress). */
  onProgress?(progress: WatchProgress): void;
  /**
   * Awaited before each sample, outside the sample's error handling: what it throws ends the watch
   * at once (the run lost the stack to another run, and its verdict would be about someone else's).
   */
  beforeSample?(): Promise<void>;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
const ms = (value: number) => `${Number(value.toFixed(2))} ms`;
const percent = (value: number) => `${Number((value * 100).toFixed(3))} %`;

/** The rules a sample breaks: only measured figures can; a figure that was not measured breaks nothing. */
export function breachesOf(figures: WatchFigures): WatchSample['breaches'] {
  const breaches: WatchSample['breaches'] = [];
  if (figures.policyP99Ms !== null && figures.policyP99Ms > RUNBOOK_THRESHOLDS.policyP99Ms.alert) {
    breaches.push({ rule: 'policy-p99', detail: `p99 ${ms(figures.policyP99Ms)} > ${RUNBOOK_THRESHOLDS.policyP99Ms.alert} ms` });
  }
  if (figures.errorRate !== null && figures.errorRate > RUNBOOK_THRESHOLDS.errorRate.target) {
    breaches.push({ rule: 'error-rate', detail: `error rate ${percent(figures.errorRate)} > ${percent(RUNBOOK_THRESHOLDS.errorRate.target)}` });
  }
  const failing = figures.health.filter((check) => check.failing);
  if (failing.length > 0) breaches.push({ rule: 'health', detail: `failing: ${failing.map((check) => `${check.name} ${check.status}`).join(', ')}` });
  if (figures.safetyViolationsPerMinute !== null && figures.safetyViolationsPerMinute > RUNBOOK_THRESHOLDS.safetyViolationsPerMinute.alert) {
    breaches.push({ rule: 'safety-violations', detail: `${Number(figures.safetyViolationsPerMinute.toFixed(1))} violations/min > ${RUNBOOK_THRESHOLDS.safetyViolationsPerMinute.alert}` });
  }
  return breaches;
}

function figuresLine(sample: WatchSample): string {
  const parts = [
    sample.policyP99Ms === null ? 'p99 n/a' : `p99 ${ms(sample.policyP99Ms)}`,
    sample.errorRate === null ? 'errors n/a' : `errors ${percent(sample.errorRate)}`,
    `${sample.health.filter((check) => !check.failing).length}/${sample.health.length} health checks passing`,
    sample.safetyViolationsPerMinute === null ? 'violations n/a' : `${Number(sample.safetyViolationsPerMinute.toFixed(1))} violations/min`,
  ];
  return parts.join(', ');
}

const higher = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

export async function watchDeployment(options: WatchOptions): Promise<WatchVerdict> {
  const settings = { ...DEFAULT_WATCH_SETTINGS, ...options.settings };
  for (const key of ['everyMs', 'windowMs', 'breachesForRollback', 'errorsForDecision'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new RangeError(`watch: ${key} must be a whole number of at least 1, not ${settings[key]}`);
  }
  if (settings.everyMs > settings.windowMs) throw new RangeError(`watch: a sample every ${settings.everyMs} ms does not fit in a window of ${settings.windowMs} ms`);
  const { sampler, clock, signal } = options;
  const baseline = options.baseline ?? null;
  const total = Math.floor(settings.windowMs / settings.everyMs);
  const counts: WatchCounts = { samples: 0, breachingSamples: 0, queryErrors: 0 };
  const worst: WorstFigures = { policyP99Ms: null, errorRate: null, safetyViolationsPerMinute: null };
  let breachingRun: WatchSample[] = [];
  let errorRun: Array<{ number: number; atMs: number; error: string }> = [];
  let last: WatchSample | null = null;

  // The counters' starting point: rates of the first sample are measured from here. Not judged:
  // it is the state the deploy left, not a sample of the window.
  const started = clock.now();
  let primed = await sampler.sample(signal).then(
    () => true,
    () => false,
  );

  for (let number = 1; number <= total; number += 1) {
    // Timed from the start, not from the previous sample: a slow sample does not stretch the window.
    await clock.sleep(Math.max(0, started + number * settings.everyMs - clock.now()), signal);
    await options.beforeSample?.();
    const atMs = clock.now() - started;
    let figures: WatchFigures;
    let at: string;
    try {
      figures = await sampler.sample(signal);
      at = new Date(clock.wallNow()).toISOString();
      signal.throwIfAborted();
    } catch (error) {
      signal.throwIfAborted();
      // Not knowing is not a breach: it neither adds to the breaching samples in a row nor ends them.
      counts.queryErrors += 1;
      errorRun.push({ number, atMs, error: describe(error) });
      report(number, atMs, describe(error));
      if (errorRun.length >= settings.errorsForDecision) {
        return {
          verdict: 'needs-decision',
          summary: `${errorRun.length} samples in a row could not be taken (last: ${describe(error)}); a person decides whether the release stays`,
          baseline,
          counts,
          errors: errorRun,
        };
      }
      continue;
    }
    errorRun = [];
    const sample: WatchSample = { number, atMs, at, ...figures, breaches: breachesOf(figures) };
    if (!primed) {
      // The counters' start could not be read: this sample is the start, and its rates say nothing yet.
      primed = true;
      sample.errorRate = null;
      sample.safetyViolationsPerMinute = null;
      sample.breaches = breachesOf(sample);
    }
    counts.samples += 1;
    last = sample;
    worst.policyP99Ms = higher(worst.policyP99Ms, sample.policyP99Ms);
    worst.errorRate = higher(worst.errorRate, sample.errorRate);
    worst.safetyViolationsPerMinute = higher(worst.safetyViolationsPerMinute, sample.safetyViolationsPerMinute);
    if (sample.breaches.length > 0) {
      counts.breachingSamples += 1;
      breachingRun.push(sample);
    } else {
      breachingRun = [];
    }
    report(number, atMs, null);
    if (breachingRun.length >= settings.breachesForRollback) {
      const rules = rulesOf(breachingRun);
      return {
        verdict: 'rollback',
        summary: `${breachingRun.length} breaching samples in a row (${rules.map((rule) => BREACH_RULES[rule]).join('; ')}): roll back`,
        baseline,
        counts,
        rules,
        breaching: breachingRun,
      };
    }
  }
  return {
    verdict: 'passed',
    summary: `the watch passed: ${counts.samples} samples over ${Math.round(settings.windowMs / 60_000)} min, ${counts.breachingSamples} breaching (never ${settings.breachesForRollback} in a row), ${counts.queryErrors} not taken`,
    baseline,
    counts,
    last,
    worst,
  };

  function report(number: number, atMs: number, lastError: string | null): void {
    if (!options.onProgress) return;
    const leftMs = Math.max(0, settings.windowMs - atMs);
    const what = lastError ? `sample not taken (${lastError})` : last ? `${figuresLine(last)}${last.breaches.length ? ` · breaching: ${last.breaches.map((each) => each.detail).join('; ')}` : ''}` : '';
    const text = `Sample ${number} of ${total}, ${formatDuration(leftMs / 1000)} left: ${what} · ${counts.breachingSamples} breaching, ${breachingRun.length} in a row · ${counts.queryErrors} not taken`;
    options.onProgress({ text, data: { sample: number, of: total, leftMs, counts: { ...counts }, last: lastError ? null : last, lastError } });
  }
}

/** The rules broken across the breaching samples, the most often broken first. */
function rulesOf(samples: readonly WatchSample[]): BreachRule[] {
  const seen = new Map<BreachRule, number>();
  for (const sample of samples) for (const breach of sample.breaches) seen.set(breach.rule, (seen.get(breach.rule) ?? 0) + 1);
  return [...seen.entries()].sort((a, b) => b[1] - a[1]).map(([rule]) => rule);
}

/** The real clock: performance.now, and timers that stop on the signal. */
export const systemWatchClock: WatchClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  async sleep(ms, signal) {
    await sleep(ms, undefined, { signal });
  },
};
