/**
 * Calls one step function (run, compensate or dry run) with its timeout. The step gets a signal
 * that fires on timeout and whenever the run itself is stopped (abort, lost lease); a step that
 * ignores its signal is no longer waited for once it fires, and whatever it still does is not
 * recorded as its result.
 */
import { RunFailedError } from './errors.js';

export type StepCallResult =
  | { ok: true; value: unknown; durationMs: number }
  | { ok: false; error: string; timedOut: boolean; stoppedBy?: unknown; durationMs: number; endsRun?: boolean };

export async function callStep(
  call: (signal: AbortSignal) => Promise<unknown>,
  options: { timeoutMs: number; runSignal: AbortSignal; what: string; waitForStopMs?: number; waitForStopWhen?: (reason: unknown) => boolean },
): Promise<StepCallResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`${options.what} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
  const signal = AbortSignal.any([options.runSignal, timeout.signal]);
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  const running = Promise.resolve().then(() => call(signal));
  // A step whose stop is waited for: once stopped (by a stop waitForStopWhen accepts, default any),
  // it gets up to waitForStopMs to come to rest.
  const stoppedAndAtRest = options.waitForStopMs
    ? stopped.catch(async (reason: unknown) => {
        if (options.waitForStopWhen && !options.waitForStopWhen(reason)) throw reason;
        await Promise.race([running.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, options.waitForStopMs).unref())]);
        throw reason;
      })
    : stopped;
  stoppedAndAtRest.catch(() => undefined);
  try {
    const value = await Promise.race([running, stoppedAndAtRest]);
    return { ok: true, value, durationMs: elapsed() };
  } catch (error) {
    const timedOut = timeout.signal.aborted && !options.runSignal.aborted;
    return {
      ok: false,
      error: timedOut ? `${options.what} timed out after ${options.timeoutMs} ms` : error instanceof Error ? error.message : String(error),
      timedOut,
      ...(options.runSignal.aborted ? { stoppedBy: options.runSignal.reason } : {}),
      // A step that dealt with its failure itself ends the run; a stop or timeout always wins over it.
      ...(error instanceof RunFailedError && !signal.aborted ? { endsRun: true } : {}),
      durationMs: elapsed(),
    };
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
