/**
 * A service's log line as a person reads it in an alert's thread. The services log with pino, one
 * JSON object a line ({"level":30,"time":...,"msg":"shutting down",...}), which is a wall of
 * braces at 3 a.m.: such a line shows its level, its own time and its message (and the error's
 * message, when it has one). Anything else (a supervisor note, a stack trace, a line that only
 * looks like JSON) is shown as written.
 */

const PINO_LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export interface ReadableLogLine {
  /** HH:MM:SS (UTC) of the line: pino's own `time` when it has one, else when the stack saw it. */
  clock: string;
  /** pino's level in words (INFO, WARN…); absent for a line that is not pino's. */
  level?: string;
  text: string;
}

const clockOf = (time: unknown): string | undefined => {
  const date = typeof time === 'number' || typeof time === 'string' ? new Date(time) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString().slice(11, 19) : undefined;
};

function pinoLine(text: string): { level?: string; time?: string; message: string } | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.msg !== 'string') return undefined;
  const err = fields.err as { message?: unknown } | undefined;
  const errMessage = err && typeof err.message === 'string' && !fields.msg.includes(err.message) ? `: ${err.message}` : '';
  const level = typeof fields.level === 'number' ? PINO_LEVELS[fields.level] : typeof fields.level === 'string' ? fields.level.toUpperCase() : undefined;
  const time = clockOf(fields.time);
  return { ...(level ? { level } : {}), ...(time ? { time } : {}), message: `${fields.msg}${errMessage}` };
}

/** The line's clock, level and message; `seenAt` is the ISO time the stack gave the line. */
export function readableLogLine(text: string, seenAt: string): ReadableLogLine {
  const pino = pinoLine(text);
  const seen = clockOf(seenAt) ?? seenAt.slice(11, 19);
  if (!pino) return { clock: seen, text };
  return { clock: pino.time ?? seen, ...(pino.level ? { level: pino.level } : {}), text: pino.message };
}
