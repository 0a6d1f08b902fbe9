/**
 * People's own words in the review's Markdown file. A title, a note or an update may hold `*`,
 * `_`, `[x](url)`, `<script>`, `|` or a leading `#`: each is escaped so that it reads as typed and
 * cannot turn into emphasis, a link, HTML, a table cell's end or a heading. The file is read
 * on GitHub, in wikis and raw in Slack's preview, so only the characters that mean something are
 * escaped and the rest stays readable.
 */

/** Inline Markdown (CommonMark and GitHub's: `~` strikes through, `$` starts math); `&` starts an entity. */
const INLINE_SPECIALS = /[\\`*_[\]<>|~$&]/g;
/** What means something only at the start of a line: headings, list items, setext underlines. */
const LINE_START_SPECIAL = /^[#+=-]/;
const NUMBERED_ITEM = /^([0-9]+)([.)])/;
// Control characters other than line breaks: nothing to show, and some end a table row.
const CONTROL = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]/g;

/** One line of text, escaped: line breaks become spaces (a table cell or a list line stays one). */
export function markdownInline(text: string): string {
  const flat = text.replace(CONTROL, ' ').replace(/\s*(?:\r\n?|\n)\s*/g, ' ').trim();
  return escapeLineStart(flat.replace(INLINE_SPECIALS, (character) => `\\${character}`));
}

/** Text of several lines as a block quote, each line escaped; an empty line keeps the paragraphs apart. */
export function markdownQuote(text: string, indent = ''): string {
  return text
    .replace(CONTROL, ' ')
    .split(/\r\n?|\n/)
    .map((line) => {
      // Leading spaces would make an indented code block inside the quote.
      const escaped = escapeLineStart(line.trim().replace(INLINE_SPECIALS, (character) => `\\${character}`));
      return escaped === '' ? `${indent}>` : `${indent}> ${escaped}`;
    })
    .join('\n');
}

/**
 * A reference (a run id, an alert or approval id, a message's permalink): a web address becomes a
 * link, anything else a code span, so an id is copied whole.
 */
export function markdownReference(reference: string, inTable = false): string {
  const flat = reference.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  if (/^https?:\/\/[^\s<>]+$/i.test(flat)) {
    // Percent-encoding the characters that would end the link keeps the address the same address.
    const target = flat.replace(/[()[\]|`\\]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    return `[link](${target})`;
  }
  return codeSpan(flat, inTable);
}

/** A code span that holds backticks too: its fence is one backtick longer than the longest run inside. */
export function codeSpan(text: string, inTable = false): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  // In a table a `|` ends the cell even inside a code span (GitHub), so there it is escaped too.
  return `${fence}${inTable ? padded.replace(/\|/g, '\\|') : padded}${fence}`;
}

function escapeLineStart(line: string): string {
  const numbered = NUMBERED_ITEM.exec(line);
  if (numbered) return `${numbered[1]}\\${numbered[2]}${line.slice(numbered[0].length)}`;
  return LINE_START_SPECIAL.test(line) ? `\\${line}` : line;
}
