/**
 * A result document as terminal text: title with its verdict, checks marked ✓ / ! / ✗, fields and
 * tables in aligned columns, code indented. Text from services passes through `terminalSafe`, so
 * a log line or a service name can never move the cursor, recolour or retitle the terminal.
 */
import { styleText } from 'node:util';
import { formatMs } from '../commands/format.js';
import type { ProgressStep } from '../commands/progress.js';
import type { ResultBlock, ResultDocument, Tone } from '../commands/result.js';

export interface TextRenderOptions {
  /** ANSI colours; the CLI turns them on for a terminal unless NO_COLOR is set. */
  color?: boolean;
}

export const TONE_MARKS: Record<Tone, string> = { ok: '✓', warn: '!', fail: '✗', info: '·' };
const TONE_COLORS: Record<Tone, 'green' | 'yellow' | 'red' | 'cyan'> = { ok: 'green', warn: 'yellow', fail: 'red', info: 'cyan' };
const VERDICT_WORDS: Record<Tone, string> = { ok: 'OK', warn: 'WARNING', fail: 'FAILED', info: 'INFO' };

// ESC/CSI sequences first (so their parameters go too), then every other control character.
const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-_])|\u009b[0-?]*[ -/]*[@-~]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text from anywhere made inert for a terminal: escape sequences and control characters removed, tabs as spaces. */
export function terminalSafe(text: string, keepNewlines = false): string {
  const cleaned = text.replace(ESCAPE_SEQUENCE, '').replace(/\t/g, '  ').replace(CONTROL, '');
  return keepNewlines ? cleaned : cleaned.replace(/\r?\n/g, ' ');
}

/** Display width in columns, counting code points (good enough for the text our services send). */
const width = (text: string) => [...text].length;
const pad = (text: string, columns: number) => text + ' '.repeat(Math.max(0, columns - width(text)));

type Paint = (format: Parameters<typeof styleText>[0], text: string) => string;

function painter(options: TextRenderOptions): { paint: Paint; mark: (tone: Tone) => string } {
  // The caller decided (terminal, NO_COLOR); styleText would otherwise look at process.stdout itself.
  const paint: Paint = (format, text) => (options.color ? styleText(format, text, { validateStream: false }) : text);
  return { paint, mark: (tone) => paint(TONE_COLORS[tone], TONE_MARKS[tone]) };
}

/**
 * A step of a multi-step command (commands/progress.ts) as one terminal line, marked like a
 * check: `✓ alpha-2 (2 of 3) is back: pid 41 → 97 · healthy  (1.6 s)`, with the time since the
 * command started when it is given.
 */
export function renderProgressStep(step: ProgressStep, options: TextRenderOptions & { elapsedMs?: number } = {}): string {
  const { paint, mark } = painter(options);
  const elapsed = options.elapsedMs === undefined ? '' : `  ${paint('dim', `(${formatMs(options.elapsedMs)})`)}`;
  return `${mark(step.tone ?? 'ok')} ${terminalSafe(step.text)}${elapsed}\n`;
}

export function renderText(document: ResultDocument, options: TextRenderOptions = {}): string {
  const { paint, mark } = painter(options);
  const lines: string[] = [];

  lines.push(`${mark(document.tone)} ${paint('bold', terminalSafe(document.title))}  ${paint(TONE_COLORS[document.tone], VERDICT_WORDS[document.tone])}`);
  if (document.summary) lines.push(terminalSafe(document.summary));
  for (const block of document.blocks) {
    const rendered = renderBlock(block, mark, paint);
    if (rendered.length > 0) lines.push('', ...rendered);
  }
  if (document.actions?.length) {
    lines.push('', 'Next:');
    for (const action of document.actions) lines.push(`  → ${terminalSafe(action.label)}: acgs ${terminalSafe(action.command)}`);
  }
  if (document.footer) lines.push('', ...terminalSafe(document.footer, true).split('\n').map((line) => paint('dim', line)));
  return `${lines.join('\n')}\n`;
}

function renderBlock(block: ResultBlock, mark: (tone: Tone) => string, paint: Paint): string[] {
  switch (block.type) {
    case 'checks': {
      const nameWidth = Math.max(...block.items.map((item) => width(terminalSafe(item.name))));
      return block.items.map((item) => `  ${mark(item.tone)} ${pad(terminalSafe(item.name), nameWidth)}  ${terminalSafe(item.text)}`);
    }
    case 'fields': {
      const labelWidth = Math.max(...block.fields.map((field) => width(terminalSafe(field.label)) + 1));
      return block.fields.map((field) => `  ${pad(`${terminalSafe(field.label)}:`, labelWidth)}  ${terminalSafe(field.value)}`);
    }
    case 'table': {
      const header = block.columns.map((column) => terminalSafe(column));
      const rows = block.rows.map((row) => header.map((_, index) => terminalSafe(row[index] ?? '')));
      const widths = header.map((column, index) => Math.max(width(column), ...rows.map((row) => width(row[index]!))));
      const line = (cells: string[]) => `  ${cells.map((cell, index) => (index === cells.length - 1 ? cell : pad(cell, widths[index]!))).join('  ')}`.trimEnd();
      return [paint('bold', line(header)), line(widths.map((columns) => '-'.repeat(columns))), ...rows.map(line)];
    }
    case 'text':
      return terminalSafe(block.text, true).split('\n').map((text) => `  ${text}`);
    case 'code':
      return terminalSafe(block.text, true).split('\n').map((text) => `    ${text}`);
    case 'divider':
      return ['  ' + '─'.repeat(40)];
  }
}
