/**
 * The platform-neutral result of a command. Handlers build one of these; `bot/slack` renders it
 * to Block Kit, the CLI to text or JSON, the console sees the Block Kit. Text here is plain text:
 * every renderer escapes it for its own medium, so a service name or a log line can never turn
 * into Slack markup or a mention.
 */

/** A verdict: drives the emoji in Slack, the colour in the terminal and the CLI's exit code. */
export type Tone = 'ok' | 'warn' | 'fail' | 'info';

export interface CheckLine {
  /** What was checked, for example a service name. */
  name: string;
  tone: Tone;
  /** The finding, for example "healthy · 4 ms · v0.1.0". */
  text: string;
}

export type ResultBlock =
  /** One line per checked thing with its own verdict (health, KPIs against thresholds). */
  | { type: 'checks'; items: CheckLine[] }
  /** Label/value pairs, rendered two per row in Slack. */
  | { type: 'fields'; fields: { label: string; value: string }[] }
  /** A small table; renderers fall back to a monospaced block. */
  | {
      type: 'table';
      columns: string[];
      rows: string[][];
      /** Columns a person types back (help's usages): shown whole, since a cut one reads as another. */
      whole?: number[];
    }
  | { type: 'text'; text: string }
  /** Verbatim text such as log lines, shown monospaced and never interpreted. */
  | { type: 'code'; text: string }
  | { type: 'divider' };

export interface ResultConfirm {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

/**
 * A button. It carries a command line, not a callback: a click runs that command through the same
 * path as typed text (parsing, authorization, audit), tagged with the origin `button`.
 */
export interface ResultAction {
  label: string;
  command: string;
  style?: 'primary' | 'danger';
  confirm?: ResultConfirm;
}

export interface ResultDocument {
  title: string;
  tone: Tone;
  /** One sentence under the title: the verdict in words. */
  summary?: string;
  blocks: ResultBlock[];
  actions?: ResultAction[];
  /** Small print: timings, sources, the constitutional hash. */
  footer?: string;
  /** Only the person who asked sees it (help, argument errors, refusals). */
  ephemeral?: boolean;
  /**
   * Slack user IDs of the people this document names (who requested, started, ticked). Slack shows
   * each as a mention wherever it stands as a word in the summary, fields, text and check lines;
   * other renderers print the ID. Only listed IDs are, so no other text can become a mention.
   */
  people?: readonly string[];
  /** Machine-readable form for `--json`; defaults to the document itself. */
  data?: unknown;
}

const toneRank: Record<Tone, number> = { info: 0, ok: 1, warn: 2, fail: 3 };

/** The worst of several verdicts; `info` never outranks a real finding. */
export function worstTone(tones: Iterable<Tone>): Tone {
  let worst: Tone = 'ok';
  let any = false;
  for (const tone of tones) {
    any = true;
    if (toneRank[tone] > toneRank[worst]) worst = tone;
  }
  return any ? worst : 'info';
}
