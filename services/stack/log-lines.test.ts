import { describe, expect, it } from 'vitest';
import { fixedWidthTime, parseDockerLogText, selectLogLines } from './log-lines.js';
import { normalizeLogsOptions } from './stack-checks.js';
import { MAX_LOG_LINE_CHARS } from './stack.js';

const options = (input: Parameters<typeof normalizeLogsOptions>[0] = {}) => normalizeLogsOptions(input);

describe('log lines', () => {
  it('splits timestamped docker output into lines and drops lines it cannot date', () => {
    const text = '2026-01-01T10:00:00.123456789Z first\r\n2026-01-01T10:00:01.5Z second with  spaces\nno timestamp here\n\n';
    expect(parseDockerLogText(text, 'web-1', 'stderr')).toEqual([
      { replica: 'web-1', stream: 'stderr', sortKey: '2026-01-01T10:00:00.123456789Z', text: 'first' },
      { replica: 'web-1', stream: 'stderr', sortKey: '2026-01-01T10:00:01.500000000Z', text: 'second with  spaces' },
    ]);
  });

  it('pads times to nine fractional digits so that text order is time order', () => {
    expect(fixedWidthTime('2026-01-01T10:00:00Z')).toBe('2026-01-01T10:00:00.000000000Z');
    expect(fixedWidthTime('2026-01-01T10:00:00.12Z') > fixedWidthTime('2026-01-01T10:00:00.1Z')).toBe(true);
  });

  it('interleaves replicas by time and returns the last lines', () => {
    const a = parseDockerLogText('2026-01-01T10:00:00.1Z a1\n2026-01-01T10:00:00.3Z a2\n', 'a', 'stdout');
    const b = parseDockerLogText('2026-01-01T10:00:00.2Z b1\n2026-01-01T10:00:00.4Z b2\n', 'b', 'stdout');
    const result = selectLogLines('web', [a, b], options({ tail: 3 }));
    expect(result.lines.map((line) => `${line.replica}:${line.text}`)).toEqual(['b:b1', 'a:a2', 'b:b2']);
    expect(result.lines[0]!.time).toBe('2026-01-01T10:00:00.200Z');
    expect(result).toMatchObject({ service: 'web', scanned: 4, truncated: true });
  });

  it('filters by plain text, case-insensitively, before taking the tail', () => {
    const lines = parseDockerLogText(
      ['ERROR one', 'ok', 'error (two)', 'Error [three]', 'fine'].map((text, index) => `2026-01-01T10:00:0${index}Z ${text}`).join('\n'),
      'a',
      'stdout',
    );
    expect(selectLogLines('web', [lines], options({ grep: 'error', tail: 2 })).lines.map((line) => line.text)).toEqual(['error (two)', 'Error [three]']);
    // Pattern characters are text: "(two)" matches only the line that contains it.
    expect(selectLogLines('web', [lines], options({ grep: '(TWO)' })).lines.map((line) => line.text)).toEqual(['error (two)']);
    expect(selectLogLines('web', [lines], options({ grep: 'e.r' })).lines).toEqual([]);
  });

  it('keeps only lines at or after "since", to the millisecond', () => {
    const lines = parseDockerLogText('2026-01-01T10:00:00.100Z old\n2026-01-01T10:00:00.200Z edge\n2026-01-01T10:00:00.300Z new\n', 'a', 'stdout');
    const result = selectLogLines('web', [lines], options({ since: new Date('2026-01-01T10:00:00.200Z') }));
    expect(result.lines.map((line) => line.text)).toEqual(['edge', 'new']);
    expect(result.truncated).toBe(false);
  });

  it('cuts an overlong line and says the result was cut', () => {
    const long = 'x'.repeat(MAX_LOG_LINE_CHARS + 50);
    const result = selectLogLines('web', [parseDockerLogText(`2026-01-01T10:00:00Z ${long}\n`, 'a', 'stdout')], options());
    expect(result.lines[0]!.text).toBe(`${'x'.repeat(MAX_LOG_LINE_CHARS)} …[cut]`);
    expect(result.truncated).toBe(true);
  });
});
