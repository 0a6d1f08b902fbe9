import { describe, expect, it } from 'vitest';
import { renderText } from '../bot/cli-render.js';
import { renderDocument } from '../bot/slack/render.js';
import { validateBlocks } from '../bot/slack/stand-in/block-kit.js';
import type { RunbookInfo, RunDetailInfo, RunInfo, RunPlanInfo } from './ports.js';
import type { ResultDocument } from './result.js';
import { runArguments } from './run.js';
import { planDocument, runbooksDocument, runChangedDocument, runsDocument, runStartedDocument, runStatusDocument } from './run-documents.js';

const RUN_ID = '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed';
const now = Date.parse('2026-12-06T12:00:00.000Z');

const runbook: RunbookInfo = {
  name: 'health-check',
  summary: "Check every service's health",
  level: 0,
  version: 'abcdef0123456789',
  steps: [
    { index: 0, id: 'probe-services', kind: 'check', title: "Ask each service's /health", idempotent: true, skippable: true, canBeUndone: false },
    { index: 1, id: 'verify-healthy', kind: 'verify', title: 'Verify that every service says healthy', idempotent: true, skippable: true, canBeUndone: false },
  ],
};

function runOf(state: string, overrides: Partial<RunInfo> = {}): RunInfo {
  return {
    id: RUN_ID,
    runbook: 'health-check',
    version: runbook.version,
    args: { service: 'policy-engine' },
    requester: 'U0ONCALL',
    origin: 'slash',
    state,
    reason: null,
    detail: null,
    decision: null,
    decidedBy: null,
    createdAt: '2026-12-06T11:58:00.000Z',
    updatedAt: '2026-12-06T11:59:00.000Z',
    runner: null,
    ...overrides,
  };
}

function slackValid(document: ResultDocument): void {
  expect(validateBlocks(renderDocument(document).blocks, 'message')).toEqual([]);
}

describe('the arguments of /acgs run', () => {
  it('reads the runbook, key=value arguments and --dry-run anywhere on the line', () => {
    expect(runArguments.parse({ line: 'Health-Check service=policy-engine --dry-run' })).toEqual({ runbook: 'health-check', args: { service: 'policy-engine' }, dryRun: true });
    expect(runArguments.parse({ line: 'health-check' })).toEqual({ runbook: 'health-check', args: {}, dryRun: false });
    expect(runArguments.parse({ line: '--dry-run health-check "note=two words"' })).toEqual({ runbook: 'health-check', args: { note: 'two words' }, dryRun: true });
  });

  it.each([
    ['', /name the runbook to run/],
    ['--dry-run', /name the runbook to run/],
    ['health-check --force', /`--force` is not an option of `run`; it takes `--dry-run`/],
    ['health-check policy-engine', /`policy-engine` is not an argument; a runbook's arguments are key=value/],
    ['health-check a=1 a=2', /`a` is given twice/],
  ])('refuses %j with a message that says what to type', (line, message) => {
    const result = runArguments.safeParse({ line });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(message);
  });
});

describe('the run documents', () => {
  it('list the runbooks with their level, steps and what each does', () => {
    const document = runbooksDocument([runbook]);
    expect(document.blocks[0]).toEqual({ type: 'table', columns: ['Runbook', 'Level', 'Steps', 'What it does'], rows: [['health-check', 'read-only', '2', "Check every service's health"]] });
    expect(document.blocks[1]).toEqual({ type: 'text', text: "health-check: 1. Ask each service's /health (check)  2. Verify that every service says healthy (verify)" });
    expect(runbooksDocument([]).summary).toBe('No runbooks are registered in this bot.');
    slackValid(document);
  });

  it('show a plan with each dry run as a real check or only a description, and a failed dry run as such', () => {
    const plan: RunPlanInfo = {
      runbook: 'health-check',
      version: runbook.version,
      level: 0,
      args: {},
      steps: [
        { ...runbook.steps[0]!, dryRun: { mode: 'read-only-check', text: 'Would ask policy-engine; now: policy-engine healthy' } },
        { ...runbook.steps[1]!, dryRun: { mode: 'description', text: 'Would ask again' } },
      ],
    };
    const document = planDocument(plan);
    expect(document.tone).toBe('info');
    expect(document.summary).toBe('Nothing ran and nothing was recorded. 2 steps: 1 checked for real (read-only), 1 only described.');
    expect(document.blocks[1]).toMatchObject({
      rows: [
        ['1', "Ask each service's /health", 'check', 'checked (read-only)', 'Would ask policy-engine; now: policy-engine healthy'],
        ['2', 'Verify that every service says healthy', 'verify', 'description only', 'Would ask again'],
      ],
    });
    const failed = planDocument({ ...plan, steps: [{ ...plan.steps[0]!, dryRun: { mode: 'description', text: 'Ask (its dry run failed)', error: 'timed out' } }] });
    expect(failed.tone).toBe('warn');
    expect(failed.summary).toContain('1 dry run failed.');
    expect(failed.blocks[1]).toMatchObject({ rows: [['1', "Ask each service's /health", 'check', 'description (its check failed)', 'Ask (its dry run failed): timed out']] });
    slackValid(document);
  });

  it('answer a started run with its id, its steps and buttons to follow or abort it', () => {
    const document = runStartedDocument(runOf('pending'), runbook);
    expect(document.summary).toBe(`Run ${RUN_ID} is waiting to start; \`run status ${RUN_ID}\` shows its steps as they go.`);
    expect(document.actions?.map((action) => action.command)).toEqual([`run abort ${RUN_ID}`, `run status ${RUN_ID}`]);
    expect(document.actions?.[0]?.confirm).toBeDefined();
    slackValid(document);
  });

  it('answer a run shown in the channel privately, pointing to its message, with no buttons and no frozen state', () => {
    const document = runStartedDocument({ ...runOf('pending'), shownInChannel: true }, runbook);
    expect(document.title).toBe('Run started: health-check');
    expect(document.summary).toBe(`Run ${RUN_ID} is shown in its own message in this channel, kept current until it ends, with each step's detail in its thread.`);
    expect(document.ephemeral).toBe(true);
    expect(document.actions ?? []).toEqual([]);
    expect(JSON.stringify(document)).not.toContain('waiting to start');
    slackValid(document);
  });

  it('name the requester as a person in the answers Slack renders', () => {
    expect(runStartedDocument(runOf('pending'), runbook).people).toEqual(['U0ONCALL']);
    expect(runChangedDocument(runOf('aborting', { decidedBy: 'U0APPROVER1' }), 'abort').people).toEqual(['U0APPROVER1']);
  });

  it('list active runs before finished ones', () => {
    const document = runsDocument([runOf('needs_decision', { id: '00000000-0000-4000-8000-000000000001', reason: 'step failed' }), runOf('succeeded')], now);
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('1 active (1 waiting for a decision), 1 finished. `run status <id>` shows one run\'s steps.');
    expect(document.blocks.map((block) => (block.type === 'text' ? block.text : block.type))).toEqual(['Active (1)', 'table', 'Recent (1)', 'table']);
    expect(document.blocks[1]).toMatchObject({ rows: [['00000000-0000-4000-8000-000000000001', 'health-check', 'needs decision', 'U0ONCALL', '2 min 0 s ago', 'step failed']] });
    expect(runsDocument([]).summary).toBe('No runs yet. `runbooks` lists what can run.');
    slackValid(document);
  });

  it("show a run's steps with state, attempts, durations and errors, and the decision buttons when it waits", () => {
    const detail: RunDetailInfo = {
      run: runOf('needs_decision', { reason: 'step "verify-healthy" failed: not healthy: audit-engine degraded', detail: { step: { index: 1, id: 'verify-healthy', skippable: true } } }),
      steps: runbook.steps,
      attempts: [
        { stepIndex: 0, stepId: 'probe-services', attempt: 1, action: 'run', outcome: 'done', startedAt: '2026-12-06T11:58:00.000Z', finishedAt: '2026-12-06T11:58:00.250Z', error: null },
        { stepIndex: 1, stepId: 'verify-healthy', attempt: 1, action: 'run', outcome: 'failed', startedAt: '2026-12-06T11:58:01.000Z', finishedAt: '2026-12-06T11:58:01.040Z', error: 'not healthy: audit-engine degraded' },
        { stepIndex: 1, stepId: 'verify-healthy', attempt: 2, action: 'run', outcome: 'failed', startedAt: '2026-12-06T11:58:02.000Z', finishedAt: '2026-12-06T11:58:02.030Z', error: 'not healthy: audit-engine degraded' },
      ],
    };
    const document = runStatusDocument(detail);
    expect(document.tone).toBe('warn');
    expect(document.summary).toBe('health-check is waiting for a decision: step "verify-healthy" failed: not healthy: audit-engine degraded');
    expect(document.blocks[1]).toMatchObject({
      rows: [
        ['1', "Ask each service's /health", 'check', 'done', '1', '250 ms', ''],
        ['2', 'Verify that every service says healthy', 'verify', 'failed', '2', '30 ms', 'not healthy: audit-engine degraded'],
      ],
    });
    expect(document.actions?.map((action) => action.label)).toEqual(['Retry', 'Skip', 'Abort', 'Status']);
    slackValid(document);
    // A step later steps need offers no Skip; nor does a run stopped before any step.
    const needed = runStatusDocument({ ...detail, run: { ...detail.run, detail: { step: { index: 1, id: 'verify-healthy', skippable: false } } } });
    expect(needed.actions?.map((action) => action.label)).toEqual(['Retry', 'Abort', 'Status']);
    expect(runStatusDocument({ ...detail, run: { ...detail.run, detail: { versionGone: 'abc' } } }).actions?.map((action) => action.label)).toEqual(['Retry', 'Abort', 'Status']);
    expect(renderText(document)).toContain('not healthy: audit-engine degraded');

    const finished = runStatusDocument({ run: runOf('succeeded'), steps: runbook.steps, attempts: [] });
    expect(finished.actions?.map((action) => action.label)).toEqual(['Status']);
    expect(finished.blocks[1]).toMatchObject({ rows: [['1', "Ask each service's /health", 'check', 'pending', '0', '', ''], ['2', 'Verify that every service says healthy', 'verify', 'pending', '0', '', '']] });
  });

  it('show a step skipped after a failure as skipped, by whom, never as done, in the table and the summary', () => {
    const document = runStatusDocument({
      run: runOf('succeeded'),
      steps: runbook.steps,
      attempts: [
        { stepIndex: 0, stepId: 'probe-services', attempt: 1, action: 'run', outcome: 'done', startedAt: '2026-12-06T11:58:00.000Z', finishedAt: '2026-12-06T11:58:00.250Z', error: null },
        { stepIndex: 1, stepId: 'verify-healthy', attempt: 1, action: 'run', outcome: 'failed', startedAt: '2026-12-06T11:58:01.000Z', finishedAt: '2026-12-06T11:58:01.040Z', error: 'not healthy: audit-engine degraded' },
        { stepIndex: 1, stepId: 'verify-healthy', attempt: 2, action: 'run', outcome: 'skipped', startedAt: '2026-12-06T11:59:00.000Z', finishedAt: '2026-12-06T11:59:00.000Z', error: 'skipped by U0ONCALL' },
      ],
    });
    expect(document.summary).toBe('health-check has succeeded. Not done: step 2 (Verify that every service says healthy) skipped by U0ONCALL.');
    expect(document.blocks[1]).toMatchObject({
      rows: [
        ['1', "Ask each service's /health", 'check', 'done', '1', '250 ms', ''],
        ['2', 'Verify that every service says healthy', 'verify', 'skipped', '1', '', 'skipped by U0ONCALL'],
      ],
    });
    slackValid(document);
  });

  it('say when the run\'s version is gone and show the steps that ran', () => {
    const document = runStatusDocument({
      run: runOf('needs_decision'),
      attempts: [{ stepIndex: 0, stepId: 'probe-services', attempt: 1, action: 'run', outcome: 'done', startedAt: '2026-12-06T11:58:00.000Z', finishedAt: '2026-12-06T11:58:00.100Z', error: null }],
    });
    expect(document.blocks[1]).toMatchObject({ rows: [['1', 'probe-services', '?', 'done', '1', '100 ms', '']] });
    expect(document.blocks[2]).toEqual({ type: 'text', text: 'Version abcdef012345 of "health-check" is not in this process: the steps shown are those that ran.' });
  });

  it('confirm an abort or a decision and what happens next', () => {
    const aborted = runChangedDocument(runOf('aborting', { decidedBy: 'U0ONCALL' }), 'abort');
    expect(aborted.summary).toBe(`Run ${RUN_ID} is being aborted. The step at hand is stopped, then the completed steps are undone in reverse order where they can be.`);
    const retried = runChangedDocument(runOf('pending', { decidedBy: 'U0ONCALL' }), 'retry');
    expect(retried).toMatchObject({ title: 'Retry decided: health-check', tone: 'ok' });
    slackValid(aborted);
  });
});
