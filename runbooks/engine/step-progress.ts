/**
 * What a step may report as its progress (StepContext.progress), checked where it is reported: a
 * bad report throws in the step that made it, at the line that made it, instead of failing later
 * in a write nobody waits for.
 */
import type { StepProgress } from './run-store.js';

/** The text is one line in the run's message under its step; longer text is cut. */
export const PROGRESS_TEXT_MAX = 300;
/** The figures are kept as JSON on the attempt row, rewritten every couple of seconds: keep them small. */
export const PROGRESS_DATA_MAX_BYTES = 8 * 1024;

/** The report as it is stored: text trimmed and cut, data as the JSON it becomes. Throws TypeError. */
export function checkedProgress(report: unknown): StepProgress {
  if (!report || typeof report !== 'object') throw new TypeError('progress: report an object { text, data? }');
  const { text, data } = report as { text?: unknown; data?: unknown };
  if (typeof text !== 'string' || !text.trim()) throw new TypeError('progress: text is a non-empty sentence');
  const trimmed = text.trim().replace(/\s+/g, ' ');
  const shown = trimmed.length > PROGRESS_TEXT_MAX ? `${trimmed.slice(0, PROGRESS_TEXT_MAX - 1)}…` : trimmed;
  if (data === undefined) return { text: shown };
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new TypeError(`progress: data must be JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (json === undefined) throw new TypeError('progress: data must be JSON (a function or symbol is not)');
  if (Buffer.byteLength(json) > PROGRESS_DATA_MAX_BYTES) throw new TypeError(`progress: data is over ${PROGRESS_DATA_MAX_BYTES} bytes as JSON; report a summary`);
  return { text: shown, data: JSON.parse(json) as unknown };
}

/** Where a dry run's or a compensation's reports go: nowhere, but checked like a step's. */
export function ignoreProgress(report: StepProgress): void {
  checkedProgress(report);
}
