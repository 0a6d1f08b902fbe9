/**
 * What `/acgs audit [--user] [--command] [--since] [--limit]` and `/acgs audit verify` show for
 * the bot's own trail: the argument schema of `audit`, and result documents (plain data; every
 * renderer escapes the text for its medium). The trail is read through the port in ports.ts.
 */
import { z } from 'zod';
import { wholeNumberArgument } from './arguments.js';
import { clip, formatCount, formatMs, formatTimestamp } from './format.js';
import {
  DEFAULT_QUERY_LIMIT,
  MAX_QUERY_LIMIT,
  type AuditLogCheck,
  type AuditLogLoss,
  type AuditLogPage,
  type AuditLogQuery,
  type AuditLogRecord,
  type AuditLogVerification,
} from './ports.js';
import type { ResultDocument } from './result.js';

const shown = (input: unknown) => (typeof input === 'string' ? ` (got \`${clip(input, 40)}\`)` : '');

const USER_HELP = 'must name one person: a mention such as @alice, a Slack user ID such as U0123ABCD, or cli:<user>';

/** `<@U0123ABCD>`, `<@U0123ABCD|alice>`, `U0123ABCD` or `cli:alice` -> the actor ID the trail records. */
export const auditUserArgument = z.string({ error: USER_HELP }).transform((value, context) => {
  const text = value.trim();
  const slack = /^(?:<@)?([UW][A-Z0-9]{2,20})(?:\|[^>]{0,80})?(?:>)?$/.exec(text);
  if (slack && (text.startsWith('<@') === text.endsWith('>'))) return slack[1]!;
  if (/^cli:[A-Za-z0-9._-]{1,64}$/.test(text)) return text;
  context.addIssue({ code: 'custom', input: value, message: `${USER_HELP}${shown(value)}` });
  return z.NEVER;
});

const COMMAND_HELP = 'must be a command name such as scale or "lockdown lift"';

export const auditCommandArgument = z
  .string({ error: COMMAND_HELP })
  .transform((value) => value.trim().toLowerCase().replace(/\s+/g, ' '))
  .refine((value) => /^[a-z][a-z0-9-]{0,39}( [a-z][a-z0-9-]{0,39})?$/.test(value), { error: (issue) => `${COMMAND_HELP}${shown(issue.input)}` });

const SINCE_HELP = 'must be a time span such as 30m, 12h, 7d or 2w, or a date such as 2025-01-31 or 2025-01-31T08:00Z';
const SPAN_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** Older than this is refused: a typo, not a question anyone means to ask the trail. */
const MAX_SPAN_MS = 5 * 366 * 86_400_000;

/** `--since`: a span back from now (`7d`) or a date or time in UTC unless it names its offset. */
export function parseSince(value: string, now: Date = new Date()): Date | undefined {
  const text = value.trim();
  const span = /^([0-9]{1,5})\s*([mhdw])$/i.exec(text);
  if (span) {
    const ms = Number(span[1]) * SPAN_MS[span[2]!.toLowerCase() as keyof typeof SPAN_MS];
    return ms > 0 && ms <= MAX_SPAN_MS ? new Date(now.getTime() - ms) : undefined;
  }
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? new Date(`${text}T00:00:00Z`)
    : /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text)
      ? new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text.replace(' ', 'T') : `${text.replace(' ', 'T')}Z`)
      : undefined;
  if (!date || Number.isNaN(date.getTime())) return undefined;
  // A calendar date that does not exist (2025-02-30) rolls over in Date; refuse it instead.
  if (date.toISOString().slice(0, 10) !== text.slice(0, 10) && !/[+-]\d{2}:?\d{2}$/.test(text)) return undefined;
  return date;
}

export const auditSinceArgument = z.string({ error: SINCE_HELP }).transform((value, context) => {
  const since = parseSince(value);
  if (!since) {
    context.addIssue({ code: 'custom', input: value, message: `${SINCE_HELP}${shown(value)}` });
    return z.NEVER;
  }
  return since;
});

/** The flags of `/acgs audit`, parsed into the trail's query. */
export const auditQueryArguments = z
  .object({
    user: auditUserArgument.optional(),
    command: auditCommandArgument.optional(),
    since: auditSinceArgument.optional(),
    limit: wholeNumberArgument(1, MAX_QUERY_LIMIT).optional(),
  })
  .strict()
  .transform(
    (args): AuditLogQuery => ({
      limit: args.limit ?? DEFAULT_QUERY_LIMIT,
      ...(args.user ? { user: args.user } : {}),
      ...(args.command ? { command: args.command } : {}),
      ...(args.since ? { since: args.since } : {}),
    }),
  );

const LEVEL_WORDS: Record<string, string> = { read: 'read-only', 1: 'L1', 2: 'L2', 3: 'L3', 4: 'L4' };

function describeFilter(filter: AuditLogQuery): string {
  const parts: string[] = [];
  if (filter.user) parts.push(`by ${filter.user}`);
  if (filter.command) parts.push(`command ${filter.command}`);
  if (filter.since) parts.push(`since ${formatTimestamp(filter.since.toISOString())}`);
  return parts.length > 0 ? parts.join(', ') : 'all records';
}

function whatHappened(record: AuditLogRecord): string {
  const level = record.level === null ? '' : ` (${LEVEL_WORDS[String(record.level)]})`;
  return `${record.kind.replace(/_/g, ' ')}${level}`;
}

function argumentsText(args: unknown): string {
  if (args === null || args === undefined) return '';
  if (typeof args === 'string') return clip(args, 60);
  if (typeof args === 'object' && !Array.isArray(args)) {
    return clip(
      Object.entries(args as Record<string, unknown>)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' '),
      60,
    );
  }
  return clip(JSON.stringify(args), 60);
}

function waitingNote(waiting: number): string | undefined {
  if (waiting === 0) return undefined;
  return `${formatCount(waiting)} more record${waiting === 1 ? ' is' : 's are'} waiting in the bot's local spool and join the trail when PostgreSQL is back.`;
}

/** The answer to `/acgs audit ...`: the matching records, newest first. */
export function auditTrailDocument(result: AuditLogPage, filter: AuditLogQuery): ResultDocument {
  const scope = describeFilter(filter);
  const footer = [
    result.more ? `Showing the newest ${formatCount(result.records.length)}; narrow with --user, --command or --since, or raise --limit (at most ${MAX_QUERY_LIMIT}).` : undefined,
    waitingNote(result.waiting),
    "From the bot's own hash-chained trail; `audit verify` checks it.",
  ].filter((line): line is string => line !== undefined);
  if (result.records.length === 0) {
    return {
      title: 'Audit trail',
      tone: 'info',
      summary: `No records match (${scope}).`,
      blocks: [],
      footer: footer.join(' '),
      data: result,
    };
  }
  return {
    title: 'Audit trail',
    tone: 'info',
    summary: `${formatCount(result.records.length)} record${result.records.length === 1 ? '' : 's'}, newest first (${scope}).`,
    blocks: [
      {
        type: 'table',
        columns: ['#', 'When', 'Who', 'What', 'Command', 'Decision', 'Outcome'],
        rows: result.records.map((record) => [
          String(record.sequence),
          formatTimestamp(record.at),
          clip(record.actor ?? '', 24),
          whatHappened(record),
          clip([record.command ?? '', argumentsText(record.args)].filter(Boolean).join(' '), 60),
          clip(record.decision ?? '', 20),
          clip(record.outcome ?? '', 20),
        ]),
      },
    ],
    footer: footer.join(' '),
    data: result,
  };
}

const CHECK_WORDS: Record<AuditLogCheck, string> = {
  missing: 'records are missing',
  content: 'its content was changed after it was written',
  hash: 'its hash was changed after it was written',
  link: 'the chain does not link there',
  head: 'the last record does not match the recorded head',
  checkpoint: 'it differs from what a signed checkpoint recorded (records rewritten and hashes recomputed)',
};

/** What the walk covered: from a signed checkpoint, or every record from the genesis. */
function coverage(result: AuditLogVerification): string {
  if (result.checkpoint) {
    const from = `records up to #${result.checkpoint.sequence} match the signed checkpoint of ${formatTimestamp(result.checkpoint.at)}`;
    return result.scope === 'checkpoint' ? `${from}; records after it were walked.` : `${from}; every record was walked too.`;
  }
  return 'No signed checkpoint yet: every record was walked.';
}

/** The answer to `/acgs audit verify` for the bot's trail. */
export function auditTrailVerifyDocument(result: AuditLogVerification): ResultDocument {
  const facts = [
    { label: 'Records checked', value: formatCount(result.checked) },
    { label: 'Chain head', value: result.head.sequence === 0 ? 'empty trail' : `#${result.head.sequence} (${result.head.hash.slice(0, 16)}…)` },
    { label: 'Checked at', value: formatTimestamp(result.checkedAt) },
    { label: 'Took', value: formatMs(result.durationMs) },
  ];
  const note = waitingNote(result.waiting);
  const checkpointNotes = (result.notes ?? []).map((line) => ({ type: 'text' as const, text: clip(line, 300) }));
  if (result.valid) {
    return {
      title: "Bot's audit trail intact",
      tone: 'ok',
      summary:
        result.head.sequence === 0
          ? "The bot's audit trail is empty: nothing was recorded yet."
          : `All ${formatCount(result.checked)} records match their hashes and links.`,
      blocks: [{ type: 'fields', fields: facts }, { type: 'text', text: coverage(result) }, ...checkpointNotes],
      footer: [note, "Verified by walking the bot's hash-chained trail in PostgreSQL."].filter(Boolean).join(' '),
      data: result,
    };
  }
  const bad = result.firstBad!;
  return {
    title: "Bot's audit trail broken",
    tone: 'fail',
    summary: `The first altered or missing record is #${bad.sequence}: ${CHECK_WORDS[bad.check]}.`,
    blocks: [
      {
        type: 'fields',
        fields: [{ label: 'First bad record', value: `#${bad.sequence}` }, { label: 'Failed check', value: bad.check }, ...facts],
      },
      { type: 'text', text: bad.problem },
      ...(result.missing && result.missing.length > 0
        ? [{ type: 'code' as const, text: clip(`missing: ${result.missing.map((entry) => `#${entry.sequence} ${entry.key}`).join(', ')}`, 1500) }]
        : []),
      ...checkpointNotes,
    ],
    footer: [note, 'Audit records are never edited: treat this as a security incident and keep the database as it is for investigation.']
      .filter(Boolean)
      .join(' '),
    data: result,
  };
}

/** Sums `records_lost` notes read back from the trail (their `details`), oldest first or not. */
export function lossFromNotes(notes: Array<{ details: unknown }>): AuditLogLoss | undefined {
  let sum: AuditLogLoss | undefined;
  for (const note of notes) {
    const details = (note.details ?? {}) as Record<string, unknown>;
    const count = typeof details.count === 'number' && details.count > 0 ? details.count : 1;
    const firstAt = typeof details.first_at === 'string' ? details.first_at : '';
    const lastAt = typeof details.last_at === 'string' ? details.last_at : firstAt;
    const reason = typeof details.reason === 'string' ? details.reason : 'not recorded';
    sum = {
      count: (sum?.count ?? 0) + count,
      firstAt: sum && sum.firstAt <= firstAt ? sum.firstAt : firstAt,
      lastAt: sum && sum.lastAt >= lastAt ? sum.lastAt : lastAt,
      reason: sum && sum.lastAt >= lastAt ? sum.reason : reason,
    };
  }
  return sum;
}

/**
 * Every loss known: the notes read back from the trail, plus this process's losses not noted yet.
 * `notes` undefined when the trail could not be read: then only this process's are known.
 */
export function knownLoss(notes: Array<{ details: unknown }> | undefined, own: (AuditLogLoss & { unnoted: number }) | undefined): (AuditLogLoss & { complete: boolean }) | undefined {
  const noted = notes ? lossFromNotes(notes) : undefined;
  const pending = notes ? (own && own.unnoted > 0 ? own : undefined) : own;
  if (!noted && !pending) return undefined;
  const count = (noted?.count ?? 0) + (notes ? (pending?.unnoted ?? 0) : (pending?.count ?? 0));
  const later = !noted || (pending && pending.lastAt >= noted.lastAt) ? pending! : noted;
  return {
    count,
    firstAt: [noted?.firstAt, pending?.firstAt].filter((at): at is string => !!at).sort()[0]!,
    lastAt: later.lastAt,
    reason: later.reason,
    complete: notes !== undefined,
  };
}

/** One sentence for `audit verify`: how many, when, why, and what to do. */
export function lossSentence(loss: AuditLogLoss & { complete: boolean }): string {
  const many = loss.count === 1 ? 'record was' : 'records were';
  const when = loss.firstAt === loss.lastAt ? `at ${loss.firstAt}` : `between ${loss.firstAt} and ${loss.lastAt}`;
  return (
    `${loss.complete ? '' : 'At least '}${loss.count} audit ${many} lost ${when}: they could be stored neither in PostgreSQL nor in the local spool ` +
    `(last reason: ${loss.reason}). The chain cannot show what they said; the bot's log names each one. Free disk space where the bot keeps its spool.`
  );
}
