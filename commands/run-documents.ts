/**
 * What people read about runbooks and their runs: the list, a dry run's plan, a started run, the
 * runs, one run's steps, and a run changed by an abort or a decision. Plain data in, documents out
 * (commands/result.ts); the engine reaches commands only through the RunbookRuns port.
 */
import { levelWords } from './decision-documents.js';
import { clip, formatAge, formatMs, formatTimestamp } from './format.js';
import { RUN_STATE_WORDS, stoppedStepSkippable, type RunAttemptInfo, type RunbookInfo, type RunbookStepInfo, type RunDetailInfo, type RunInfo, type RunPlanInfo, type SubmittedRunInfo } from './ports.js';
import type { ResultAction, ResultBlock, ResultDocument, Tone } from './result.js';
import { runnerSilentForMs } from './runner-silence.js';

/** States a run can still leave. */
export const ACTIVE_RUN_STATES = ['pending', 'running', 'needs_decision', 'aborting'];


const STATE_TONE: Record<string, Tone> = {
  pending: 'info',
  running: 'info',
  needs_decision: 'warn',
  succeeded: 'ok',
  failed: 'fail',
  aborting: 'warn',
  aborted: 'warn',
};

const stateWords = (state: string) => RUN_STATE_WORDS[state] ?? `is ${state}`;
const stateLabel = (state: string) => state.replace('_', ' ');

const silentFor = (run: RunInfo): number | undefined => runnerSilentForMs(run.lease);

/** The state as a table cell: a run whose runner went silent says so, so nobody waits on a dead runner. */
function stateCell(run: RunInfo): string {
  const silent = silentFor(run);
  return silent === undefined ? stateLabel(run.state) : `${stateLabel(run.state)}, runner silent for ${formatMs(silent)}`;
}

function silentSentence(run: RunInfo): string {
  const silent = silentFor(run);
  return silent === undefined ? '' : ` But its runner ${run.runner} has been silent for ${formatMs(silent)}: it is dead or cut off, and the run goes on once another runner takes it over.`;
}

/** Who holds the run, and how old its lease is: renewed on time, or silent for how long and until when. */
function runnerWords(run: RunInfo): string {
  if (!run.runner) return 'none';
  const { lease } = run;
  if (!lease) return run.runner;
  const silent = silentFor(run);
  if (silent === undefined) return `${run.runner} (lease renewed ${formatMs(lease.ageMs)} ago, every ${formatMs(lease.renewEveryMs)})`;
  const takeover = lease.expiresInMs > 0 ? `another runner takes the run over when its lease ends in ${formatMs(lease.expiresInMs)}` : 'its lease has ended: the next scan of any runner takes the run over';
  return `${run.runner}: runner silent for ${formatMs(silent)} (no lease renewal, expected every ${formatMs(lease.renewEveryMs)}); ${takeover}`;
}

/** The first block of a run id: enough to tell runs apart in a table. */
export const shortRunId = (id: string) => id.slice(0, 8);

function argsWords(args: unknown): string {
  if (!args || typeof args !== 'object' || Object.keys(args).length === 0) return 'none';
  return clip(
    Object.entries(args as Record<string, unknown>)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' '),
    120,
  );
}

function stepsLine(steps: readonly RunbookStepInfo[]): string {
  return steps.map((step) => `${step.index + 1}. ${step.title} (${step.kind})`).join('  ');
}

export function runbooksDocument(runbooks: readonly RunbookInfo[]): ResultDocument {
  if (runbooks.length === 0) {
    return { title: 'Runbooks', tone: 'info', summary: 'No runbooks are registered in this bot.', blocks: [], data: { runbooks: [] } };
  }
  return {
    title: 'Runbooks',
    tone: 'info',
    summary: `${runbooks.length} runbook${runbooks.length === 1 ? '' : 's'}. Start one with \`run <runbook>\`; \`run <runbook> --dry-run\` shows its plan first.`,
    blocks: [
      { type: 'table', columns: ['Runbook', 'Level', 'Steps', 'What it does'], rows: runbooks.map((runbook) => [runbook.name, levelWords(runbook.level), String(runbook.steps.length), runbook.summary]) },
      ...runbooks.map((runbook): ResultBlock => ({ type: 'text', text: `${runbook.name}: ${stepsLine(runbook.steps)}` })),
    ],
    data: { runbooks },
  };
}

const DRY_RUN_WORDS = { 'read-only-check': 'checked (read-only)', description: 'description only' } as const;

export function planDocument(plan: RunPlanInfo): ResultDocument {
  const checks = plan.steps.filter((step) => step.dryRun.mode === 'read-only-check').length;
  const failed = plan.steps.filter((step) => step.dryRun.error).length;
  return {
    title: `Dry run: ${plan.runbook}`,
    tone: failed > 0 ? 'warn' : 'info',
    summary:
      `Nothing ran and nothing was recorded. ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}: ` +
      `${checks} checked for real (read-only), ${plan.steps.length - checks} only described.` +
      (failed > 0 ? ` ${failed} dry run${failed === 1 ? '' : 's'} failed.` : ''),
    blocks: [
      { type: 'fields', fields: [{ label: 'Runbook', value: plan.runbook }, { label: 'Level', value: levelWords(plan.level) }, { label: 'Arguments', value: argsWords(plan.args) }, { label: 'Version', value: plan.version.slice(0, 12) }] },
      {
        type: 'table',
        columns: ['#', 'Step', 'Kind', 'Dry run', 'What it would do'],
        rows: plan.steps.map((step) => [
          String(step.index + 1),
          step.title,
          step.kind,
          step.dryRun.error ? 'description (its check failed)' : DRY_RUN_WORDS[step.dryRun.mode],
          clip(step.dryRun.error ? `${step.dryRun.text}: ${step.dryRun.error}` : step.dryRun.text, 300),
        ]),
      },
    ],
    data: { plan },
  };
}

function runActions(run: RunInfo): ResultAction[] {
  const actions: ResultAction[] = [];
  if (run.state === 'needs_decision') {
    actions.push({ label: 'Retry', command: `run decide ${run.id} retry`, style: 'primary' });
    if (stoppedStepSkippable(run.detail)) actions.push({ label: 'Skip', command: `run decide ${run.id} skip` });
  }
  if (ACTIVE_RUN_STATES.includes(run.state) && run.state !== 'aborting') {
    actions.push({
      label: 'Abort',
      command: `run abort ${run.id}`,
      style: 'danger',
      confirm: { title: 'Abort this run?', text: `Run ${shortRunId(run.id)} (${run.runbook}) stops; the steps it completed are undone where they can be.`, confirm: 'Abort', deny: 'Keep it running' },
    });
  }
  actions.push({ label: 'Status', command: `run status ${run.id}` });
  return actions;
}

/**
 * The answer to `run`. A run the bot shows in the channel has its own message there, kept current
 * with its state and buttons: the answer only points to it, privately, since a second card with
 * the state at the start and an Abort button would go stale beside it. Elsewhere (the CLI, which
 * follows the run itself; a channel without the run's message) it is the whole card.
 */
export function runStartedDocument(run: SubmittedRunInfo, runbook: RunbookInfo): ResultDocument {
  if (run.shownInChannel) {
    return {
      title: `Run started: ${run.runbook}`,
      tone: 'ok',
      summary: `Run ${run.id} is shown in its own message in this channel, kept current until it ends, with each step's detail in its thread.`,
      blocks: [],
      ephemeral: true,
      data: { run, steps: runbook.steps },
    };
  }
  return {
    title: `Run started: ${run.runbook}`,
    tone: 'ok',
    summary: `Run ${run.id} ${stateWords(run.state)}; \`run status ${run.id}\` shows its steps as they go.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Run', value: run.id },
          { label: 'Level', value: levelWords(runbook.level) },
          { label: 'Requested by', value: run.requester },
          { label: 'Arguments', value: argsWords(run.args) },
        ],
      },
      {
        type: 'table',
        columns: ['#', 'Step', 'Kind', 'Safe to re-run', 'Undo on abort'],
        rows: runbook.steps.map((step) => [String(step.index + 1), step.title, step.kind, step.idempotent ? 'yes' : 'no (asks a person)', step.canBeUndone ? 'yes' : 'no']),
      },
    ],
    actions: runActions(run),
    people: [run.requester],
    data: { run, steps: runbook.steps },
  };
}

export function runsDocument(runs: readonly RunInfo[], now = Date.now()): ResultDocument {
  if (runs.length === 0) return { title: 'Runbook runs', tone: 'info', summary: 'No runs yet. `runbooks` lists what can run.', blocks: [], data: { active: [], recent: [] } };
  const active = runs.filter((run) => ACTIVE_RUN_STATES.includes(run.state));
  const recent = runs.filter((run) => !ACTIVE_RUN_STATES.includes(run.state));
  // The whole id: it is what `run status|abort|decide` take, so it is what people copy from here.
  const row = (run: RunInfo) => [run.id, run.runbook, stateCell(run), run.requester, formatAge(run.createdAt, now), clip(run.reason ?? '', 120)];
  const columns = ['Run', 'Runbook', 'State', 'Requested by', 'Started', 'Reason'];
  const blocks: ResultBlock[] = [];
  if (active.length > 0) blocks.push({ type: 'text', text: `Active (${active.length})` }, { type: 'table', columns, rows: active.map(row) });
  if (recent.length > 0) blocks.push({ type: 'text', text: `Recent (${recent.length})` }, { type: 'table', columns, rows: recent.map(row) });
  const waiting = active.filter((run) => run.state === 'needs_decision').length;
  return {
    title: 'Runbook runs',
    tone: waiting > 0 ? 'warn' : 'info',
    summary: `${active.length} active${waiting > 0 ? ` (${waiting} waiting for a decision)` : ''}, ${recent.length} finished. \`run status <id>\` shows one run's steps.`,
    blocks,
    data: { active, recent },
  };
}

const OUTCOME_WORDS: Record<string, string> = {
  running: 'running',
  done: 'done',
  failed: 'failed',
  skipped: 'skipped',
  interrupted: 'interrupted',
  compensated: 'undone',
};

function durationOf(attempt: RunAttemptInfo): string {
  // A skip is a decision, not a run of the step: it took no time to show.
  if (!attempt.finishedAt || attempt.outcome === 'skipped') return '';
  return formatMs(new Date(attempt.finishedAt).getTime() - new Date(attempt.startedAt).getTime());
}

/** A run that succeeded with a step skipped did not do that step: the summary says which, and who skipped it. */
function skippedSentence(steps: readonly { index: number; title: string }[], attempts: readonly RunAttemptInfo[]): string {
  const skipped = steps.flatMap((step) => {
    const last = attempts.filter((attempt) => attempt.stepIndex === step.index && attempt.action === 'run').at(-1);
    return last?.outcome === 'skipped' ? [`step ${step.index + 1} (${step.title}) ${last.error ?? 'skipped'}`] : [];
  });
  return skipped.length > 0 ? ` Not done: ${skipped.join(', ')}.` : '';
}

/** One row per step: its latest state, how many attempts, the last duration and error. */
function stepRows(steps: readonly { index: number; id: string; title: string; kind: string }[], attempts: readonly RunAttemptInfo[]): string[][] {
  return steps.map((step) => {
    const runs = attempts.filter((attempt) => attempt.stepIndex === step.index && attempt.action === 'run');
    const undo = attempts.filter((attempt) => attempt.stepIndex === step.index && attempt.action === 'compensate').at(-1);
    const last = runs.at(-1);
    let state = last ? (OUTCOME_WORDS[last.outcome] ?? last.outcome) : 'pending';
    if (undo) state = `${state}, ${undo.outcome === 'compensated' ? 'undone' : `undo ${OUTCOME_WORDS[undo.outcome] ?? undo.outcome}`}`;
    const error = undo?.error ?? last?.error ?? '';
    return [String(step.index + 1), step.title, step.kind, state, String(runs.filter((attempt) => attempt.outcome !== 'skipped').length), last ? durationOf(last) : '', clip(error, 200)];
  });
}

/**
 * The last progress of each step not done: how far a running step got, or one that stopped (a
 * crash, a failure) got before it did. The latest attempt that reported says it.
 */
function progressLines(steps: readonly { index: number; title: string }[], attempts: readonly RunAttemptInfo[]): ResultBlock[] {
  return steps.flatMap((step): ResultBlock[] => {
    const runs = attempts.filter((attempt) => attempt.stepIndex === step.index && attempt.action === 'run');
    if (runs.some((attempt) => attempt.outcome === 'done' || attempt.outcome === 'skipped')) return [];
    const reported = runs.filter((attempt) => attempt.progress).at(-1);
    if (!reported?.progress) return [];
    const { text, at } = reported.progress;
    return [{ type: 'text', text: `Step ${step.index + 1} (${step.title}), attempt ${reported.attempt}, last progress at ${formatTimestamp(at)}: ${clip(text, 300)}` }];
  });
}

export function runStatusDocument(detail: RunDetailInfo): ResultDocument {
  const { run, attempts } = detail;
  // Without the run's version in this process, the steps are what its attempts name.
  const steps =
    detail.steps ??
    [...new Map(attempts.map((attempt) => [attempt.stepIndex, { index: attempt.stepIndex, id: attempt.stepId, title: attempt.stepId, kind: '?' }])).values()].sort((a, b) => a.index - b.index);
  const blocks: ResultBlock[] = [
    {
      type: 'fields',
      fields: [
        { label: 'Run', value: run.id },
        { label: 'State', value: stateLabel(run.state) },
        { label: 'Requested by', value: `${run.requester} (${run.origin})` },
        { label: 'Started', value: formatTimestamp(run.createdAt) },
        { label: 'Arguments', value: argsWords(run.args) },
        { label: 'Runner', value: runnerWords(run) },
      ],
    },
    { type: 'table', columns: ['#', 'Step', 'Kind', 'State', 'Attempts', 'Duration', 'Error'], rows: stepRows(steps, attempts) },
    ...progressLines(steps, attempts),
  ];
  if (!detail.steps) blocks.push({ type: 'text', text: `Version ${run.version.slice(0, 12)} of "${run.runbook}" is not in this process: the steps shown are those that ran.` });
  return {
    title: `Run ${shortRunId(run.id)}: ${run.runbook}`,
    tone: STATE_TONE[run.state] ?? 'info',
    // The runbook's name as typed, even first in the sentence: `Database-connections` names nothing.
    summary: `${run.runbook} ${stateWords(run.state)}${run.reason ? `: ${clip(run.reason, 300)}` : '.'}${skippedSentence(steps, attempts)}${silentSentence(run)}`,
    blocks,
    actions: runActions(run),
    people: [run.requester],
    data: detail,
  };
}

/** After `run abort` or `run decide`: what changed, and what happens next. */
export function runChangedDocument(run: RunInfo, what: 'abort' | 'retry' | 'skip'): ResultDocument {
  const next: Record<typeof what, string> = {
    abort: 'The step at hand is stopped, then the completed steps are undone in reverse order where they can be.',
    retry: 'A runner runs the stopped step again.',
    skip: 'The stopped step is recorded as skipped; a runner goes on with the next one.',
  };
  const title: Record<typeof what, string> = { abort: 'Abort requested', retry: 'Retry decided', skip: 'Skip decided' };
  return {
    title: `${title[what]}: ${run.runbook}`,
    tone: what === 'abort' ? 'warn' : 'ok',
    summary: `Run ${run.id} ${stateWords(run.state)}. ${next[what]}`,
    blocks: [{ type: 'fields', fields: [{ label: 'Run', value: run.id }, { label: 'Decided by', value: run.decidedBy ?? 'unknown' }] }],
    actions: [{ label: 'Status', command: `run status ${run.id}` }],
    ...(run.decidedBy ? { people: [run.decidedBy] } : {}),
    data: { run },
  };
}
