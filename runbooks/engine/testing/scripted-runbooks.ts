/**
 * Runbooks whose steps do what a test's arguments say: report progress, hold (wait until stopped or
 * for a while) on their first attempt, fail on their first n attempts, fail their compensation. Every step start,
 * end and compensation is a row in runbook_test_marks with the process id and the database's
 * clock, so a test can see which process ran what, when, and that no two ran a step at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { z } from 'zod';
import { gateStep } from '../gate-step.js';
import { defineRunbook, type AnyRunbook, type DryRunResult, type RunbookLevel, type StepContext, type StepDefinition, type StepKind } from '../definition.js';

export const ScriptArgs = z.object({
  /** Step id -> milliseconds its FIRST attempt waits (stopping early when its signal fires). */
  holdMs: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Step id -> the step fails on attempts 1..n. */
  failAttempts: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Step id -> milliseconds its FIRST compensation waits (stopping early when its signal fires). */
  holdCompensationMs: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Step ids whose compensation fails. */
  failCompensation: z.array(z.string()).default([]),
  /** Every step waits this long (ms), to make runs overlap across processes. */
  stepMs: z.number().int().min(0).default(0),
  /** Step id -> the step reports "report k of count" (data { k, count }) count times, everyMs apart, before anything else. */
  progress: z.record(z.string(), z.object({ count: z.number().int().min(1).max(1000), everyMs: z.number().int().min(0) })).default({}),
});
export type ScriptArgs = z.output<typeof ScriptArgs>;

export interface ScriptedStep {
  id: string;
  kind?: StepKind;
  idempotent?: boolean;
  /** False: a person may retry or abort it when it stops, not skip it. */
  skippable?: boolean;
  undoable?: boolean;
  timeoutMs?: number;
  title?: string;
  /** What its dry run says; asked at every plan, so a test can change it between two (a step's target). */
  dryRun?: () => DryRunResult;
  /** Makes it a gate step (engine/gate-step.ts) at this level, reading its request every pollEveryMs. */
  gate?: { level: 2 | 3 | 4; pollEveryMs?: number; approvals?: number };
}

async function mark(pool: pg.Pool, context: StepContext<ScriptArgs>, stepId: string, action: string): Promise<string> {
  const result = await pool.query<{ id: string }>(
    'INSERT INTO runbook_test_marks (run_id, step_id, attempt, action, pid) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [context.runId, stepId, context.attempt, action, process.pid],
  );
  return result.rows[0]!.id;
}

async function endMark(pool: pg.Pool, id: string, outcome: string): Promise<void> {
  await pool.query('UPDATE runbook_test_marks SET finished_at = clock_timestamp(), outcome = $2 WHERE id = $1', [id, outcome]);
}

function scriptedStep(pool: pg.Pool, spec: ScriptedStep): StepDefinition<ScriptArgs> {
  if (spec.gate) {
    return gateStep({ id: spec.id, title: spec.title ?? `Approvers let ${spec.id} pass`, level: spec.gate.level, timeoutMs: spec.timeoutMs ?? 120_000, ...(spec.gate.pollEveryMs ? { pollEveryMs: spec.gate.pollEveryMs } : {}), ...(spec.gate.approvals ? { approvals: spec.gate.approvals } : {}) });
  }
  const step: StepDefinition<ScriptArgs> = {
    id: spec.id,
    kind: spec.kind ?? 'act',
    title: spec.title ?? `Do ${spec.id}`,
    timeoutMs: spec.timeoutMs ?? 20_000,
    idempotent: spec.idempotent ?? true,
    ...(spec.skippable === undefined ? {} : { skippable: spec.skippable }),
    async run(context) {
      const id = await mark(pool, context, spec.id, 'run');
      try {
        const reports = context.args.progress[spec.id];
        for (let k = 1; reports && k <= reports.count; k += 1) {
          context.progress({ text: `report ${k} of ${reports.count}`, data: { k, count: reports.count } });
          if (reports.everyMs) await sleep(reports.everyMs, undefined, { signal: context.signal });
        }
        const hold = context.args.holdMs[spec.id];
        if (hold !== undefined && context.attempt === 1) await sleep(hold, undefined, { signal: context.signal });
        if (context.args.stepMs) await sleep(context.args.stepMs, undefined, { signal: context.signal });
        if (context.attempt <= (context.args.failAttempts[spec.id] ?? 0)) throw new Error(`${spec.id} failed on attempt ${context.attempt} as scripted`);
      } catch (error) {
        await endMark(pool, id, 'failed');
        throw error;
      }
      await endMark(pool, id, 'done');
      return { step: spec.id, attempt: context.attempt, saw: Object.keys(context.outputs), requester: context.requester, origin: context.origin };
    },
    async dryRun() {
      return spec.dryRun?.() ?? { mode: 'description', text: `would do ${spec.id}` };
    },
  };
  if (spec.undoable) {
    step.compensate = async (context) => {
      const earlier = await pool.query(`SELECT 1 FROM runbook_test_marks WHERE run_id = $1 AND step_id = $2 AND action = 'compensate'`, [context.runId, spec.id]);
      const id = await mark(pool, context, spec.id, 'compensate');
      const hold = context.args.holdCompensationMs[spec.id];
      if (hold !== undefined && earlier.rowCount === 0) {
        try {
          await sleep(hold, undefined, { signal: context.signal });
        } catch (error) {
          await endMark(pool, id, 'failed');
          throw error;
        }
      }
      if (context.args.failCompensation.includes(spec.id)) {
        await endMark(pool, id, 'failed');
        throw new Error(`undoing ${spec.id} failed as scripted`);
      }
      await endMark(pool, id, 'done');
      return { undid: spec.id };
    };
  }
  return step;
}

/** A step made elsewhere (a runbook's helper such as the deploy watch's), run between scripted ones. */
export interface ReadyStep {
  definition: StepDefinition<ScriptArgs>;
}

export function scriptedRunbook(
  pool: pg.Pool,
  name: string,
  steps: Array<ScriptedStep | ReadyStep>,
  options: { onStepFailure?: 'decide' | 'fail'; summary?: string; level?: RunbookLevel } = {},
): AnyRunbook {
  return defineRunbook({
    source: import.meta.url,
    name,
    summary: options.summary ?? `scripted runbook ${name}`,
    level: options.level ?? 1,
    args: ScriptArgs,
    steps: steps.map((spec) => ('definition' in spec ? spec.definition : scriptedStep(pool, spec))),
    ...(options.onStepFailure ? { onStepFailure: options.onStepFailure } : {}),
  });
}

/** What the crash tests run in their child processes and in the runner that takes over. */
export function crashRunbooks(pool: pg.Pool): AnyRunbook[] {
  return [
    // The step that is killed is idempotent: the next runner runs it again.
    scriptedRunbook(pool, 'copy-files', [{ id: 'prepare' }, { id: 'copy', idempotent: true }, { id: 'verify' }]),
    // The step that is killed is not: the next runner stops for a decision.
    scriptedRunbook(pool, 'send-once', [{ id: 'prepare' }, { id: 'send', idempotent: false }, { id: 'verify' }]),
  ];
}
