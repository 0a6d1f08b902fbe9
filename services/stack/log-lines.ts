/**
 * Turning raw log text into the port's LogLine records and choosing which to return: the
 * window (since), the plain-text filter, the tail and the per-line cap, shared by both drivers.
 */
import { MAX_LOG_LINE_CHARS, type LogLine, type LogsResult } from './stack.js';
import type { NormalizedLogsOptions } from './stack-checks.js';

/** Whether a line passes the plain-text filter (case-insensitive substring; `grep` is already lower case). */
export function lineMatches(text: string, grep: string | undefined): boolean {
  return grep === undefined || text.toLowerCase().includes(grep);
}

export function capLine(text: string): { text: string; cut: boolean } {
  if (text.length <= MAX_LOG_LINE_CHARS) return { text, cut: false };
  return { text: `${text.slice(0, MAX_LOG_LINE_CHARS)} …[cut]`, cut: true };
}

/** A line with a sortable time key: RFC 3339 with fixed nanoseconds sorts as text. */
export interface TimedLine {
  replica: string;
  stream: 'stdout' | 'stderr';
  /** Fixed-width UTC timestamp (Docker's RFC3339NanoFixed, or an ISO string padded to it). */
  sortKey: string;
  text: string;
}

/** Docker's `timestamps=true` prefix: `2024-01-01T00:00:00.123456789Z `. */
const DOCKER_TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/s;

/** Pads an ISO instant to nine fractional digits so that text order is time order. */
export function fixedWidthTime(iso: string): string {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!match) return iso;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** Splits the output of `docker logs --timestamps` for one replica and stream into lines. */
export function parseDockerLogText(text: string, replica: string, stream: 'stdout' | 'stderr'): TimedLine[] {
  const lines: TimedLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const match = DOCKER_TIMESTAMP.exec(raw.replace(/\r$/, ''));
    if (match) lines.push({ replica, stream, sortKey: fixedWidthTime(match[1]!), text: match[2]! });
    // A line without the prefix continues nothing we can place in time; it is dropped rather than misdated.
  }
  return lines;
}

/**
 * Merges replicas by time (stable, so each replica keeps its own order), keeps lines at or after
 * `since` that pass the filter, and returns the last `tail` of them.
 */
export function selectLogLines(service: string, perReplica: TimedLine[][], options: NormalizedLogsOptions): LogsResult {
  const merged = perReplica.flat().sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const sinceKey = options.since ? fixedWidthTime(options.since.toISOString()) : undefined;
  const inWindow = sinceKey ? merged.filter((line) => line.sortKey >= sinceKey) : merged;
  const matching = inWindow.filter((line) => lineMatches(line.text, options.grep));
  const chosen = matching.slice(-options.tail);
  let cut = false;
  const lines: LogLine[] = chosen.map((line) => {
    const capped = capLine(line.text);
    cut ||= capped.cut;
    return { replica: line.replica, stream: line.stream, time: new Date(line.sortKey.slice(0, 23) + 'Z').toISOString(), text: capped.text };
  });
  return { service, lines, scanned: inWindow.length, truncated: cut || matching.length > chosen.length };
}
