/**
 * The CLI's end of a multi-step command's steps (commands/progress.ts): each step is one line on
 * stderr as it happens, in `--json` mode too, so stdout carries only the answer (its text, or one
 * JSON document) and a script that reads stdout never sees a step.
 */
import type { ProgressReporter } from '../commands/progress.js';
import { renderProgressStep } from './cli-render.js';

export interface CliProgressOptions {
  /** Where the lines go: the CLI's stderr. */
  write(text: string): void;
  /** ANSI colours: stderr is a terminal and NO_COLOR is not set. */
  color: boolean;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  now?: () => number;
}

/** A reporter that prints each step with the time since it was made (when the command line began). */
export function cliProgress(options: CliProgressOptions): ProgressReporter {
  const now = options.now ?? (() => performance.now());
  const started = now();
  return (step) => {
    try {
      options.write(renderProgressStep(step, { color: options.color, elapsedMs: now() - started }));
    } catch {
      // stderr is gone (a closed pipe): there is nowhere to say so, and the command must go on.
    }
  };
}
