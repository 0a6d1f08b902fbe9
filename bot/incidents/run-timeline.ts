/**
 * A runbook run's steps, and the approvals of what ran, on the timeline of the incident whose
 * channel it was started in. The link is the `run:<id>` reference the command timeline puts on
 * the command that started it (command-timeline.ts), so it holds across restarts and takeovers
 * and needs no column of its own. Steps come from the run store's attempts, at their original
 * times (when the step started, when it ended), and are recorded whenever the run is looked at:
 * when its command is put on the timeline (steps that ran before that) and after each step's start
 * and end (the engine's `onStepRecorded`). Every entry has a request key, so looking again, a
 * redelivery or two replicas record each once.
 */
import type { AttemptRecord, RunRecord } from '../../runbooks/engine/run-store.js';
import type { ApprovalRequest } from '../approvals/index.js';
import type { IncidentStore } from './incident-store.js';

export interface RunTimelineOptions {
  incidents: Pick<IncidentStore, 'addToTimeline' | 'referencing'>;
  runs: { get(id: string): Promise<RunRecord | undefined>; attempts(runId: string): Promise<AttemptRecord[]> };
  approvals?: { get(id: string): Promise<ApprovalRequest | undefined> };
  log?(message: string, error?: unknown): void;
}

export interface RunTimeline {
  /** Puts what the run did so far on the timeline of the open incidents it was started in. */
  runChanged(runId: string): Promise<void>;
  /** Puts the run's steps so far on one incident's timeline. */
  recordRun(incidentKey: string, runId: string): Promise<void>;
  /** Puts an approval request (requested, each vote, its end) on one incident's timeline. */
  recordApproval(incidentKey: string, approvalId: string): Promise<void>;
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** `step 2 restart-service` started / done in 4.1 s / failed in 2.0 s: why. */
function stepEntries(run: RunRecord, attempt: AttemptRecord): Array<{ occurredAt: Date; text: string; key: string }> {
  const which = `${run.runbook} step ${attempt.stepIndex + 1} ${attempt.stepId}${attempt.action === 'compensate' ? ' (undoing it)' : ''}${attempt.attempt > 1 ? `, attempt ${attempt.attempt}` : ''}`;
  const key = `run-step:${run.id}:${attempt.stepIndex}:${attempt.action}:${attempt.attempt}`;
  const entries = [{ occurredAt: attempt.startedAt, text: `${which} started`, key: `${key}:start` }];
  if (attempt.finishedAt && attempt.outcome !== 'running') {
    const took = seconds(attempt.finishedAt.getTime() - attempt.startedAt.getTime());
    entries.push({ occurredAt: attempt.finishedAt, text: `${which} ${attempt.outcome} in ${took}${attempt.error ? `: ${attempt.error}` : ''}`, key: `${key}:end` });
  }
  return entries;
}

const ENDED_WITHOUT_RUNNING = new Set<string>(['denied', 'cancelled', 'expired', 'superseded']);
const VOTE_WORDS: Record<string, string> = { approve: 'approved', deny: 'denied' };

export function incidentRunTimeline(options: RunTimelineOptions): RunTimeline {
  const { incidents, runs } = options;

  async function recordRun(incidentKey: string, runId: string): Promise<void> {
    const run = await runs.get(runId);
    if (!run) return;
    for (const attempt of await runs.attempts(runId)) {
      for (const entry of stepEntries(run, attempt)) {
        await incidents.addToTimeline(incidentKey, { kind: 'runbook-step', occurredAt: entry.occurredAt, actor: run.requester, text: entry.text.slice(0, 4000), reference: `run:${run.id}`, requestKey: entry.key }, new Date());
      }
    }
  }

  async function recordApproval(incidentKey: string, approvalId: string): Promise<void> {
    const request = await options.approvals?.get(approvalId);
    if (!request) return;
    const add = (occurredAt: Date, actor: string, text: string, key: string) =>
      incidents.addToTimeline(incidentKey, { kind: 'approval', occurredAt, actor, text: text.slice(0, 4000), reference: `approval:${request.id}`, requestKey: `approval:${request.id}:${key}` }, new Date());
    const needs = `${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'}`;
    await add(request.createdAt, request.requester, `approval requested for /acgs ${request.action.line} (Level ${request.level}, ${needs})`, 'requested');
    for (const vote of request.votes) await add(vote.at, vote.voter, `${VOTE_WORDS[vote.vote] ?? vote.vote} /acgs ${request.action.line}`, `vote:${vote.voter}`);
    // The approving votes are its decision; these end it otherwise.
    if (ENDED_WITHOUT_RUNNING.has(request.state)) await add(request.stateChangedAt, request.endedBy ?? request.requester, `approval request ${request.state}${request.endedReason ? `: ${request.endedReason}` : ''}`, `state:${request.state}`);
  }

  return {
    recordRun,
    recordApproval,
    async runChanged(runId) {
      const linked = (await incidents.referencing(`run:${runId}`)).filter((incident) => incident.state !== 'closed');
      for (const incident of linked) await recordRun(incident.key, runId);
    },
  };
}
