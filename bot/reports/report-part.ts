/**
 * One part of a report, gathered on its own: a source that is down makes its part say what is
 * missing, and the rest of the report is still built and posted (issue 15, "Bad input and failure").
 */
export type ReportPart<T> = { state: 'ok'; value: T } | { state: 'missing'; reason: string };

/**
 * Runs one part's gathering; a failure becomes "<what> unavailable: <why>" (a message that
 * already says so, like MetricsHistoryUnavailable's, is kept as it is).
 */
export async function gatherPart<T>(what: string, gather: () => Promise<T>): Promise<ReportPart<T>> {
  try {
    return { state: 'ok', value: await gather() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { state: 'missing', reason: message.startsWith(`${what} unavailable`) ? message : `${what} unavailable: ${message}` };
  }
}

/**
 * The reasons of every missing part in a report's figures (its document's `data`), top-level
 * parts and those one level down (the capacity report's `trends.cpu`), each once.
 */
export function missingPartsOf(data: unknown): string[] {
  const reasons: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    const part = value as { state?: unknown; reason?: unknown };
    if (part.state === 'missing' && typeof part.reason === 'string') {
      reasons.push(part.reason);
      return;
    }
    if (depth < 2) for (const inner of Object.values(value)) visit(inner, depth + 1);
  };
  visit(data, 0);
  return [...new Set(reasons)];
}
