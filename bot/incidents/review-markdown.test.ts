import { describe, expect, it } from 'vitest';
import { codeSpan, markdownInline, markdownQuote, markdownReference } from './review-markdown.js';

describe('people\'s words in the review\'s Markdown', () => {
  it('escape every character that would become emphasis, a link, HTML, an entity, a cell end, strike-through or math', () => {
    expect(markdownInline('*bold* _it_ [x](http://e.example) <b>hi</b> a|b ~~s~~ $x$ &amp; `code` back\\slash')).toBe(
      '\\*bold\\* \\_it\\_ \\[x\\](http://e.example) \\<b\\>hi\\</b\\> a\\|b \\~\\~s\\~\\~ \\$x\\$ \\&amp; \\`code\\` back\\\\slash',
    );
  });

  it('leave ordinary punctuation readable', () => {
    expect(markdownInline('p99 is 5.2 ms (was 1.1 ms) - restart done!')).toBe('p99 is 5.2 ms (was 1.1 ms) - restart done!');
  });

  it('keep a line one line: breaks become spaces and control characters go', () => {
    expect(markdownInline('first\r\nsecond\nthird\rfourth\u0007\tend')).toBe('first second third fourth  end');
  });

  it('escape what would start a heading, a list item or a numbered item at the start of a line', () => {
    expect(markdownInline('# not a heading')).toBe('\\# not a heading');
    expect(markdownInline('- not an item')).toBe('\\- not an item');
    expect(markdownInline('+ nor this')).toBe('\\+ nor this');
    expect(markdownInline('=== not an underline')).toBe('\\=== not an underline');
    expect(markdownInline('1. not numbered')).toBe('1\\. not numbered');
    expect(markdownInline('12) nor this')).toBe('12\\) nor this');
    expect(markdownInline('> not a quote')).toBe('\\> not a quote');
  });

  it('quote several lines, each escaped at its start, with empty lines kept and indentation dropped', () => {
    expect(markdownQuote('Restarted.\n# still slow\n\n    - cache *cold*', '  ')).toBe('  > Restarted.\n  > \\# still slow\n  >\n  > \\- cache \\*cold\\*');
  });
});

describe('references', () => {
  it('link a web address, percent-encoding what would end the link', () => {
    expect(markdownReference('https://acme.slack.com/archives/C1/p1')).toBe('[link](https://acme.slack.com/archives/C1/p1)');
    expect(markdownReference('https://e.example/a_(b)|c')).toBe('[link](https://e.example/a_%28b%29%7Cc)');
  });

  it('show anything else whole in a code span, never as a link', () => {
    expect(markdownReference('run-3f2a')).toBe('`run-3f2a`');
    expect(markdownReference('javascript:alert(1)')).toBe('`javascript:alert(1)`');
    expect(markdownReference('https://e.example/<script>')).toBe('`https://e.example/<script>`');
  });

  it('fence a reference holding backticks with a longer fence, and escape a pipe inside a table', () => {
    expect(codeSpan('a`b``c')).toBe('```a`b``c```');
    expect(codeSpan('`x')).toBe('`` `x ``');
    expect(markdownReference('a|b', true)).toBe('`a\\|b`');
    expect(markdownReference('a|b')).toBe('`a|b`');
  });
});
