/**
 * The watch as steps a deploy runbook puts around its rollout: `baselineStep` takes the figures
 * just before the deploy, `watchStep` watches after it (watch.ts) and tells each sample as the
 * step's progress, so the run's message counts the window down under the step.
 *
 * The watch step returns its verdict: `passed`, or `rollback` with the breaching samples and the
 * rules (a later step of the runbook rolls back when `outputs[<watch id>].verdict` says so). When
 * the figures could not be read four samples in a row it fails instead, with that sentence, so the
 * run waits for a person: retry watches again, skip goes on as if it passed, abort undoes.
 */
import type { StepContext, StepDefinition } from '../engine/definition.js';
import type { StepPorts } from '../engine/ports.js';
import { BREACH_RULES, DEFAULT_WATCH_SETTINGS, systemWatchClock, watchDeployment, type WatchClock, type WatchFigures, type WatchSampler, type WatchSettings } from './watch.js';
import { createWatchSampler } from './watch-sampler.js';
import { formatSpan } from '../../commands/format.js';

export interface WatchStepOptions<Args> {
  /** Default `watch` (`baseline` for the baseline step). */
  id?: string;
  title?: string;
  /** Fixed settings, or read from the ports when the step runs (the bot's configuration). */
  settings?: Partial<WatchSettings> | ((ports: StepPorts) => Partial<WatchSettings>);
  /** Where the figures come from; default the real sampler over the process's service clients. */
  sampler?(context: StepContext<Args>): WatchSampler;
  /** Default the system clock. */
  clock?: WatchClock;
  /** The id of the baseline step whose figures the verdict is reported against. */
  baselineFrom?: string;
  /** Awaited before each sample; what it throws ends the step (a deploy whose lock was taken over). */
  beforeSample?(context: StepContext<Args>): Promise<void>;
}

/** Longest a sample (the metrics and every health check) may take beyond the window. */
const SAMPLE_ALLOWANCE_MS = 60_000;

function realSampler<Args>(context: StepContext<Args>, lateChecks: 'not-taken' | 'failing' = 'not-taken'): WatchSampler {
  const services = context.ports.commands;
  if (!services?.endpoints || !services.policyEngine || services.checkTimeoutMs === undefined) {
    throw new Error('this process has no service clients (ports.commands) to watch the stack with');
  }
  return createWatchSampler({ services: { endpoints: services.endpoints, policyEngine: services.policyEngine, checkTimeoutMs: services.checkTimeoutMs, database: services.database, redis: services.redis }, lateChecks });
}

const baselineSampler = <Args>(context: StepContext<Args>) => realSampler(context, 'failing');


/** Takes the stack's figures once: what the watch compares the release with. Read-only; run it just before the deploy. */
export function baselineStep<Args>(options: Pick<WatchStepOptions<Args>, 'id' | 'title' | 'sampler'> = {}): StepDefinition<Args> {
  return {
    id: options.id ?? 'baseline',
    kind: 'check',
    title: options.title ?? "Take the stack's figures before the deploy (p99, error rate, health, safety violations)",
    timeoutMs: SAMPLE_ALLOWANCE_MS,
    idempotent: true,
    async run(context) {
      return (options.sampler ?? baselineSampler)(context).sample(context.signal);
    },
    async dryRun(context) {
      const figures = await (options.sampler ?? baselineSampler)(context).sample(context.signal);
      const failing = figures.health.filter((check) => check.failing).map((check) => check.name);
      return { mode: 'read-only-check', text: `now: p99 ${figures.policyP99Ms === null ? 'n/a (no decisions to measure)' : `${figures.policyP99Ms} ms`}, ${failing.length ? `failing: ${failing.join(', ')}` : 'every health check passing'}` };
    },
  };
}

/** The longest watch a configured one may be (deploy-settings.ts allows a day): the step's timeout then. */
const LONGEST_CONFIGURED_WATCH_MS = 24 * 3600_000 + 3600_000;

export function describeWatch(settings: WatchSettings): string {
  const rules = Object.values(BREACH_RULES).join('; ');
  return `a sample every ${formatSpan(settings.everyMs)} for ${formatSpan(settings.windowMs)}; ${settings.breachesForRollback} breaching samples in a row (${rules}) call for a rollback, ${settings.errorsForDecision} samples not taken in a row ask a person`;
}

export function watchStep<Args>(options: WatchStepOptions<Args> = {}): StepDefinition<Args> {
  const fixed = typeof options.settings === 'function' ? undefined : { ...DEFAULT_WATCH_SETTINGS, ...options.settings };
  const settingsFor = (ports: StepPorts): WatchSettings => fixed ?? { ...DEFAULT_WATCH_SETTINGS, ...(options.settings as (ports: StepPorts) => Partial<WatchSettings>)(ports) };
  return {
    id: options.id ?? 'watch',
    kind: 'verify',
    title: options.title ?? (fixed ? `Watch the stack for ${formatSpan(fixed.windowMs)} after the deploy (a sample every ${formatSpan(fixed.everyMs)})` : 'Watch the stack after the deploy'),
    timeoutMs: fixed ? fixed.windowMs + fixed.everyMs + SAMPLE_ALLOWANCE_MS : LONGEST_CONFIGURED_WATCH_MS,
    // Watching again from the start after a crash is safe: it only reads.
    idempotent: true,
    async run(context) {
      const settings = settingsFor(context.ports);
      const baseline = options.baselineFrom ? ((context.outputs[options.baselineFrom] as WatchFigures | undefined) ?? null) : null;
      const verdict = await watchDeployment({
        sampler: (options.sampler ?? realSampler)(context),
        clock: options.clock ?? systemWatchClock,
        settings,
        baseline,
        signal: context.signal,
        onProgress: (progress) => context.progress(progress),
        ...(options.beforeSample ? { beforeSample: () => options.beforeSample!(context) } : {}),
      });
      if (verdict.verdict === 'needs-decision') throw new Error(`the watch could not read the stack: ${verdict.summary}`);
      return verdict;
    },
    async dryRun(context) {
      const settings = settingsFor(context.ports);
      // The watch rules are part of what approvers approve: other rules make another plan.
      return { mode: 'description', text: `Would take ${describeWatch(settings)}`, target: `watch ${formatSpan(settings.windowMs)} every ${formatSpan(settings.everyMs)}, rollback after ${settings.breachesForRollback}` };
    },
  };
}
