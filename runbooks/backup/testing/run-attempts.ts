/**
 * A run's attempts as the backup and restore tests read them: the course it took, and what a step
 * handed on.
 */
import type { RunStore } from '../../engine/run-store.js';

/** Each attempt as `action step#attempt outcome`, in the order they were made. */
export async function attemptLines(store: RunStore, runId: string): Promise<string[]> {
  return (await store.attempts(runId)).map((a) => `${a.action} ${a.stepId}#${a.attempt} ${a.outcome}`);
}

/** The output of the step's run that finished (not of its checks or undo), if there is one. */
export async function stepOutput(store: RunStore, runId: string, stepId: string): Promise<unknown> {
  return (await store.attempts(runId)).find((attempt) => attempt.stepId === stepId && attempt.action === 'run' && attempt.outcome === 'done')?.output;
}

/** A backup run that succeeded ends with its backup's id and how to verify it (the runbook's outcome). */
export const BACKUP_OUTCOME = /^backup \S+ \(\d+ files, [^)]+\); `backup verify \S+` checks it restores$/;
