/**
 * The CLI prints the steps of a multi-step command as they happen: one line each on stderr,
 * marked like the answer's checks, before the answer on stdout; `--json` keeps stdout one JSON
 * document; a stderr that throws fails nothing. Fixture commands through `runCli` itself (the
 * real gate with the default rules, plus a config file that makes the fixtures read-only); the
 * Policy Engine's address answers nothing, which read-only commands do not need.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cliProgress } from '../../bot/cli-progress.js';
import { renderProgressStep } from '../../bot/cli-render.js';
import { runCli, type CliIo } from '../../bot/cli.js';
import { defineCommand } from '../../commands/command.js';
import { createRegistry, type Registry } from '../../commands/registry.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';

const ESC = '\u001b[';

/** What each run saw, in order: `out:` for stdout, `err:` for stderr, `ran:` for the command's own marks. */
let events: string[] = [];

/** Tells `count` steps (the second warns, the third fails), 20 ms apart, then answers with data. */
const steps = defineCommand({
  name: 'steps',
  summary: 'Tells each of its steps, then answers',
  usage: '<count>',
  examples: ['steps 3'],
  level: 'read',
  positionals: ['count'],
  args: z.object({ count: z.coerce.number().int().min(0).max(10) }),
  async run(context, { count }) {
    for (let n = 1; n <= count; n += 1) {
      await context.progress({ text: `replica-${n} (${n} of ${count}) is back`, ...(n === 2 ? { tone: 'warn' as const } : n === 3 ? { tone: 'fail' as const } : {}) });
      events.push(`ran:after step ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { title: `All ${count} parts done`, tone: 'ok', summary: 'Everything is back.', blocks: [], data: { parts: count } };
  },
});

/** Tells one step whose text tries to drive the terminal. */
const hostile = defineCommand({
  name: 'hostile',
  summary: 'Tells a step with escape sequences in it',
  examples: ['hostile'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    await context.progress({ text: `evil\u001b]0;owned\u0007 \u001b[2Jname\nnext line\r` });
    return { title: 'Done', tone: 'ok', blocks: [] };
  },
});

let registry: Registry;
let env: Record<string, string>;
let scratch: string;

beforeAll(async () => {
  registry = createRegistry([steps, hostile]);
  scratch = mkdtempSync(join(tmpdir(), 'acgs-cli-progress-'));
  const config = join(scratch, 'config.yaml');
  writeFileSync(config, 'authorization:\n  commands:\n    steps: { level: 0 }\n    hostile: { level: 0 }\n');
  env = { POLICY_ENGINE_URL: await unusedLoopbackUrl(), ACGS_CHECK_TIMEOUT_MS: '500', ACGS_STATE_DIR: scratch, ACGS_CONFIG: config };
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function acgs(args: string[], io: Partial<CliIo> = {}): Promise<Run> {
  events = [];
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    {
      env,
      cwd: process.cwd(),
      stdout: (text) => {
        stdout += text;
        events.push(`out:${text}`);
      },
      stderr: (text) => {
        stderr += text;
        events.push(`err:${text}`);
      },
      ...io,
    },
    { registry },
  );
  return { code, stdout, stderr };
}

const STEP_LINE = (mark: string, text: string) => new RegExp(`^${mark} ${text.replace(/[()]/g, '\\$&')}  \\([\\d.]+ m?s\\)\\n$`);

describe('acgs prints the steps of a multi-step command', () => {
  it('prints each step on stderr as it happens, marked ✓ ! ✗, all before the answer on stdout', async () => {
    const run = await acgs(['steps', '3']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(events).toHaveLength(7);
    expect(events[0]).toMatch(STEP_LINE('err:✓', 'replica-1 (1 of 3) is back'));
    expect(events[1]).toBe('ran:after step 1');
    expect(events[2]).toMatch(STEP_LINE('err:!', 'replica-2 (2 of 3) is back'));
    expect(events[3]).toBe('ran:after step 2');
    expect(events[4]).toMatch(STEP_LINE('err:✗', 'replica-3 (3 of 3) is back'));
    expect(events[5]).toBe('ran:after step 3');
    expect(events[6]).toMatch(/^out:✓ All 3 parts done {2}OK\nEverything is back\.\n$/);
    // The answer alone on stdout, and no colour when the streams are not terminals.
    expect(run.stdout).not.toContain('replica-');
    expect(run.stderr).not.toContain(ESC);
  });

  it('tells the time since the command line began, growing step by step', async () => {
    const run = await acgs(['steps', '3']);
    const times = [...run.stderr.matchAll(/\(([\d.]+) (m?s)\)$/gm)].map(([, value, unit]) => Number(value) * (unit === 's' ? 1000 : 1));
    expect(times).toHaveLength(3);
    // 20 ms between steps; the clock's rounding (one decimal of a second) cannot make a later one smaller.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(15);
    expect(times[2]!).toBeGreaterThanOrEqual(times[1]!);
  });

  it('with --json prints the same step lines on stderr and one JSON document on stdout', async () => {
    const run = await acgs(['steps', '2', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ parts: 2 });
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^✓ replica-1 \(1 of 2\) is back {2}\(/), expect.stringMatching(/^! replica-2 \(2 of 2\) is back {2}\(/)]);
    expect(events.findIndex((event) => event.startsWith('out:'))).toBe(events.length - 1);
  });

  it('colours the marks when stderr is a terminal, whatever stdout is; never with NO_COLOR', async () => {
    const coloured = await acgs(['steps', '3'], { stderrIsTty: true, isTty: false });
    const lines = coloured.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^\u001b\[32m✓\u001b\[39m replica-1 \(1 of 3\) is back {2}\u001b\[2m\([\d.]+ m?s\)\u001b\[22m$/);
    expect(lines[1]).toMatch(/^\u001b\[33m!\u001b\[39m /);
    expect(lines[2]).toMatch(/^\u001b\[31m✗\u001b\[39m /);
    expect(coloured.stdout).not.toContain(ESC);

    let stderr = '';
    await runCli(['steps', '1'], { env: { ...env, NO_COLOR: '1' }, cwd: process.cwd(), stdout: () => undefined, stderr: (text) => (stderr += text), stderrIsTty: true }, { registry });
    expect(stderr).toMatch(STEP_LINE('✓', 'replica-1 (1 of 1) is back'));
  });

  it('makes step text inert for the terminal: no escape sequences, one line', async () => {
    const run = await acgs(['hostile'], { stderrIsTty: true });
    const plain = run.stderr.replace(/\u001b\[\d+m/g, '');
    expect(plain).toMatch(/^✓ evil name next line {2}\([\d.]+ m?s\)\n$/);
    expect(run.stderr).not.toContain('\u001b]');
    expect(run.stderr).not.toContain('\u001b[2J');
  });

  it('a stderr that throws on every write fails nothing: the command runs every step and answers', async () => {
    const run = await acgs(['steps', '3', '--json'], {
      stderr: () => {
        throw new Error('EPIPE: stderr is closed');
      },
    });
    expect(run.code).toBe(0);
    expect(events.filter((event) => event.startsWith('ran:'))).toEqual(['ran:after step 1', 'ran:after step 2', 'ran:after step 3']);
    expect(JSON.parse(run.stdout)).toEqual({ parts: 3 });
  });

  it('a line the registry refuses prints no step and runs nothing', async () => {
    const run = await acgs(['steps', '11']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('');
    expect(events.some((event) => event.startsWith('ran:'))).toBe(false);
    expect(run.stdout.split('\n')[0]).toBe('✗ Cannot run that  FAILED');
  });
});

describe('the step line', () => {
  it('is the mark, the text and the time, ok by default', () => {
    expect(renderProgressStep({ text: 'alpha (1 of 2) is back: pid 41 → 97 · healthy' }, { elapsedMs: 812 })).toBe('✓ alpha (1 of 2) is back: pid 41 → 97 · healthy  (812 ms)\n');
    expect(renderProgressStep({ text: 'beta is back', tone: 'warn' }, { elapsedMs: 1640 })).toBe('! beta is back  (1.6 s)\n');
    expect(renderProgressStep({ text: 'no time', tone: 'info' })).toBe('· no time\n');
  });

  it('is timed from when the reporter was made', async () => {
    let clock = 100;
    const lines: string[] = [];
    const report = cliProgress({ write: (text) => lines.push(text), color: false, now: () => clock });
    clock = 900;
    await report({ text: 'first' });
    clock = 2_300;
    await report({ text: 'second', tone: 'fail' });
    expect(lines).toEqual(['✓ first  (800 ms)\n', '✗ second  (2.2 s)\n']);
  });
});
