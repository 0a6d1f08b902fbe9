/**
 * `npx acgs run <runbook>` (and `backup`, `backup verify <id>`) follows the run it started, and
 * `npx acgs run decide <id> ...` the run it decided on (from the decision on): it
 * asks the RunbookRuns port for the run every `pollMs` (there is no change feed: the run store is
 * plain rows) and tells each step as it starts, each progress it reports while it runs (the
 * engine records at most one every couple of seconds), and as it ends, with its duration, outcome
 * and detail (the error, or what the step returned). It stops when the run ended or waits for a
 * decision, when the caller's signal fires (Ctrl-C stops following; the run goes on), or when no
 * runner has claimed the run for `unclaimedMs` (no bot runs against this database): it never
 * hangs on a run nobody will run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { clip, formatMs } from '../commands/format.js';
import type { RunAttemptInfo, RunbookRuns, RunDetailInfo } from '../commands/ports.js';
import type { Tone } from '../commands/result.js';
import { redactText, redactValue } from './audit-trail/redaction.js';

/** States a followed run stops being followed in: it ended, or it waits for a person. */
export const FOLLOW_END_STATES = ['succeeded', 'failed', 'aborted', 'needs_decision'];

export const DEFAULT_FOLLOW_POLL_MS = 500;
/** A bot's runner scans every 5 s by default: six scans without a claim means none is running. */
export const DEFAULT_UNCLAIMED_MS = 30_000;

/** One line of a followed run, and the detail under it. */
export interface FollowLine {
  text: string;
  tone: Tone;
  detail?: string;
}

export interface FollowOptions {
  runs: Pick<RunbookRuns, 'get'>;
  runId: string;
  report(line: FollowLine): void;
  pollMs?: number;
  unclaimedMs?: number;
  signal?: AbortSignal;
  /**
   * The run store's time (ISO) following begins at, for a run that has a past (a decision): the
   * attempts that ended before it were told by whoever followed it then, and are not told again.
   */
  since?: string;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  now?: () => number;
}

export interface FollowEnd {
  /** `ended`: the run is in a FOLLOW_END_STATES state; `stopped`: the signal; `unclaimed`: no runner took it. */
  how: 'ended' | 'stopped' | 'unclaimed';
  detail: RunDetailInfo;
}

const OUTCOME: Record<string, { words: string; tone: Tone }> = {
  done: { words: 'done', tone: 'ok' },
  compensated: { words: 'undone', tone: 'ok' },
  failed: { words: 'failed', tone: 'fail' },
  skipped: { words: 'skipped', tone: 'info' },
  interrupted: { words: 'interrupted', tone: 'warn' },
};

/** What a step returned or why it failed, on one line, with what looks like a credential redacted (keys and text alike). */
function detailOf(attempt: RunAttemptInfo): string | undefined {
  const text = attempt.error !== null ? redactText(attempt.error) : attempt.output === undefined || attempt.output === null ? undefined : JSON.stringify(redactValue(attempt.output));
  if (text === undefined || text === '{}' || text === '[]') return undefined;
  return clip(text, 300);
}

function stepName(detail: RunDetailInfo, attempt: RunAttemptInfo): string {
  const title = detail.steps?.find((step) => step.index === attempt.stepIndex)?.title ?? attempt.stepId;
  const count = detail.steps ? `/${detail.steps.length}` : '';
  const doing = attempt.action === 'compensate' ? 'Undo of step' : 'Step';
  const counted = attempt.attempt > 1 && attempt.outcome !== 'skipped';
  return `${doing} ${attempt.stepIndex + 1}${count} ${title}${counted ? ` (attempt ${attempt.attempt})` : ''}`;
}

/**
 * The run waits at a gate for people, not for this terminal: say which approval request, where
 * approvers find it, and its line, so the follow does not look hung. Told once the request exists.
 */
function gateWait(detail: RunDetailInfo): { request: string; line: FollowLine } | undefined {
  const gate = detail.gate;
  const request = gate?.request;
  if (!gate || !request?.state || detail.run.state !== 'running') return undefined;
  const title = detail.steps?.find((step) => step.id === gate.stepId)?.title ?? gate.stepId;
  const needed = request.approvalsRequired === undefined ? '' : `${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'} needed, `;
  const where = request.channels?.length ? `in channel ${request.channels.join(' and ')}` : 'in Slack or the local console';
  return {
    request: request.id,
    line: {
      text: `Waiting for approvers at "${title}": approval request ${request.id} (${needed}${request.state}); approvers vote with its buttons ${where}`,
      tone: 'warn',
      detail: `It asks for \`run pass ${detail.run.id} ${detail.run.runbook} ${gate.stepId}\`; the requester cannot approve it. Ctrl-C stops following; the run goes on.`,
    },
  };
}

export async function followRun(options: FollowOptions): Promise<FollowEnd> {
  const pollMs = options.pollMs ?? DEFAULT_FOLLOW_POLL_MS;
  const unclaimedMs = options.unclaimedMs ?? DEFAULT_UNCLAIMED_MS;
  const now = options.now ?? (() => performance.now());
  const since = now();
  /** Per attempt: whether its start, and its end, were told, and the progress last told. */
  const told = new Map<string, { started: boolean; ended: boolean; progress?: string }>();
  const before = options.since === undefined ? undefined : Date.parse(options.since);
  const earlier = (attempt: RunAttemptInfo) => before !== undefined && attempt.finishedAt !== null && Date.parse(attempt.finishedAt) < before;
  let claimed = false;
  let lastState = '';
  /** The gate requests told: each once (a retry after a denial asks with a new one). */
  const toldGates = new Set<string>();
  for (;;) {
    const detail = await options.runs.get(options.runId);
    const { run } = detail;
    if (run.runner || run.state !== 'pending') claimed = true;
    if (run.state === 'aborting' && lastState !== 'aborting') options.report({ text: `Abort requested (${run.decidedBy ?? 'someone'}): the step at hand stops, then done steps are undone where they can be`, tone: 'warn' });
    lastState = run.state;
    for (const attempt of detail.attempts) {
      const key = `${attempt.stepIndex}:${attempt.action}:${attempt.attempt}`;
      const seen = told.get(key) ?? (earlier(attempt) ? { started: true, ended: true } : { started: false, ended: false });
      told.set(key, seen);
      // A skip is a person's decision, recorded as the step's last attempt: it never started.
      const skipped = attempt.outcome === 'skipped';
      if (!seen.started) {
        seen.started = true;
        if (!skipped) options.report({ text: `${stepName(detail, attempt)}: started`, tone: 'info' });
      }
      // A report is told once, before the step's end; one the engine wrote with the end comes first too.
      const progress = attempt.progress ? `${attempt.progress.at} ${attempt.progress.text}` : undefined;
      if (progress && progress !== seen.progress && !seen.ended) {
        seen.progress = progress;
        options.report({ text: `${stepName(detail, attempt)}: ${redactText(attempt.progress!.text)}`, tone: 'info' });
      }
      if (!seen.ended && attempt.outcome !== 'running') {
        seen.ended = true;
        const outcome = skipped && attempt.error ? { words: redactText(attempt.error), tone: 'info' as Tone } : (OUTCOME[attempt.outcome] ?? { words: attempt.outcome, tone: 'info' as Tone });
        const took = attempt.finishedAt && !skipped ? ` in ${formatMs(Date.parse(attempt.finishedAt) - Date.parse(attempt.startedAt))}` : '';
        const line = skipped ? undefined : detailOf(attempt);
        options.report({ text: `${stepName(detail, attempt)}: ${outcome.words}${took}`, tone: outcome.tone, ...(line ? { detail: line } : {}) });
      }
    }
    const waitsOn = gateWait(detail);
    if (waitsOn && !toldGates.has(waitsOn.request)) {
      toldGates.add(waitsOn.request);
      options.report(waitsOn.line);
    }
    if (FOLLOW_END_STATES.includes(run.state)) return { how: 'ended', detail };
    if (options.signal?.aborted) return { how: 'stopped', detail };
    if (!claimed && now() - since >= unclaimedMs) return { how: 'unclaimed', detail };
    try {
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      // The signal: one last look, so that what happened until now is told, then stop.
    }
  }
}
