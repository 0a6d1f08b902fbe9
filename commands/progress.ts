/**
 * Steps of a command that takes several (a replica restarted, a flush done, the cache warmed),
 * told as they happen, before the final answer. Each front end decides where they go: the bot
 * posts the first step as its reply and the next ones in a thread under it
 * (bot/slack/progress-thread.ts), the CLI prints them as lines, anything else drops them.
 */
import type { Tone } from './result.js';

export interface ProgressStep {
  /** One sentence, plain text (the front end escapes it). */
  text: string;
  /** `ok` when the step went well (the default), `warn` or `fail` when it did not. */
  tone?: Tone;
}

export type ProgressReporter = (step: ProgressStep) => Promise<void> | void;

/**
 * The reporter a command sees: it never throws (a step that cannot be shown must not fail the
 * command it describes; the error goes to `onError`) and keeps the steps in order.
 */
export function quietProgress(report: ProgressReporter | undefined, onError: (error: unknown) => void): (step: ProgressStep) => Promise<void> {
  if (!report) return async () => undefined;
  return async (step) => {
    try {
      await report(step);
    } catch (error) {
      onError(error);
    }
  };
}
