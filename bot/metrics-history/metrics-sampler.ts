/**
 * The embedded sampler: once a minute it reads the stack as the built-in alert monitor does
 * (readStack: the health checks, the Policy Engine's metrics, the Stack port's stats), stores
 * the samples, rolls the last two hours up again and applies retention. bot/main.ts runs it on
 * one replica under the lease `metrics-sampler` (bot/leadership/).
 *
 * It reads for itself rather than sharing the monitor's reading: the monitor may be off
 * (ACGS_ALERT_MONITOR=off) or lead on another replica, and one extra reading a minute beside the
 * monitor's thirty costs little (bench/reports.ts measures the sampler's whole beat).
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { startPeriodicJob, type PeriodicJob } from '../../services/kit/periodic.js';
import { readStack, type StackReading } from '../alerts/stack-reading.js';
import { samplesFromReading, type EngineCounters } from './reading-samples.js';
import type { SampleStore } from './sample-store.js';

export const DEFAULT_SAMPLE_INTERVAL_MS = 60_000;
const HOUR_MS = 3600_000;

export interface SamplerBeatResult {
  written: number;
  rolledUp: number;
  pruned: { minutes: number; hours: number };
}

/**
 * What each beat does with a reading, apart from the timer and the reading itself so that it is
 * tested with readings and an injected clock. It remembers the engine's counters between beats.
 */
export function createSamplerBeat(store: Pick<SampleStore, 'write' | 'rollUp' | 'prune'>, now: () => Date): (reading: StackReading) => Promise<SamplerBeatResult> {
  let counters: EngineCounters | undefined;
  return async (reading) => {
    const { samples, counters: next } = samplesFromReading(reading, counters);
    const written = await store.write(samples, reading.at);
    counters = next;
    // The previous hour too: its last minutes may have come after its last roll-up.
    const rolledUp = await store.rollUp(new Date(now().getTime() - HOUR_MS));
    const pruned = await store.prune(now());
    return { written, rolledUp, pruned };
  };
}

export interface MetricsSamplerOptions {
  services: CommandDependencies;
  store: SampleStore;
  intervalMs?: number;
  now?: () => Date;
  onError(error: unknown): void;
}

export interface MetricsSampler {
  stop(): Promise<void>;
}

export function startMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const now = options.now ?? (() => new Date());
  const stopping = new AbortController();
  const beat = createSamplerBeat(options.store, now);
  const job: PeriodicJob = startPeriodicJob({
    intervalMs: options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS,
    run: async () => beat(await readStack(options.services, stopping.signal, now)),
    onError: options.onError,
  });
  return {
    async stop() {
      stopping.abort();
      await job.stop();
    },
  };
}
