import { type Histogram, build } from 'hdr-histogram-js';

const SLICE_MS = 10_000;
const SLICES = 6;

function newHistogram(): Histogram {
  // Nanoseconds from 1 ns to 60 s at 3 significant digits.
  return build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

/**
 * Server-side evaluation latency over a rolling window of about a minute (six HDR histograms
 * of ten seconds each), so that the percentiles show the present and not the whole uptime.
 */
export class LatencyWindow {
  private readonly slices: Array<{ start: number; histogram: Histogram }> = [];

  constructor(private readonly now: () => number = Date.now) {}

  static readonly windowSeconds = (SLICE_MS * SLICES) / 1000;

  record(nanoseconds: bigint | number): void {
    const start = Math.floor(this.now() / SLICE_MS) * SLICE_MS;
    let current = this.slices[this.slices.length - 1];
    if (!current || current.start !== start) {
      current = { start, histogram: newHistogram() };
      this.slices.push(current);
      this.prune(start);
    }
    current.histogram.recordValue(Math.max(1, Math.min(60e9, Number(nanoseconds))));
  }

  private prune(currentStart: number): void {
    while (this.slices.length > 0 && this.slices[0]!.start <= currentStart - SLICE_MS * SLICES) {
      this.slices.shift()!.histogram.destroy();
    }
  }

  /** Percentiles in milliseconds over the window; zeros when nothing was recorded. */
  percentiles(): LatencyPercentiles {
    this.prune(Math.floor(this.now() / SLICE_MS) * SLICE_MS);
    const merged = newHistogram();
    try {
      for (const slice of this.slices) merged.add(slice.histogram);
      const ms = (percentile: number) => merged.getValueAtPercentile(percentile) / 1e6;
      return { p50: ms(50), p95: ms(95), p99: ms(99), count: merged.totalCount };
    } finally {
      merged.destroy();
    }
  }
}
