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
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let walk: Promise<void> | undefined;

  function walkNow(): void {
    timer = undefined;
    walk = verifier
      .run()
      .then(() => undefined, options.onError)
      .finally(() => {
        walk = undefined;
        if (stopped) return;
        timer = setTimeout(walkNow, options.intervalMs);
        // The schedule alone must not keep the process alive.
        timer.unref();
      });
  }
  walkNow();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await walk;
    },
  };
}
