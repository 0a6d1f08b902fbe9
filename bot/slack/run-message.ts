/**
 * A runbook run as one Slack message, edited in place, plus one thread reply per finished step.
 *
 * The message: a header with the runbook and the run's state in words behind an emoji that reads
 * at a glance, who started it, one line per step (state, duration, attempts; under a running step
 * what it last reported, which the engine records at most every couple of seconds, so the message
 * is not edited more often for it), why it stopped, and
 * the buttons a person can use now: Abort (confirmed) while the run is active; Retry / Skip / Abort
 * while it waits for a decision (no Skip when the stopped step is one later steps need, or there is
 * no step to skip); none once it ended. The buttons carry only the run's id; a click
 * runs `run abort <id>` / `run decide <id> <decision>` as the clicker (run-actions.ts).
 *
 * Rendered only from what the RunStore holds, never from `now`, so every replica renders the same
 * message for the same rows and an unchanged run is never edited again. The one exception is a
 * silent runner (its lease not renewed), which the publisher measures and hands in, in whole
 * seconds, so that a silent run is edited at most once a second until another runner takes it over.
 */
import type { types as slackTypes } from '@slack/bolt';
import { formatDuration, formatMs } from '../../commands/format.js';
import { stoppedStepSkippable } from '../../commands/ports.js';
import type { StepKind } from '../../runbooks/engine/definition.js';
import type { AttemptRecord, RunRecord, RunState } from '../../runbooks/engine/run-store.js';
import { redactText } from '../audit-trail/redaction.js';
import { confirmDialog, sentenceMrkdwn } from './approval-message.js';
import { escapeText, fitText, packLines, TRUNCATED_NOTE } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;
type Button = slackTypes.Button;

/**
 * `acgs_runbook_abort`, `_retry`, `_skip`, `_decide_abort`; the value is the run's id. Not
 * `acgs_run_`: that prefix belongs to the command buttons of rendered answers (render.ts).
 */
export const RUNBOOK_ACTION_PREFIX = 'acgs_runbook_';
export const RUNBOOK_ACTION_PATTERN = /^acgs_runbook_(abort|retry|skip|decide_abort)$/;
export type RunbookAction = 'abort' | 'retry' | 'skip' | 'decide_abort';

/** What the message needs to know of a runbook's step (from the version the run started on). */
export interface RunStepInfo {
  id: string;
  title: string;
  kind: StepKind;
}

export interface RunMessageInput {
  run: RunRecord;
  attempts: readonly AttemptRecord[];
  /** The steps of the run's version; undefined when this process does not have it (steps seen in attempts are shown). */
  steps: readonly RunStepInfo[] | undefined;
  /** A link to the message's thread (its permalink), when the publisher knows how to make one. */
  threadLink?: string;
  /** How long the running run's runner has not renewed its lease, once that counts as silent (commands/runner-silence.ts). */
  runnerSilentForMs?: number;
}

const RUN_STATE_LOOK: Readonly<Record<RunState, { emoji: string; words: string }>> = {
  pending: { emoji: ':hourglass_flowing_sand:', words: 'waiting to start' },
  running: { emoji: ':arrow_forward:', words: 'running' },
  needs_decision: { emoji: ':raised_hand:', words: 'needs a decision' },
  succeeded: { emoji: ':white_check_mark:', words: 'succeeded' },
  failed: { emoji: ':x:', words: 'failed' },
  aborting: { emoji: ':octagonal_sign:', words: 'aborting' },
  aborted: { emoji: ':no_entry_sign:', words: 'aborted' },
};

const GATE_LOOK = { emoji: ':lock:', words: 'waiting for approvers' };

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'interrupted';

const STEP_EMOJI: Readonly<Record<StepState, string>> = {
  pending: ':white_circle:',
  running: ':arrow_forward:',
  done: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  interrupted: ':warning:',
};

const ACTIVE: readonly RunState[] = ['pending', 'running', 'aborting'];
const FINAL: readonly RunState[] = ['succeeded', 'failed', 'aborted'];

/** Step lines, the reason and thread details are cut to these so one huge value cannot crowd out the rest. */
const TITLE_SHOWN = 150;
const REASON_SHOWN = 1500;
const DETAIL_SHOWN = 2800;
const MAX_STEP_SECTIONS = 40;

const shortId = (id: string) => id.slice(0, 8);
const utcTime = (date: Date) => `${date.toISOString().slice(11, 19)} UTC`;

/** A duration as people read it: "340 ms", "12.3 s", "2 min 5 s". */
export function formatSpan(ms: number): string {
  return ms < 60_000 ? formatMs(Math.max(0, ms)) : formatDuration(ms / 1000);
}

export interface StepView {
  index: number;
  id: string;
  title: string;
  kind: StepKind;
  state: StepState;
  /** `run` attempts only (a compensation is not an attempt at the step). */
  attempts: number;
  latest?: AttemptRecord;
  /** The latest compensation of the step, when the run was aborted after it completed. */
  compensation?: AttemptRecord;
}

/** Each step's state from its attempts: the latest `run` attempt decides. */
export function stepViews(input: Pick<RunMessageInput, 'attempts' | 'steps'>): StepView[] {
  const known: RunStepInfo[] = [...(input.steps ?? [])];
  if (!input.steps) {
    // The version is gone here: show the steps its attempts name, in their order.
    for (const attempt of [...input.attempts].sort((a, b) => a.stepIndex - b.stepIndex)) {
      if (!known[attempt.stepIndex]) known[attempt.stepIndex] = { id: attempt.stepId, title: attempt.stepId, kind: 'act' };
    }
  }
  return known.flatMap((step, index) => {
    if (!step) return [];
    const mine = input.attempts.filter((attempt) => attempt.stepIndex === index);
    const runs = mine.filter((attempt) => attempt.action === 'run');
    const latest = runs.reduce<AttemptRecord | undefined>((last, attempt) => (!last || attempt.attempt > last.attempt ? attempt : last), undefined);
    const compensation = mine.filter((attempt) => attempt.action === 'compensate').reduce<AttemptRecord | undefined>((last, attempt) => (!last || attempt.attempt > last.attempt ? attempt : last), undefined);
    const state: StepState = !latest ? 'pending' : latest.outcome === 'compensated' ? 'done' : latest.outcome;
    return [{ index, id: step.id, title: step.title, kind: step.kind, state, attempts: runs.filter((attempt) => attempt.outcome !== 'skipped').length, ...(latest ? { latest } : {}), ...(compensation ? { compensation } : {}) }];
  });
}

/**
 * What a step reported last, under its line: while it runs (a watch counting down), and when it
 * stopped without finishing (interrupted, failed), so people see how far it got.
 */
function progressLine(step: StepView): string | undefined {
  const progress = step.latest?.progress;
  if (!progress || !['running', 'interrupted', 'failed'].includes(step.state)) return undefined;
  return `      ↳ ${fitText(redactText(progress.text), TITLE_SHOWN * 2)} _(${utcTime(progress.at)})_`;
}

function stepLine(step: StepView): string {
  const title = `*${step.index + 1}. ${fitText(step.title, TITLE_SHOWN)}*`;
  const latest = step.latest;
  let how = '';
  if (latest) {
    const took = latest.finishedAt ? formatSpan(latest.finishedAt.getTime() - latest.startedAt.getTime()) : undefined;
    switch (step.state) {
      case 'running':
        how = step.kind === 'gate' ? `waiting for approvers since ${utcTime(latest.startedAt)}` : `running since ${utcTime(latest.startedAt)}`;
        break;
      case 'done':
        how = `done in ${took}`;
        break;
      case 'failed':
        how = `failed after ${took}`;
        break;
      case 'interrupted':
        how = 'interrupted (its runner stopped)';
        break;
      case 'skipped':
        how = latest.error ? escapeText(latest.error) : 'skipped';
        break;
      default:
        break;
    }
  } else how = 'pending';
  const attempts = step.attempts > 1 ? ` · ${step.attempts} attempts` : '';
  const undo = !step.compensation
    ? ''
    : step.compensation.outcome === 'compensated'
      ? ' · :leftwards_arrow_with_hook: undone'
      : step.compensation.outcome === 'running'
        ? ' · undoing'
        : ' · :warning: undo failed';
  const progress = progressLine(step);
  return `${STEP_EMOJI[step.state]} ${title}  ${how}${attempts}${undo}${progress ? `\n${progress}` : ''}`;
}

function runTook(input: RunMessageInput): string | undefined {
  if (!FINAL.includes(input.run.state)) return undefined;
  return formatSpan(input.run.updatedAt.getTime() - input.run.createdAt.getTime());
}

export function renderRunMessage(input: RunMessageInput): SlackMessage {
  const { run } = input;
  const steps = stepViews(input);
  // A run held at a gate is not doing anything: it waits for people, and the header says so.
  const atGate = run.state === 'running' && steps.some((step) => step.state === 'running' && step.kind === 'gate');
  const look = atGate ? GATE_LOOK : RUN_STATE_LOOK[run.state];
  // A skipped step did not run: it is counted apart, never as done.
  const doneCount = steps.filter((step) => step.state === 'done').length;
  const skippedCount = steps.filter((step) => step.state === 'skipped').length;
  const skippedWords = skippedCount > 0 ? `, ${skippedCount} skipped` : '';
  const took = runTook(input);

  const about = [
    `Started by ${sentenceMrkdwn([{ user: run.requester }])} at ${utcTime(run.createdAt)}`,
    `${doneCount} of ${steps.length} steps done${skippedWords}`,
    ...(took ? [`took ${took}`] : []),
  ].join(' · ');
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(`${look.emoji} Runbook ${run.runbook}: ${look.words}`, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: about } },
  ];

  const silence = silentRunnerLine(input);
  if (silence) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: silence } });

  const lines = steps.length > 0 ? steps.map(stepLine) : ['_No steps known: this process does not have the version the run started on._'];
  const chunks = packLines(lines, SLACK_LIMITS.sectionText);
  for (const chunk of chunks.slice(0, MAX_STEP_SECTIONS)) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  if (chunks.length > MAX_STEP_SECTIONS) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: TRUNCATED_NOTE }] });

  if (run.reason && run.state !== 'running') {
    const label = run.state === 'succeeded' ? 'Result' : run.state === 'needs_decision' ? 'Why it stopped' : run.state === 'pending' ? 'Last' : 'What happened';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${label}*\n${fitText(redactText(run.reason), REASON_SHOWN)}` } });
  }

  const buttons = runButtons(run);
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `${RUNBOOK_ACTION_PREFIX}${run.id}`, elements: buttons });

  const thread = input.threadLink ? `<${input.threadLink}|each step's detail in the thread>` : "each step's detail in this message's thread";
  // The whole id: `run abort` and `run decide` refuse its first 8 digits, and this line is what people copy.
  const typed = ACTIVE.includes(run.state)
    ? ` · or type \`/acgs run abort ${run.id}\``
    : run.state === 'needs_decision'
      ? ` · or type \`/acgs run decide ${run.id} ${stoppedStepSkippable(run.detail) ? 'retry|skip|abort' : 'retry|abort'}\``
      : '';
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Run \`${escapeText(run.id)}\` · ${thread}${typed}` }] });

  return { text: fitText(`Runbook ${run.runbook} ${look.words} (${doneCount}/${steps.length} steps${skippedWords})`, SLACK_LIMITS.fallbackText), blocks };
}

/** Said as `runs` and `run status` say it, so that nobody watches a run whose runner is dead. */
function silentRunnerLine(input: RunMessageInput): string | undefined {
  const { run, runnerSilentForMs: silent } = input;
  if (run.state !== 'running' || silent === undefined || !run.leaseOwner) return undefined;
  return `:warning: *Runner silent for ${formatSpan(silent)}*: \`${escapeText(run.leaseOwner)}\` has not renewed its lease; it is dead or cut off, and the run goes on once another runner takes it over.`;
}

function runButtons(run: RunRecord): Button[] {
  const what = `run ${shortId(run.id)} of ${run.runbook}`;
  const abort = (actionId: RunbookAction): Button => ({
    type: 'button',
    action_id: `${RUNBOOK_ACTION_PREFIX}${actionId}`,
    style: 'danger',
    text: { type: 'plain_text', text: 'Abort' },
    value: run.id,
    confirm: confirmDialog('Abort this run?', `Abort ${what}. The steps already done are undone in reverse order where they can be; the message says what could not be.`, 'Abort', true),
  });
  if (run.state === 'needs_decision') {
    // No Skip where the engine would refuse it: no step to skip, or one later steps need.
    const skip: Button[] = stoppedStepSkippable(run.detail)
      ? [
          {
            type: 'button',
            action_id: `${RUNBOOK_ACTION_PREFIX}skip`,
            text: { type: 'plain_text', text: 'Skip' },
            value: run.id,
            confirm: confirmDialog('Skip this step?', `Record the stopped step of ${what} as skipped and go on with the next one.`, 'Skip'),
          },
        ]
      : [];
    return [{ type: 'button', action_id: `${RUNBOOK_ACTION_PREFIX}retry`, style: 'primary', text: { type: 'plain_text', text: 'Retry' }, value: run.id }, ...skip, abort('decide_abort')];
  }
  return ACTIVE.includes(run.state) && run.state !== 'aborting' ? [abort('abort')] : [];
}

/** The command line a click on one of the run's buttons stands for. */
export function runActionLine(action: RunbookAction, runId: string): string {
  switch (action) {
    case 'abort':
      return `run abort ${runId}`;
    case 'decide_abort':
      return `run decide ${runId} abort`;
    default:
      return `run decide ${runId} ${action}`;
  }
}

/** A finished attempt's detail as a reply in the run's thread: what the step returned, or its error. */
export function renderStepDetail(run: RunRecord, step: RunStepInfo | undefined, attempt: AttemptRecord): SlackMessage {
  const title = step?.title ?? attempt.stepId;
  const doing = attempt.action === 'compensate' ? 'Undoing' : 'Step';
  const took = attempt.finishedAt ? formatSpan(attempt.finishedAt.getTime() - attempt.startedAt.getTime()) : undefined;
  const outcomeWords: Record<AttemptRecord['outcome'], string> = {
    running: 'running',
    done: 'done',
    compensated: 'undone',
    failed: attempt.action === 'compensate' ? 'could not be undone' : 'failed',
    // A skip's record says who skipped it (`skipped by U0...`).
    skipped: attempt.error ? escapeText(redactText(attempt.error)) : 'skipped',
    interrupted: 'interrupted',
  };
  const skipped = attempt.outcome === 'skipped';
  const state: StepState = attempt.outcome === 'compensated' ? 'done' : attempt.outcome;
  const head = `${STEP_EMOJI[state]} *${doing} ${attempt.stepIndex + 1}. ${fitText(title, TITLE_SHOWN)}*  ${outcomeWords[attempt.outcome]}${took && !skipped ? ` in ${took} · attempt ${attempt.attempt}` : ''}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: head } }];
  const body = skipped ? undefined : (attempt.error ?? (attempt.output === null || attempt.output === undefined ? undefined : JSON.stringify(attempt.output, null, 2)));
  if (body !== undefined) {
    // A backtick run would close the code block early.
    const shown = fitText(redactText(body).replace(/```/g, 'ˋˋˋ'), DETAIL_SHOWN);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${attempt.error ? '*Error*' : '*Returned*'}\n\`\`\`${shown}\`\`\`` } });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Run \`${escapeText(run.id)}\` · ${escapeText(run.runbook)} · by ${escapeText(attempt.owner)}` }] });
  return { text: fitText(`${doing} ${attempt.stepIndex + 1} (${title}) ${skipped ? (attempt.error ?? 'skipped') : outcomeWords[attempt.outcome]}`, SLACK_LIMITS.fallbackText), blocks };
}
