/**
 * Golden Block Kit of a runbook run's message and of its thread details, from fixed runs:
 * compared byte for byte with bot/slack/golden/run-message-*.json (UPDATE_GOLDEN=1 rewrites
 * them) and checked by the stand-in's Block Kit validator.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AttemptRecord, RunRecord } from '../../runbooks/engine/run-store.js';
import { validateBlocks } from './stand-in/index.js';
import { renderRunMessage, renderStepDetail, runActionLine, type RunMessageInput, type RunStepInfo } from './run-message.js';
import type { SlackMessage } from './render.js';
import { runIdArgument } from '../../commands/runbook-access.js';

const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ID = '6b1f0c2a-3d4e-4f5a-8b6c-7d8e9f0a1b2c';
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 6, 14, 0, 0) + seconds * 1000);

const STEPS: RunStepInfo[] = [
  { id: 'check-disk', kind: 'check', title: 'Check the backup disk has room' },
  { id: 'dump', kind: 'act', title: 'Dump every database <of the stack> & Redis' },
  { id: 'verify', kind: 'verify', title: 'Verify the checksums' },
];

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: ID,
    runbook: 'backup',
    version: 'v1',
    args: {},
    requester: 'U0ONCALL',
    origin: 'slack',
    approvedBy: [],
    state: 'running',
    reason: null,
    detail: null,
    decision: null,
    decidedBy: null,
    createdAt: at(0),
    updatedAt: at(5),
    leaseOwner: 'bot-a',
    leaseExpiresAt: at(20),
    fencingToken: '1',
    ...overrides,
  };
}

function attempt(stepIndex: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    runId: ID,
    stepIndex,
    stepId: STEPS[stepIndex]!.id,
    attempt: 1,
    action: 'run',
    startedAt: at(stepIndex * 2),
    finishedAt: at(stepIndex * 2 + 1.25),
    outcome: 'done',
    progress: null,
    output: { ok: true },
    error: null,
    owner: 'bot-a/123/abc',
    fencingToken: '1',
    ...overrides,
  };
}

const failedError = 'step "dump" (Dump every database) failed: pg_dump: error: connection to server at "db" failed: password=hunter2';
const inputs: Record<string, RunMessageInput> = {
  pending: { run: run({ state: 'pending', leaseOwner: null, leaseExpiresAt: null, updatedAt: at(0) }), attempts: [], steps: STEPS },
  running: { run: run(), attempts: [attempt(0), attempt(1, { finishedAt: null, outcome: 'running', output: null })], steps: STEPS },
  // A long step tells how far it got under its line (what it says is redacted and escaped like the rest).
  'running-with-progress': {
    run: run(),
    attempts: [attempt(0), attempt(1, { finishedAt: null, outcome: 'running', output: null, progress: { text: 'sample 12 of 60 <ok> · password=hunter2', data: { sample: 12 }, at: at(4) } })],
    steps: STEPS,
  },
  'needs-decision': {
    run: run({ state: 'needs_decision', reason: failedError, detail: { step: { index: 1, id: 'dump', skippable: true } }, leaseOwner: null, leaseExpiresAt: null }),
    attempts: [attempt(0), attempt(1, { outcome: 'failed', output: null, error: 'pg_dump: error: connection to server at "db" failed' })],
    steps: STEPS,
  },
  // Later steps need the dump: a person may retry or abort, not skip it.
  'needs-decision-not-skippable': {
    run: run({ state: 'needs_decision', reason: failedError, detail: { step: { index: 1, id: 'dump', skippable: false } }, leaseOwner: null, leaseExpiresAt: null }),
    attempts: [attempt(0), attempt(1, { outcome: 'failed', output: null, error: 'pg_dump: error: connection to server at "db" failed' })],
    steps: STEPS,
  },
  succeeded: {
    run: run({ state: 'succeeded', updatedAt: at(75), leaseOwner: null, leaseExpiresAt: null }),
    attempts: [
      attempt(0),
      attempt(1, { outcome: 'failed', error: 'boom' }),
      attempt(1, { attempt: 2, startedAt: at(10), finishedAt: at(70) }),
      attempt(2, { startedAt: at(71), finishedAt: at(71.3) }),
    ],
    steps: STEPS,
  },
  'skipped-then-aborted': {
    run: run({ state: 'aborted', reason: 'aborted; undone: check-disk; nothing to undo: dump', updatedAt: at(9), leaseOwner: null, leaseExpiresAt: null }),
    attempts: [
      attempt(0),
      attempt(1, { outcome: 'skipped', startedAt: at(3), finishedAt: at(3), output: null, error: 'skipped by U0ONCALL', owner: 'decision:U0ONCALL' }),
      attempt(2, { outcome: 'interrupted', output: null, error: 'interrupted' }),
      attempt(0, { attempt: 2, action: 'compensate', outcome: 'compensated', startedAt: at(8), finishedAt: at(8.5) }),
    ],
    steps: STEPS,
    threadLink: 'https://acme.slack.com/archives/C0ACGSOPS01/p1765000000000100',
  },
  'version-gone': { run: run({ state: 'needs_decision', reason: 'version gone: the run started on version v1 of "backup"' }), attempts: [attempt(0)], steps: undefined },
};

const goldens: Array<[string, () => SlackMessage]> = [
  ...Object.entries(inputs).map(([name, input]): [string, () => SlackMessage] => [name, () => renderRunMessage(input)]),
  ['detail-done', () => renderStepDetail(run(), STEPS[0], attempt(0, { output: { free: '120 GiB', needed: '4 GiB', path: '/var/backups/acgs' } }))],
  ['detail-failed', () => renderStepDetail(run(), STEPS[1], attempt(1, { outcome: 'failed', output: null, error: 'pg_dump: connection failed: postgres://acgs:hunter2@db/acgs ```end```' }))],
  ['detail-skipped', () => renderStepDetail(run(), STEPS[1], attempt(1, { attempt: 2, outcome: 'skipped', startedAt: at(3), finishedAt: at(3), output: null, error: 'skipped by U0ONCALL', owner: 'decision:U0ONCALL' }))],
];

const buttons = (message: SlackMessage) =>
  message.blocks.filter((block) => block.type === 'actions').flatMap((block) => (block as { elements: Array<{ action_id: string; value: string; confirm?: unknown }> }).elements);

describe('a run in Block Kit', () => {
  for (const [name, build] of goldens) {
    it(`renders ${name} exactly as bot/slack/golden/run-message-${name}.json records it, inside Slack's limits`, () => {
      const message = build();
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`run-message-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/run-message-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run bot/slack/run-message.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('says a run held at a gate step waits for approvers, in its header and on the step', () => {
    const steps: RunStepInfo[] = [STEPS[0]!, { id: 'approve', kind: 'gate', title: 'An approver lets it go on' }, STEPS[1]!];
    const held = renderRunMessage({ run: run(), attempts: [attempt(0), { ...attempt(1, { finishedAt: null, outcome: 'running', output: null }), stepId: 'approve' }], steps });
    const text = JSON.stringify(held.blocks);
    expect(held.text).toContain('Runbook backup waiting for approvers');
    expect(text).toContain('An approver lets it go on*  waiting for approvers since');
    const acting = renderRunMessage({ run: run(), attempts: [attempt(0), attempt(1, { finishedAt: null, outcome: 'running', output: null })], steps: STEPS });
    expect(acting.text).toContain('Runbook backup running');
  });

  it('says a running run\'s runner is silent only while the run is running, with an escaped owner', () => {
    const said = (input: RunMessageInput) => JSON.stringify(renderRunMessage(input).blocks);
    expect(said({ run: run({ leaseOwner: 'bot-<a>' }), attempts: [], steps: STEPS, runnerSilentForMs: 7000 })).toContain('Runner silent for 7.0 s*: `bot-&lt;a&gt;` has not renewed its lease');
    expect(said({ run: run(), attempts: [], steps: STEPS })).not.toContain('Runner silent');
    expect(said({ run: run({ state: 'aborting' }), attempts: [], steps: STEPS, runnerSilentForMs: 7000 })).not.toContain('Runner silent');
  });

  it('offers Abort (confirmed) while active, Retry / Skip / Abort when a decision is needed (Skip only where allowed), nothing once ended; each carrying only the run id', () => {
    const ids = (input: RunMessageInput) => buttons(renderRunMessage(input)).map((button) => [button.action_id, button.value, Boolean(button.confirm)]);
    expect(ids(inputs.pending!)).toEqual([['acgs_runbook_abort', ID, true]]);
    expect(ids(inputs.running!)).toEqual([['acgs_runbook_abort', ID, true]]);
    expect(ids(inputs['needs-decision']!)).toEqual([
      ['acgs_runbook_retry', ID, false],
      ['acgs_runbook_skip', ID, true],
      ['acgs_runbook_decide_abort', ID, true],
    ]);
    // No Skip where the engine refuses one: a step later steps need, or no step at all (version gone).
    for (const unskippable of ['needs-decision-not-skippable', 'version-gone'] as const) {
      expect(ids(inputs[unskippable]!)).toEqual([
        ['acgs_runbook_retry', ID, false],
        ['acgs_runbook_decide_abort', ID, true],
      ]);
    }
    for (const ended of ['succeeded', 'skipped-then-aborted'] as const) expect(ids(inputs[ended]!)).toEqual([]);
    expect(ids({ ...inputs.running!, run: run({ state: 'aborting' }) })).toEqual([]);
  });

  it('shows what a run that succeeded made (its reason) as its result; without one, no such section', () => {
    const reason = 'backup 20261206T140000Z-a1b2c3 (7 files, 12 KiB); `backup verify 20261206T140000Z-a1b2c3` checks it restores';
    const succeeded = { ...inputs.succeeded!, run: { ...inputs.succeeded!.run, reason } };
    const message = renderRunMessage(succeeded);
    expect(JSON.stringify(message.blocks)).toContain(`*Result*\\n${reason}`);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(renderRunMessage(inputs.succeeded!).blocks)).not.toContain('*Result*');
  });

  it('suggests a typed command with the whole run id, which run abort and run decide accept', () => {
    const typedLine = (input: RunMessageInput) => /or type `\/acgs (run (?:abort|decide) (\S+)[^`]*)`/.exec(JSON.stringify(renderRunMessage(input).blocks));
    for (const name of ['running', 'needs-decision'] as const) {
      const [, line, id] = typedLine(inputs[name]!)!;
      expect(id).toBe(ID);
      expect(runIdArgument.safeParse(id).success, line).toBe(true);
    }
  });

  it('maps each button to the command line a person could type', () => {
    expect(runActionLine('abort', ID)).toBe(`run abort ${ID}`);
    expect(runActionLine('retry', ID)).toBe(`run decide ${ID} retry`);
    expect(runActionLine('skip', ID)).toBe(`run decide ${ID} skip`);
    expect(runActionLine('decide_abort', ID)).toBe(`run decide ${ID} abort`);
  });

  it('never lets a title, a reason or an output become a mention, and redacts credentials', () => {
    const json = JSON.stringify([renderRunMessage(inputs['needs-decision']!), renderStepDetail(run(), STEPS[1], attempt(1, { output: { note: '<!channel> <@U0EVIL>' } }))]);
    expect(json).not.toMatch(/<[!#]|<@U0EVIL>/);
    expect(json).not.toContain('hunter2');
    expect(json).toContain('&lt;of the stack&gt; &amp; Redis');
  });

  it('cuts a huge output, error and many steps with a visible note and stays inside the limits', () => {
    const many: RunStepInfo[] = Array.from({ length: 200 }, (_, index) => ({ id: `s-${index}`, kind: 'act', title: `${'t'.repeat(140)} ${index}` }));
    const message = renderRunMessage({ run: run({ state: 'failed', reason: 'r'.repeat(10_000) }), attempts: [], steps: many });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const detail = renderStepDetail(run(), STEPS[1], attempt(1, { output: { huge: 'x'.repeat(50_000) } }));
    expect(validateBlocks(detail.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(detail.blocks)).toContain('… (truncated)');
  });
});
