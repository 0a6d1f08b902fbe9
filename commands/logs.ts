/**
 * `logs <service> [--tail N] [--since 10m] [--grep text]`: the runbook's `docker-compose logs
 * --tail=50 <service>` (and `| grep -i violation`), as capped lines in a code block. The filter is
 * plain text matched case-insensitively; it never becomes a pattern or a shell word. From the CLI,
 * a local stack that is not running still has its log files read, and the answer says so.
 */
import { z } from 'zod';
import { MAX_GREP_CHARS, StackError, type LogLine, type LogsResult, type Stack } from '../services/stack/stack.js';
import { wholeNumberArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { capitalized, clip, formatCount, formatDuration, formatTimestamp } from './format.js';
import type { ResultDocument } from './result.js';
import { onStack, requireStack, requireStackService, serviceArgument, stackLabel } from './stack-access.js';

export const LOGS_DEFAULT_TAIL = 50;
/** More lines than this do not fit a Slack message; --json and the stack's own tools have the rest. */
export const LOGS_MAX_TAIL = 500;
/** Characters of log text one answer shows; older lines beyond it are left out, and the answer says so. */
export const LOGS_DISPLAY_CHARS = 24_000;
/** One line is shown up to this length, then cut with a mark. */
export const LOGS_LINE_CHARS = 400;
/** The longest window --since accepts: older lines are gone from most log drivers' defaults anyway. */
export const LOGS_MAX_SINCE_SECONDS = 7 * 86_400;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const SINCE_HELP = 'must be a duration such as 30s, 10m, 2h or 1d (one number and one unit: s, m, h or d), at most 7d';

/** `10m` -> 600 seconds; anything else (zero, negative, mixed units, dates, over 7 days) is refused. */
export const sinceArgument = z.string({ error: SINCE_HELP }).transform((value, context) => {
  const match = /^([0-9]{1,7})([smhd])$/.exec(value.trim().toLowerCase());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : NaN;
  if (!match || seconds < 1 || seconds > LOGS_MAX_SINCE_SECONDS) {
    context.addIssue({ code: 'custom', input: value, message: `${SINCE_HELP} (got \`${clip(value, 24)}\`)` });
    return z.NEVER;
  }
  return seconds;
});

export const grepArgument = z
  .string()
  .min(1, 'must be some text to look for')
  .max(MAX_GREP_CHARS, `must be at most ${MAX_GREP_CHARS} characters of plain text`)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must be plain text on one line (no control characters)')
  .refine((value) => value.trim().length > 0, 'must be some text to look for, not only spaces');

const clock = (iso: string) => (Number.isNaN(Date.parse(iso)) ? '--:--:--' : new Date(iso).toISOString().slice(11, 19));

export interface LogsRequest {
  service: string;
  tail: number;
  sinceSeconds?: number;
  grep?: string;
}

/** The lines as shown: newest kept when the budget runs out, each line capped, replica named when there are several. */
export function logsText(lines: readonly LogLine[]): { text: string; shown: number; cutLines: number } {
  const replicas = new Set(lines.map((line) => line.replica));
  const prefix = (line: LogLine) => (replicas.size > 1 ? `${line.replica} | ` : '');
  const rendered: string[] = [];
  let used = 0;
  let cutLines = 0;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!;
    const text = line.text.replace(/\r/g, '');
    const cut = text.length > LOGS_LINE_CHARS;
    const entry = `${clock(line.time)} ${prefix(line)}${cut ? `${text.slice(0, LOGS_LINE_CHARS)} …[cut]` : text}`;
    if (used + entry.length + 1 > LOGS_DISPLAY_CHARS && rendered.length > 0) break;
    rendered.push(entry);
    used += entry.length + 1;
    if (cut) cutLines += 1;
  }
  return { text: rendered.reverse().join('\n'), shown: rendered.length, cutLines };
}

/** Said first when the stack is not running: whoever reads on must know these lines may be old. */
function stoppedNotice(stopped: NonNullable<LogsResult['stackStopped']>): string {
  return `The local stack is not running (${stopped.why}). These are the last lines it wrote; ${stopped.logFile} was last written ${formatTimestamp(stopped.lastWrittenAt)} (UTC).`;
}

const START_HINT = 'Start it with `npm start` (or `npm run start:stack` for the services alone).';

export function logsDocument(stack: Pick<Stack, 'kind' | 'description'>, request: LogsRequest, result: LogsResult): ResultDocument {
  const { lines, stackStopped } = result;
  const filters = [
    ...(request.grep ? [`containing "${clip(request.grep, 60)}"`] : []),
    ...(request.sinceSeconds ? [`from the last ${formatDuration(request.sinceSeconds)}`] : []),
  ].join(' ');
  const data = {
    service: request.service,
    tail: request.tail,
    since_seconds: request.sinceSeconds ?? null,
    grep: request.grep ?? null,
    scanned: result.scanned,
    truncated: result.truncated,
    ...(stackStopped
      ? { stack_stopped: { why: stackStopped.why, log_file: stackStopped.logFile, last_written_at: stackStopped.lastWrittenAt } }
      : {}),
    lines,
  };
  // A stopped stack is something to attend to, whatever its lines say.
  const tone = stackStopped ? 'warn' : 'info';
  const notice = stackStopped ? `${stoppedNotice(stackStopped)} ` : '';
  if (lines.length === 0) {
    return {
      title: `Logs of ${request.service}`,
      tone,
      summary: `${notice}No lines${filters ? ` ${filters}` : ''} (${formatCount(result.scanned)} looked at).`,
      blocks: [],
      footer: stackStopped ? START_HINT : capitalized(stackLabel(stack)),
      data,
    };
  }
  const { text, shown, cutLines } = logsText(lines);
  const notes: string[] = [];
  if (shown < lines.length) notes.push(`${formatCount(lines.length - shown)} older lines were left out to fit the message; --json has all ${formatCount(lines.length)}`);
  if (result.truncated) notes.push(request.grep || request.sinceSeconds ? `more lines matched than the ${request.tail} returned` : `older lines exist beyond the ${request.tail} asked for`);
  if (cutLines > 0) notes.push(`${cutLines} long line${cutLines === 1 ? ' was' : 's were'} cut at ${LOGS_LINE_CHARS} characters (…[cut])`);
  // The time span of the lines shown, not of every line fetched: older ones may have been left out.
  const first = lines[lines.length - shown]!.time;
  const last = lines.at(-1)!.time;
  return {
    title: `Logs of ${request.service}`,
    tone,
    summary: `${notice}Last ${formatCount(shown)} line${shown === 1 ? '' : 's'}${filters ? ` ${filters}` : ''}, ${formatTimestamp(first)} to ${formatTimestamp(last)} (UTC).`,
    blocks: [
      { type: 'code', text },
      ...(notes.length > 0 ? [{ type: 'text' as const, text: `Cut: ${notes.join('; ')}.` }] : []),
    ],
    footer: `${formatCount(result.scanned)} lines looked at · ${stackStopped ? `the log files of the stopped local stack. ${START_HINT}` : stackLabel(stack)}`,
    data,
  };
}

export const logs = defineCommand({
  name: 'logs',
  summary: "A service's recent log lines, optionally since a time and containing some text",
  usage: '<service> [--tail N] [--since 10m] [--grep text]',
  examples: ['logs policy-engine', 'logs policy-engine --tail 100 --grep violation', 'logs audit-engine --since 10m'],
  level: 'read',
  usesStack: true,
  positionals: ['service'],
  flags: {
    tail: { type: 'string', short: 'n', description: `how many of the last lines (1 to ${LOGS_MAX_TAIL}, default ${LOGS_DEFAULT_TAIL})` },
    since: { type: 'string', description: 'only lines from this long ago on: 30s, 10m, 2h, 1d (at most 7d)' },
    grep: { type: 'string', description: `only lines containing this text, ignoring case (plain text, at most ${MAX_GREP_CHARS} characters)` },
  },
  args: z.object({
    service: serviceArgument,
    tail: wholeNumberArgument(1, LOGS_MAX_TAIL).optional(),
    since: sinceArgument.optional(),
    grep: grepArgument.optional(),
  }),
  run(context, { service, tail, since, grep }) {
    const request: LogsRequest = { service, tail: tail ?? LOGS_DEFAULT_TAIL, ...(since ? { sinceSeconds: since } : {}), ...(grep ? { grep } : {}) };
    const stack = requireStack(context);
    return onStack('logs', service, async () => {
      // A local stack that is not running cannot list its services, yet its driver reads the log
      // files it left and checks the name against them; any other stack answers NOT_RUNNING again.
      await requireStackService(stack, service).catch((error: unknown) => {
        if (!(error instanceof StackError && error.code === 'NOT_RUNNING')) throw error;
      });
      const result = await stack.logs(service, {
        tail: request.tail,
        ...(since ? { since: new Date(Date.now() - since * 1000) } : {}),
        ...(grep ? { grep } : {}),
      });
      return logsDocument(stack, request, result);
    });
  },
});
