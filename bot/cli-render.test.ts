import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { ResultDocument } from '../commands/result.js';
import { actorId, commandLineFromArgv, exitCodeFor, jsonOf } from './cli.js';
import { renderText, terminalSafe } from './cli-render.js';

const document: ResultDocument = {
  title: 'Stack health',
  tone: 'fail',
  summary: '1 of 3 checks fail: audit-engine.',
  blocks: [
    {
      type: 'checks',
      items: [
        { name: 'policy-engine', tone: 'ok', text: 'healthy · 4 ms · v0.1.0' },
        { name: 'audit-engine', tone: 'fail', text: 'unreachable · 2 s · no answer within 2000 ms' },
        { name: 'redis', tone: 'warn', text: 'slow' },
        { name: 'postgres', tone: 'info', text: 'not configured' },
      ],
    },
    { type: 'fields', fields: [{ label: 'Modes', value: 'normal' }, { label: 'Policy version', value: 'abc' }] },
    { type: 'table', columns: ['table', 'inserts'], rows: [['audit_events', '12'], ['x', '1,234']] },
    { type: 'code', text: 'line one\nline two' },
  ],
  actions: [{ label: 'Check again', command: 'health' }],
  footer: 'first\nsecond',
};

describe('the terminal rendering', () => {
  it('shows the verdict, marks checks with ✓ ! ✗ ·, and aligns names, labels and columns', () => {
    expect(renderText(document)).toBe(
      [
        '✗ Stack health  FAILED',
        '1 of 3 checks fail: audit-engine.',
        '',
        '  ✓ policy-engine  healthy · 4 ms · v0.1.0',
        '  ✗ audit-engine   unreachable · 2 s · no answer within 2000 ms',
        '  ! redis          slow',
        '  · postgres       not configured',
        '',
        '  Modes:           normal',
        '  Policy version:  abc',
        '',
        '  table         inserts',
        '  ------------  -------',
        '  audit_events  12',
        '  x             1,234',
        '',
        '    line one',
        '    line two',
        '',
        'Next:',
        '  → Check again: acgs health',
        '',
        'first',
        'second',
        '',
      ].join('\n'),
    );
  });

  it('colours only when asked', () => {
    expect(renderText(document)).not.toContain('\u001b[');
    expect(renderText(document, { color: true })).toContain('\u001b[31m✗\u001b[39m');
  });

  it('removes escape sequences and control characters that services or users put in text', () => {
    const hostile: ResultDocument = {
      title: 'x\u001b]0;owned\u0007 title',
      tone: 'ok',
      summary: 'red \u001b[31mtext\u001b[0m and a bell\u0007 and \r carriage\nnewline',
      blocks: [
        { type: 'checks', items: [{ name: 'svc\u001b[2J', tone: 'ok', text: 'ok\u009b31m' }] },
        { type: 'code', text: 'keep\nlines\u001b[1A' },
      ],
    };
    const text = renderText(hostile);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('✓ x title  OK');
    expect(text).toContain('red text and a bell and  carriage newline');
    expect(text).toContain('  ✓ svc  ok');
    expect(text).toContain('    keep\n    lines\n');
    expect(terminalSafe('a\tb')).toBe('a  b');
  });
});

describe('the CLI around the registry', () => {
  it('rebuilds the command line from argv, keeping arguments with spaces whole', () => {
    expect(commandLineFromArgv(['health', '--json'])).toEqual({ line: 'health', json: true, follow: true });
    expect(commandLineFromArgv(['help', 'audit verify'])).toEqual({ line: 'help "audit verify"', json: false, follow: true });
    expect(commandLineFromArgv(['help', 'say "hi"'])).toEqual({ line: `help 'say "hi"'`, json: false, follow: true });
    expect(commandLineFromArgv(['violations', ''])).toEqual({ line: 'violations ""', json: false, follow: true });
    expect(commandLineFromArgv(['--json', 'metrics'])).toEqual({ line: 'metrics', json: true, follow: true });
    expect(commandLineFromArgv(['health', '--help'])).toEqual({ line: 'help health', json: false, follow: true });
    expect(commandLineFromArgv([])).toEqual({ line: '', json: false, follow: true });
    // The CLI's own flag: a started run is not followed, and the registry never sees the word.
    expect(commandLineFromArgv(['run', 'health-check', '--no-follow', '--json'])).toEqual({ line: 'run health-check', json: true, follow: false });
  });

  it('exits 0 for ok and info, 1 for warn and fail, 2 for a line typed wrong', () => {
    const with_ = (tone: ResultDocument['tone']) => ({ ...document, tone });
    expect(exitCodeFor({ outcome: 'ok', document: with_('ok') })).toBe(0);
    expect(exitCodeFor({ outcome: 'info', document: with_('info') })).toBe(0);
    expect(exitCodeFor({ outcome: 'warn', document: with_('warn') })).toBe(1);
    expect(exitCodeFor({ outcome: 'fail', document: with_('fail') })).toBe(1);
    expect(exitCodeFor({ outcome: 'error', document: with_('fail') })).toBe(1);
    expect(exitCodeFor({ outcome: 'rejected', rejection: 'unavailable', document: with_('fail') })).toBe(1);
    expect(exitCodeFor({ outcome: 'rejected', rejection: 'usage', document: with_('fail') })).toBe(2);
  });

  it('prints the machine-readable data, or the document when it has none', () => {
    expect(jsonOf({ ...document, data: { verdict: 'fail' } })).toEqual({ verdict: 'fail' });
    expect(jsonOf(document)).toBe(document);
  });

  it('acts as cli:<os user>, the user of the operating system whatever $USER and $LOGNAME say', () => {
    const saved = { USER: process.env.USER, LOGNAME: process.env.LOGNAME };
    process.env.USER = 'mallory';
    process.env.LOGNAME = 'mallory';
    try {
      expect(actorId()).toBe(`cli:${userInfo().username}`);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
