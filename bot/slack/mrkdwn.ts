/**
 * Text on its way into and out of Slack. Everything we show is escaped (&, <, >) so that a service
 * name, a log line or a user's own words can never become a link, a mention or `<!channel>`; and
 * every length limit is met by cutting with a visible note instead of letting Slack refuse the
 * whole message.
 */

export const TRUNCATED_NOTE = '… (truncated)';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

export function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (character) => ESCAPES[character]!);
}

/**
 * Slack sends slash command and mention text with &, <, > escaped; the command parser wants what
 * the person typed. `&amp;` goes last so that `&amp;lt;` stays the literal `&lt;` it was.
 */
export function decodeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * The escaped form of `raw`, at most `max` characters long. When it does not fit, as much of the
 * start as fits is kept, followed by `note`; an entity (`&amp;`) or a surrogate pair is never cut
 * in half.
 */
export function fitText(raw: string, max: number, note = TRUNCATED_NOTE): string {
  const escaped = escapeText(raw);
  if (escaped.length <= max) return escaped;
  const budget = Math.max(0, max - note.length);
  let kept = '';
  for (const character of raw) {
    const piece = ESCAPES[character] ?? character;
    if (kept.length + piece.length > budget) break;
    kept += piece;
  }
  return `${kept.trimEnd()}${note}`.slice(0, max);
}

/** Cuts plain (unescaped) text to `max` characters with an ellipsis, for table cells. */
export function clip(raw: string, max: number): string {
  const characters = Array.from(raw);
  if (characters.length <= max) return raw;
  return `${characters.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/**
 * Packs already-escaped lines into chunks of at most `max` characters, joined by newlines. A line
 * longer than a chunk is cut into pieces, so nothing is dropped here; callers decide how many
 * chunks they can afford.
 */
export function packLines(lines: readonly string[], max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  const push = (line: string) => {
    if (current === '') current = line;
    else if (current.length + 1 + line.length <= max) current += `\n${line}`;
    else {
      chunks.push(current);
      current = line;
    }
  };
  for (const line of lines) {
    if (line.length <= max) push(line);
    else for (const piece of splitEscaped(line, max)) push(piece);
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

/** Splits an escaped string into pieces of at most `max` characters without cutting an entity. */
function splitEscaped(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = max;
    const ampersand = rest.lastIndexOf('&', cut - 1);
    if (ampersand > cut - 5 && /^&(amp|lt|gt);/.test(rest.slice(ampersand)) && ampersand + rest.slice(ampersand).indexOf(';') + 1 > cut) cut = ampersand;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}
