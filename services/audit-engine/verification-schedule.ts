import { startPeriodicJob } from '../kit/periodic.js';
import type { ChainVerifier } from './chain-verifier.js';

export interface VerificationSchedule {
  /** Stops the schedule and waits for a walk in progress, so the pool can close after it. */
  stop(): Promise<void>;
}

/**
 * Verifies the chain in the background so that health reports the chain's integrity without
 * anyone calling `GET /audit/verify`: once right away (at start-up), then `intervalMs` after each
 * walk ends, so walks never pile up on a long chain. Nothing waits for it; requests are served
 * meanwhile. An interval of 0 disables it.
 */
export function scheduleVerification(
  verifier: ChainVerifier,
  options: { intervalMs: number; onError(error: unknown): void },
): VerificationSchedule {
  if (options.intervalMs === 0) return { stop: async () => undefined };
  return startPeriodicJob({ intervalMs: options.intervalMs, run: () => verifier.run(), onError: options.onError });
}
