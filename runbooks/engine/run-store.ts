/**
 * Runs as data: PostgreSQL holds every run and every step attempt, shared by all bot replicas.
 * Leases use the database's clock (now()), never a process's, so runners on machines whose clocks
 * disagree still agree on who holds a run. Every write about a run goes through `fenced`: one
 * conditional UPDATE that checks the writer still holds the lease under the same fencing token
 * (and extends it), in the same transaction as the write, so a runner that lost the run writes
 * nothing more, ever.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate, withTransaction } from '../../services/kit/postgres.js';
import { RUN_STATE_WORDS, stoppedStepSkippable } from '../../commands/ports.js';
import { LeaseLostError, RunbookInputError } from './errors.js';

export const RUNBOOK_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const RUNBOOK_MIGRATIONS_TABLE = 'runbook_engine_migrations';

/** Creates or updates the engine's tables; safe when several replicas start together. */
export function migrateRunStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: RUNBOOK_MIGRATIONS_DIR, table: RUNBOOK_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

export const RUN_STATES = ['pending', 'running', 'needs_decision', 'succeeded', 'failed', 'aborting', 'aborted'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const FINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'aborted'];

export type AttemptOutcome = 'running' | 'done' | 'failed' | 'skipped' | 'interrupted' | 'compensated';
export type AttemptAction = 'run' | 'compensate';
export const DECISIONS = ['retry', 'skip', 'abort'] as const;
export type Decision = (typeof DECISIONS)[number];

/** A run's state as the end of a sentence about it (the commands' port says it the same way). */
export const STATE_WORDS: Readonly<Record<RunState, string>> = RUN_STATE_WORDS as Readonly<Record<RunState, string>>;

export interface RunRecord {
  id: string;
  runbook: string;
  version: string;
  args: unknown;
  requester: string;
  origin: string;
  /** Who approved the run's start (its approval request's approvers); empty when it needed none. */
  approvedBy: string[];
  state: RunState;
  reason: string | null;
  detail: Record<string, unknown> | null;
  decision: Decision | null;
  decidedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  /** A bigint, kept as its decimal text. */
  fencingToken: string;
}

export interface AttemptRecord {
  runId: string;
  stepIndex: number;
  stepId: string;
  attempt: number;
  action: AttemptAction;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: AttemptOutcome;
  output: unknown;
  error: string | null;
  owner: string;
  fencingToken: string;
  /** What the step last reported while it ran (StepContext.progress), kept after it ended or its runner died. */
  progress: StepProgressRecord | null;
}

/** A step's report of how far it got: a sentence for people, optional figures, and when it was recorded. */
export interface StepProgress {
  text: string;
  data?: unknown;
}

export interface StepProgressRecord extends StepProgress {
  at: Date;
}

/** What a runner holds while it runs a run; every write names it. */
export interface Lease {
  runId: string;
  owner: string;
  token: string;
  leaseMs: number;
}

export interface Claim {
  run: RunRecord;
  lease: Lease;
  /** Who held the run before, when this claim took it over from a lease that expired. */
  previousOwner: string | null;
}

export interface NewRun {
  runbook: string;
  version: string;
  args: unknown;
  requester: string;
  origin: string;
  approvedBy?: readonly string[];
}

type Row = Record<string, unknown>;

function toRun(row: Row): RunRecord {
  return {
    id: row.id as string,
    runbook: row.runbook as string,
    version: row.version as string,
    args: row.args,
    requester: row.requester as string,
    origin: row.origin as string,
    approvedBy: (row.approved_by as string[] | null) ?? [],
    state: row.state as RunState,
    reason: (row.reason as string | null) ?? null,
    detail: (row.detail as Record<string, unknown> | null) ?? null,
    decision: (row.decision as Decision | null) ?? null,
    decidedBy: (row.decided_by as string | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    leaseOwner: (row.lease_owner as string | null) ?? null,
    leaseExpiresAt: (row.lease_expires_at as Date | null) ?? null,
    fencingToken: String(row.fencing_token),
  };
}

function toAttempt(row: Row): AttemptRecord {
  return {
    runId: row.run_id as string,
    stepIndex: row.step_index as number,
    stepId: row.step_id as string,
    attempt: row.attempt as number,
    action: row.action as AttemptAction,
    startedAt: row.started_at as Date,
    finishedAt: (row.finished_at as Date | null) ?? null,
    outcome: row.outcome as AttemptOutcome,
    output: row.output_summary ?? null,
    error: (row.error as string | null) ?? null,
    owner: row.owner as string,
    fencingToken: String(row.fencing_token),
    progress: toProgress(row),
  };
}

function toProgress(row: Row): StepProgressRecord | null {
  const stored = row.progress as StepProgress | null | undefined;
  if (!stored || typeof stored.text !== 'string') return null;
  return { text: stored.text, ...(stored.data === undefined ? {} : { data: stored.data }), at: row.progress_at as Date };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isRunId = (value: string): boolean => UUID.test(value);

/** jsonb parameters go as text: pg would send a JS array as a PostgreSQL array. */
const json = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

const LEASE_INTERVAL = `make_interval(secs => $LEASE::double precision / 1000)`;
const leaseFor = (parameter: number) => LEASE_INTERVAL.replace('$LEASE', `$${parameter}`);

// Runs nobody runs: waiting to start, or held by a lease that has run out.
const CLAIMABLE = `(state = 'pending' OR (state IN ('running', 'aborting') AND (lease_expires_at IS NULL OR lease_expires_at <= now())))`;

export interface RunStore {
  create(run: NewRun): Promise<RunRecord>;
  get(id: string): Promise<RunRecord | undefined>;
  attempts(runId: string): Promise<AttemptRecord[]>;
  /** Newest first. */
  recent(limit?: number): Promise<RunRecord[]>;
  /** Ids of the runs of `runbook` that have not ended (pending, running, waiting for a decision, aborting). */
  unfinishedRunIds(runbook: string): Promise<string[]>;
  /**
   * Every run that has not ended, however old (one waiting for a decision for a week still needs
   * someone), then the `endedLimit` newest ended ones; each part newest first.
   */
  activeAndRecent(endedLimit: number): Promise<RunRecord[]>;
  /** The database's clock, which leases are on. */
  now(): Promise<Date>;
  /** Claims the oldest run nobody runs (a new fencing token); undefined when there is none. */
  claimNext(owner: string, leaseMs: number): Promise<Claim | undefined>;
  /** Claims this run if nobody runs it. */
  claim(runId: string, owner: string, leaseMs: number): Promise<Claim | undefined>;
  /** Extends the lease; returns the run's state (a person may have asked to abort). Throws LeaseLostError. */
  renew(lease: Lease): Promise<RunState>;
  /** Marks the attempts left `running` by an earlier holder as interrupted, and returns them. */
  interruptRunning(lease: Lease): Promise<AttemptRecord[]>;
  /**
   * Records an attempt as started; returns its number, or undefined when the run is being
   * aborted and a `run` attempt must not start. Consumes a pending `retry` decision.
   */
  startAttempt(lease: Lease, step: { index: number; id: string; action: AttemptAction }): Promise<number | undefined>;
  /**
   * Records what a running attempt last reported (it replaces the one before); nothing happens
   * once the attempt ended. Throws LeaseLostError like every write about the run.
   */
  recordProgress(lease: Lease, attempt: { index: number; attempt: number; progress: StepProgress }): Promise<void>;
  /** `progress`: a last report the step made that was not recorded yet (it is kept with the end). */
  finishAttempt(
    lease: Lease,
    attempt: { index: number; attempt: number; outcome: Exclude<AttemptOutcome, 'running' | 'skipped'>; output?: unknown; error?: string; progress?: StepProgress },
  ): Promise<void>;
  /**
   * Moves the run to `state` and lets go of its lease (pending/aborting: for another runner to
   * continue). An abort asked for meanwhile wins: a run in `aborting` is left so, and returned as
   * it stands, still held by the caller unless it was handing the run back; the caller then aborts.
   */
  settle(lease: Lease, outcome: { state: Exclude<RunState, 'running'>; reason: string | null; detail?: Record<string, unknown> | null }): Promise<RunRecord>;
  /**
   * A person's decision on a run in `needs_decision`: retry the stopped step, skip it, or abort
   * (compensations run next). Throws RunbookInputError and changes nothing when the run is unknown
   * or waits for no decision.
   */
  decide(runId: string, decision: Decision, by: string): Promise<RunRecord>;
  /** Asks for an abort: a waiting run goes to `aborting` for a runner; a running one is told through its lease. */
  requestAbort(runId: string, by: string): Promise<RunRecord>;
}

export function createRunStore(pool: pg.Pool): RunStore {
  async function fenced<T>(lease: Lease, work: (client: pg.PoolClient, state: RunState) => Promise<T>): Promise<T> {
    return withTransaction(pool, async (client) => {
      const held = await client.query(
        `UPDATE runbook_runs SET lease_expires_at = now() + ${leaseFor(4)}, updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3::bigint AND lease_expires_at > now()
         RETURNING state`,
        [lease.runId, lease.owner, lease.token, lease.leaseMs],
      );
      if (held.rowCount !== 1) {
        throw new LeaseLostError(`runner ${lease.owner} no longer holds run ${lease.runId} (fencing token ${lease.token}); its write was refused`);
      }
      return work(client, (held.rows[0] as Row).state as RunState);
    });
  }

  async function claimWhere(extra: string, params: unknown[]): Promise<Claim | undefined> {
    const [owner, leaseMs] = params as [string, number];
    const result = await pool.query(
      `WITH target AS (
         SELECT id, lease_owner AS previous_owner FROM runbook_runs
         WHERE ${CLAIMABLE} ${extra}
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       UPDATE runbook_runs r SET
         state = CASE WHEN r.state = 'aborting' THEN 'aborting' ELSE 'running' END,
         lease_owner = $1, lease_expires_at = now() + ${leaseFor(2)},
         fencing_token = r.fencing_token + 1, updated_at = now()
       FROM target WHERE r.id = target.id
       RETURNING r.*, target.previous_owner`,
      params,
    );
    const row = result.rows[0] as Row | undefined;
    if (!row) return undefined;
    const run = toRun(row);
    return { run, lease: { runId: run.id, owner, token: run.fencingToken, leaseMs }, previousOwner: (row.previous_owner as string | null) ?? null };
  }

  async function lockRun(client: pg.PoolClient, runId: string): Promise<RunRecord> {
    const result = isRunId(runId) ? await client.query('SELECT * FROM runbook_runs WHERE id = $1 FOR UPDATE', [runId]) : undefined;
    const row = result?.rows[0] as Row | undefined;
    if (!row) throw new RunbookInputError('unknown-run', `There is no run "${runId}".`);
    return toRun(row);
  }

  return {
    async create(run) {
      const result = await pool.query(
        `INSERT INTO runbook_runs (id, runbook, version, args, requester, origin, approved_by, state)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::text[], 'pending') RETURNING *`,
        [randomUUID(), run.runbook, run.version, json(run.args ?? {}), run.requester, run.origin, [...(run.approvedBy ?? [])]],
      );
      return toRun(result.rows[0] as Row);
    },
    async get(id) {
      if (!isRunId(id)) return undefined;
      const result = await pool.query('SELECT * FROM runbook_runs WHERE id = $1', [id]);
      return result.rows[0] ? toRun(result.rows[0] as Row) : undefined;
    },
    async attempts(runId) {
      if (!isRunId(runId)) return [];
      const result = await pool.query('SELECT * FROM runbook_step_attempts WHERE run_id = $1 ORDER BY started_at, step_index, attempt', [runId]);
      return result.rows.map((row) => toAttempt(row as Row));
    },
    async recent(limit = 20) {
      const result = await pool.query('SELECT * FROM runbook_runs ORDER BY created_at DESC LIMIT $1', [limit]);
      return result.rows.map((row) => toRun(row as Row));
    },
    async unfinishedRunIds(runbook) {
      const result = await pool.query<{ id: string }>('SELECT id FROM runbook_runs WHERE runbook = $1 AND NOT (state = ANY($2::text[]))', [runbook, FINAL_RUN_STATES]);
      return result.rows.map((row) => row.id);
    },
    async now() {
      const result = await pool.query<{ now: Date }>('SELECT now() AS now');
      return result.rows[0]!.now;
    },
    async activeAndRecent(endedLimit) {
      const result = await pool.query(
        `(SELECT *, 0 AS part FROM runbook_runs WHERE state <> ALL($1::text[]))
         UNION ALL
         (SELECT *, 1 AS part FROM runbook_runs WHERE state = ANY($1::text[]) ORDER BY created_at DESC LIMIT $2)
         ORDER BY part, created_at DESC`,
        [FINAL_RUN_STATES, endedLimit],
      );
      return result.rows.map((row) => toRun(row as Row));
    },
    claimNext(owner, leaseMs) {
      return claimWhere('', [owner, leaseMs]);
    },
    claim(runId, owner, leaseMs) {
      if (!isRunId(runId)) return Promise.resolve(undefined);
      return claimWhere('AND id = $3', [owner, leaseMs, runId]);
    },
    renew(lease) {
      return fenced(lease, async (_client, state) => state);
    },
    interruptRunning(lease) {
      return fenced(lease, async (client) => {
        const result = await client.query(
          `UPDATE runbook_step_attempts SET outcome = 'interrupted', finished_at = now(),
             error = 'interrupted: its runner (' || owner || ') stopped holding the run before the step ended'
           WHERE run_id = $1 AND outcome = 'running' RETURNING *`,
          [lease.runId],
        );
        return result.rows.map((row) => toAttempt(row as Row));
      });
    },
    startAttempt(lease, step) {
      return fenced(lease, async (client, state) => {
        if (step.action === 'run' && state !== 'running') return undefined;
        const result = await client.query(
          `INSERT INTO runbook_step_attempts (run_id, step_index, step_id, attempt, action, outcome, owner, fencing_token)
           SELECT $1, $2, $3, coalesce(max(attempt), 0) + 1, $4, 'running', $5, $6::bigint
           FROM runbook_step_attempts WHERE run_id = $1 AND step_index = $2
           RETURNING attempt`,
          [lease.runId, step.index, step.id, step.action, lease.owner, lease.token],
        );
        if (step.action === 'run') await client.query(`UPDATE runbook_runs SET decision = NULL WHERE id = $1 AND decision = 'retry'`, [lease.runId]);
        return (result.rows[0] as { attempt: number }).attempt;
      });
    },
    async recordProgress(lease, attempt) {
      await fenced(lease, async (client) => {
        await client.query(
          `UPDATE runbook_step_attempts SET progress = $4::jsonb, progress_at = now()
           WHERE run_id = $1 AND step_index = $2 AND attempt = $3 AND outcome = 'running'`,
          [lease.runId, attempt.index, attempt.attempt, json(attempt.progress)],
        );
      });
    },
    async finishAttempt(lease, attempt) {
      await fenced(lease, async (client) => {
        await client.query(
          `UPDATE runbook_step_attempts SET outcome = $4, finished_at = now(), output_summary = $5::jsonb, error = $6,
             progress = coalesce($7::jsonb, progress), progress_at = CASE WHEN $7::jsonb IS NULL THEN progress_at ELSE now() END
           WHERE run_id = $1 AND step_index = $2 AND attempt = $3 AND outcome = 'running'`,
          [lease.runId, attempt.index, attempt.attempt, attempt.outcome, json(attempt.output), attempt.error ?? null, json(attempt.progress)],
        );
      });
    },
    settle(lease, outcome) {
      return fenced(lease, async (client, state) => {
        if (state === 'aborting' && outcome.state !== 'aborted') {
          const handBack = outcome.state === 'pending' || outcome.state === 'aborting';
          const kept = await client.query(
            `UPDATE runbook_runs SET lease_owner = CASE WHEN $2 THEN NULL ELSE lease_owner END,
               lease_expires_at = CASE WHEN $2 THEN NULL ELSE lease_expires_at END
             WHERE id = $1 RETURNING *`,
            [lease.runId, handBack],
          );
          return toRun(kept.rows[0] as Row);
        }
        const result = await client.query(
          `UPDATE runbook_runs SET state = $2, reason = $3, detail = $4::jsonb, lease_owner = NULL, lease_expires_at = NULL,
             decision = CASE WHEN $2 IN ('pending', 'aborting') THEN decision ELSE NULL END, updated_at = now()
           WHERE id = $1 RETURNING *`,
          [lease.runId, outcome.state, outcome.reason, json(outcome.detail ?? null)],
        );
        return toRun(result.rows[0] as Row);
      });
    },
    async decide(runId, decision, by) {
      // Decisions arrive from buttons and typed text: a value outside the three is refused here.
      if (!DECISIONS.includes(decision)) {
        throw new RunbookInputError('unknown-decision', `"${String(decision)}" is no decision; a run waiting for one can be retried, skipped or aborted.`);
      }
      return withTransaction(pool, async (client) => {
        const run = await lockRun(client, runId);
        if (run.state !== 'needs_decision') {
          throw new RunbookInputError('not-waiting-for-decision', `Run ${run.id} (${run.runbook}) ${STATE_WORDS[run.state]}; it waits for no decision.`);
        }
        const stopped = run.detail?.step as { index?: number; id?: string; title?: string } | undefined;
        if (decision === 'skip') {
          if (typeof stopped?.index !== 'number' || typeof stopped.id !== 'string') {
            throw new RunbookInputError('cannot-skip', `Run ${run.id} stopped before any step (${run.reason ?? 'no reason given'}): there is no step to skip; retry or abort it.`);
          }
          // The runner wrote whether the step may be skipped when it stopped the run (run-driver.ts).
          if (!stoppedStepSkippable(run.detail)) {
            const why = (stopped as { kind?: string }).kind === 'gate' ? 'it is a gate, passed only by its approvers (retry asks them again)' : 'later steps need its output';
            throw new RunbookInputError('cannot-skip', `Step "${stopped.id}" of run ${run.id} (${run.runbook}) cannot be skipped: ${why}; retry or abort.`);
          }
          await client.query(
            `INSERT INTO runbook_step_attempts (run_id, step_index, step_id, attempt, outcome, finished_at, error, owner, fencing_token)
             SELECT $1, $2, $3, coalesce(max(attempt), 0) + 1, 'skipped', now(), $4, $5, $6::bigint
             FROM runbook_step_attempts WHERE run_id = $1 AND step_index = $2`,
            [run.id, stopped.index, stopped.id, `skipped by ${by}`, `decision:${by}`, run.fencingToken],
          );
        }
        const state: RunState = decision === 'abort' ? 'aborting' : 'pending';
        const result = await client.query(
          `UPDATE runbook_runs SET state = $2, decision = $3, decided_by = $4, reason = $5, updated_at = now() WHERE id = $1 RETURNING *`,
          [run.id, state, decision, by, `${decision} decided by ${by}`],
        );
        return toRun(result.rows[0] as Row);
      });
    },
    requestAbort(runId, by) {
      return withTransaction(pool, async (client) => {
        const run = await lockRun(client, runId);
        if (FINAL_RUN_STATES.includes(run.state)) {
          throw new RunbookInputError('not-abortable', `Run ${run.id} (${run.runbook}) ${STATE_WORDS[run.state]}; there is nothing to abort.`);
        }
        if (run.state === 'aborting') return run;
        // A running run keeps its runner's lease: the runner sees `aborting` on its next renewal and
        // stops the step; a waiting one is claimed by whichever runner scans next.
        const result = await client.query(
          `UPDATE runbook_runs SET state = 'aborting', decision = 'abort', decided_by = $2, reason = $3, updated_at = now() WHERE id = $1 RETURNING *`,
          [run.id, by, `abort requested by ${by}`],
        );
        return toRun(result.rows[0] as Row);
      });
    },
  };
}
