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

export interface SharedVerificationOptions<Result> {
  /** One run of a scope. */
  verify(scope: VerifyScope): Promise<Result>;
  /** The head's sequence now, and the one a result covers. */
  headSequence(): Promise<number>;
  headOf(result: Result): number;
  /** The checkpoint run's result with the break the last full walk found, when that walk found one. */
  withFullWalkBreak(result: Result, lastFull: Result): Result | undefined;
  /** Every finished run (its result or its error). */
  onResult?(scope: VerifyScope, result: Result | Error): void;
}

export interface SharedVerification<Result> {
  /** A caller's run: joins the one in flight if it covers the head, else follows it with a new one. */
  run(scope: VerifyScope): Promise<Result>;
  /** Joins the run in flight or starts one, whatever head it covers (for a walk in the background). */
  join(scope: VerifyScope): Promise<Result>;
}

export function createSharedVerification<Result>(options: SharedVerificationOptions<Result>): SharedVerification<Result> {
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
      if (scope === 'checkpoint' && lastFull !== undefined) return options.withFullWalkBreak(result, lastFull) ?? result;
      return result;
    },
    join: shared,
  };
}
