import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allRunbooks } from '../index.js';
import { defineRunbook, RunbookDefinitionError, type StepDefinition } from './definition.js';
import { RunbookInputError } from './errors.js';
import { createRunbookRegistry } from './registry.js';
import { planRun } from './requests.js';

type Args = { service: string };

function step(overrides: Partial<StepDefinition<Args>> = {}): StepDefinition<Args> {
  return {
    id: 'look',
    kind: 'check',
    title: 'Look at the service',
    timeoutMs: 1000,
    idempotent: true,
    async run(context) {
      return { looked: context.args.service };
    },
    async dryRun(context) {
      return { mode: 'read-only-check', text: `looked at ${context.args.service}` };
    },
    ...overrides,
  };
}

const Service = z.object({ service: z.string().min(1).describe('the service to look at') });

function runbook(overrides: Partial<Parameters<typeof defineRunbook<typeof Service>>[0]> = {}) {
  return defineRunbook({ source: import.meta.url, name: 'look', summary: 'Looks at a service', level: 0, args: Service, steps: [step()], ...overrides });
}

const scratch = mkdtempSync(join(tmpdir(), 'acgs-runbook-source-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

/** A module file holding `text`, in a directory of its own; returns its URL. */
function moduleFile(text: string): string {
  const dir = join(scratch, String((files += 1)));
  mkdirSync(dir);
  writeFileSync(join(dir, 'runbook.ts'), text);
  return pathToFileURL(join(dir, 'runbook.ts')).href;
}

describe('a runbook version', () => {
  it('is the same for the same definition, built twice', () => {
    expect(runbook().version).toMatch(/^[0-9a-f]{16}$/);
    expect(runbook().version).toBe(runbook().version);
  });

  it('changes with a step title, its flags, its kind, the arguments schema, or the text of its module', () => {
    const base = runbook().version;
    const changed = [
      runbook({ steps: [step({ title: 'Look closely at the service' })] }),
      runbook({ steps: [step({ idempotent: false })] }),
      runbook({ steps: [step({ skippable: false })] }),
      runbook({ steps: [step({ timeoutMs: 2000 })] }),
      runbook({ steps: [step({ kind: 'verify' })] }),
      runbook({ source: moduleFile('export const body = 1;\n') }),
      runbook({ args: z.object({ service: z.string().min(2).describe('the service to look at') }) }),
      runbook({ steps: [step(), step({ id: 'again' })] }),
    ].map((each) => each.version);
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
  });

  it("depends on the module's text, not on where it lies nor on its line endings", () => {
    const text = 'export const body = 1;\nexport const more = 2;\n';
    const here = runbook({ source: moduleFile(text) }).version;
    expect(runbook({ source: moduleFile(text) }).version).toBe(here);
    expect(runbook({ source: moduleFile(text.replace(/\n/g, '\r\n')) }).version).toBe(here);
    expect(runbook({ source: moduleFile(text.replace('1', '3')) }).version).not.toBe(here);
  });

  // Replicas started with `tsx`, with `node --import tsx`, or under vitest must agree: each loader
  // makes other code of the same file, which the version must not see.
  it.each([
    ['the tsx CLI', [fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))]],
    ['node --import tsx', [process.execPath, '--import', 'tsx']],
  ])('is the same under %s as under vitest, for every runbook shipped', (_loader, command) => {
    const script = fileURLToPath(new URL('./testing/print-versions.ts', import.meta.url));
    const child = spawnSync(command[0]!, [...command.slice(1), script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual(Object.fromEntries(allRunbooks.map((each) => [each.name, each.version])));
  });
});

describe('defineRunbook', () => {
  it.each([
    ['a duplicate step id', { steps: [step(), step()] }, /step "look": the id is used twice/],
    ['an empty title', { steps: [step({ title: ' ' })] }, /step "look": the title is empty/],
    ['a timeout that is no whole number of ms', { steps: [step({ timeoutMs: 0 })] }, /step "look": timeoutMs/],
    ['an unknown kind', { steps: [step({ kind: 'guess' as never })] }, /kind must be one of check, act, verify, gate, notify, wait/],
    ['no steps', { steps: [] }, /at least one step/],
    ['a name with capitals', { name: 'Look' }, /lower-case words/],
    ['a source that is no file URL', { source: 'runbooks/look.ts' }, /source must be the module's file URL \(source: import\.meta\.url\)/],
    ['a source file that is not there', { source: 'file:///nowhere/look.ts' }, /its source \/nowhere\/look\.ts cannot be read/],
    ['a skippable that is no boolean', { steps: [step({ skippable: 'no' as never })] }, /step "look": skippable is true or false/],
  ])('refuses %s, naming the runbook and the step', (_what, overrides, message) => {
    expect(() => runbook(overrides as never)).toThrow(RunbookDefinitionError);
    expect(() => runbook(overrides as never)).toThrow(message);
  });
});

describe('the registry', () => {
  it('keeps every version registered and answers the current one by name', () => {
    const first = runbook();
    const second = runbook({ steps: [step({ title: 'Look again' })] });
    const registry = createRunbookRegistry([first, second]);
    expect(registry.current('look')).toBe(second);
    expect(registry.version('look', first.version)).toBe(first);
    expect(registry.version('look', 'ffffffffffffffff')).toBeUndefined();
    expect(registry.list()).toEqual([second]);
  });

  it('answers an unknown runbook with the names it knows', () => {
    const registry = createRunbookRegistry([runbook()]);
    expect(() => registry.current('backup')).toThrow(new RunbookInputError('unknown-runbook', 'There is no runbook "backup". Runbooks: look.'));
  });
});

describe('a dry-run plan', () => {
  it('shows every step in order with what its dry run really did', async () => {
    const registry = createRunbookRegistry([
      runbook({
        steps: [
          step(),
          step({
            id: 'restart',
            kind: 'act',
            title: 'Restart the service',
            idempotent: false,
            async compensate() {},
            async dryRun(context) {
              return { mode: 'description', text: `would restart ${context.args.service}` };
            },
          }),
          step({
            id: 'broken',
            async dryRun() {
              throw new Error('the stack did not answer');
            },
          }),
        ],
      }),
    ]);
    const plan = await planRun(registry, 'look', { service: 'policy-engine' });
    expect(plan.args).toEqual({ service: 'policy-engine' });
    expect(plan.steps.map((each) => [each.id, each.dryRun.mode, each.dryRun.text, each.canBeUndone])).toEqual([
      ['look', 'read-only-check', 'looked at policy-engine', false],
      ['restart', 'description', 'would restart policy-engine', true],
      ['broken', 'description', 'Look at the service (its dry run failed)', false],
    ]);
    expect(plan.steps[2]!.dryRun.error).toBe('the stack did not answer');
  });

  it('refuses arguments the schema does not accept, saying which', async () => {
    const registry = createRunbookRegistry([runbook()]);
    const refusal = await planRun(registry, 'look', { service: '' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RunbookInputError);
    expect(refusal).toMatchObject({ code: 'bad-arguments' });
    expect((refusal as Error).message).toMatch(/The arguments for "look" are not valid:[\s\S]*service/);
  });
});
