/**
 * When a run's runner counts as silent. A holder renews its lease every renewal period; one and a
 * half periods without a renewal means it missed one (a renewal itself takes milliseconds): it is
 * dead or cut off, although it still holds the run until the lease runs out and another runner
 * takes the run over. `runs`, `run status` and the run's Slack message all say it from here.
 */
export const SILENT_AFTER_PERIODS = 1.5;

/** How long the holder has been silent, or undefined while it renews on time. */
export function runnerSilentForMs(lease: { ageMs: number; renewEveryMs: number } | undefined): number | undefined {
  return lease && lease.ageMs > lease.renewEveryMs * SILENT_AFTER_PERIODS ? lease.ageMs : undefined;
}
