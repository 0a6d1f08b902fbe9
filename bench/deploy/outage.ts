/**
 * What the health samples say about one procedure: how long a service answered nothing but
 * failures, measured from its last 200 before them to its next 200 (so up to two poll intervals
 * more than the true gap, never less).
 */

/** One answer of a service's /health, as the bench's watch saw it. */
export interface HealthSample {
  /** Date.now() when the answer (or the failure) arrived. */
  at: number;
  ok: boolean;
  version?: string;
}

export interface Outage {
  longestMs: number;
  failedSamples: number;
  /** Still failing at the end of the window: longestMs then runs to the window's end. */
  endedDown: boolean;
}

export function longestOutage(samples: readonly HealthSample[], from: number, to: number): Outage {
  let lastOk = from;
  for (const sample of samples) {
    if (sample.at > from) break;
    if (sample.ok) lastOk = sample.at;
  }
  let longestMs = 0;
  let failedSamples = 0;
  let down = false;
  for (const sample of samples) {
    if (sample.at <= from || sample.at > to) continue;
    if (!sample.ok) {
      failedSamples += 1;
      down = true;
      continue;
    }
    if (down) longestMs = Math.max(longestMs, sample.at - lastOk);
    down = false;
    lastOk = sample.at;
  }
  if (down) longestMs = Math.max(longestMs, to - lastOk);
  return { longestMs, failedSamples, endedDown: down };
}

/** When the service first answered 200 with `version` after `since`. */
export function firstServing(samples: readonly HealthSample[], version: string, since: number): number | undefined {
  return samples.find((sample) => sample.at >= since && sample.ok && sample.version === version)?.at;
}
