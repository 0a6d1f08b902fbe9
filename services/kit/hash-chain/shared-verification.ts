/**
 * Verify runs of a chain, shared by their callers: one run per scope at a time, which callers that
 * arrive meanwhile join, but only if it covers the head as the caller finds it (its own records
 * included); one that began earlier is followed by a new run, shared in turn.
 *
 * A walk from the newest checkpoint does not re-read older records, so a change of content alone
 * before the checkpoint is found only by a full walk (run in the background by both chains); once
 * the last full walk found a break, every checkpoint run that finds none reports that break too.
 */
export type VerifyScope = 'checkpoint' | 'full';

export interface SharedVerificationOptions<Result, Break> {
  /** One run of a scope. */
  verify(scope: VerifyScope): Promise<Result>;
  /** The head's sequence now, and the one a result covers. */
  headSequence(): Promise<number>;
  headOf(result: Result): number;
  /** A result's first break (undefined when valid) and when its walk ended. */
  breakOf(result: Result): Break | undefined;
  checkedAt(result: Result): string;
  /** The result, invalid, with another run's break and a note saying where that break comes from. */
  withBreak(result: Result, broken: Break, note: string): Result;
  /** Every finished run (its result or its error). */
  onResult?(scope: VerifyScope, result: Result | Error): void;
}

export interface SharedVerification<Result> {
  /** A caller's run: joins the one in flight if it covers the head, else follows it with a new one. */
  run(scope: VerifyScope): Promise<Result>;
  /** Joins the run in flight or starts one, whatever head it covers (for a walk in the background). */
  join(scope: VerifyScope): Promise<Result>;
}

export function createSharedVerification<Result, Break>(options: SharedVerificationOptions<Result, Break>): SharedVerification<Result> {
  const running = new Map<VerifyScope, Promise<Result>>();
  let lastFull: Result | undefined;

  function shared(scope: VerifyScope): Promise<Result> {
    let run = running.get(scope);
    if (!run) {
      run = options
        .verify(scope)
        .then((result) => {
          if (scope === 'full') lastFull = result;
          options.onResult?.(scope, result);
          return result;
        })
        .catch((error: Error) => {
          options.onResult?.(scope, error);
          throw error;
        })
        .finally(() => {
          running.delete(scope);
        });
      running.set(scope, run);
    }
    return run;
  }

  return {
    async run(scope) {
      const headNow = options.headSequence();
      headNow.catch(() => undefined);
      let result = await shared(scope);
      if (options.headOf(result) < (await headNow)) result = await shared(scope);
      const fullBreak = lastFull === undefined ? undefined : options.breakOf(lastFull);
      if (scope !== 'checkpoint' || fullBreak === undefined || options.breakOf(result) !== undefined) return result;
      return options.withBreak(result, fullBreak, `the full walk of ${options.checkedAt(lastFull!)} found this break before the checkpoint`);
    },
    join: shared,
  };
}
