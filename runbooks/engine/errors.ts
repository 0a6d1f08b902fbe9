/**
 * Errors a person caused and can act on (an unknown runbook, bad arguments, a decision on a run
 * that waits for none): safe to show as they are. Every one is thrown before anything is written.
 */
export type RunbookInputCode =
  | 'unknown-runbook'
  | 'bad-arguments'
  | 'refused-by-runbook'
  | 'unknown-run'
  | 'version-changed'
  | 'unknown-decision'
  | 'not-waiting-for-decision'
  | 'cannot-skip'
  | 'not-abortable';

export class RunbookInputError extends Error {
  override readonly name = 'RunbookInputError';
  constructor(
    readonly code: RunbookInputCode,
    message: string,
    /** What to do instead, when the refusal knows (`backups` lists the backups there). */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * This process no longer holds the run's lease (it expired and another runner took the run, or the
 * fencing token moved on): nothing it writes about the run is recorded, and it stops the run here.
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/**
 * Thrown by a step that met a failure and already dealt with it (a deploy that rolled itself
 * back): the run ends as failed with this message as its reason, at once. No person is asked to
 * retry or skip, and no compensation runs: the step left the stack in the state it names.
 */
export class RunFailedError extends Error {
  override readonly name = 'RunFailedError';
}
