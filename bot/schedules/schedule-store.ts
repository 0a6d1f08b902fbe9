/**
 * The scheduler's records in PostgreSQL (migrations/): each job's schedule, next scheduled time
 * and what it owes, and every run. Claiming a scheduled time is one transaction under the job
 * row's lock: the run's insert is the claim (one per job and time), a run still going makes the
 * new one a recorded skip, and the job's next time moves on in the same commit.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate, withTransaction } from '../../services/kit/postgres.js';

export const SCHEDULE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const SCHEDULE_MIGRATIONS_TABLE = 'bot_schedule_migrations';
export const SCHEDULE_TABLES = ['schedule_jobs', 'schedule_runs', 'schedule_report_posts'] as const;

export function migrateScheduleStore(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: SCHEDULE_MIGRATIONS_DIR, table: SCHEDULE_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

/** `retry`: a scheduled run again after the one before it was abandoned (its replica died). */
export type RunTrigger = 'schedule' | 'catch-up' | 'manual' | 'retry';
export type RunOutcome = 'running' | 'ok' | 'failed' | 'timed-out' | 'skipped' | 'abandoned';

export interface ScheduleRun {
  id: string;
  job: string;
  scheduledFor: Date;
  /**
   * The scheduled time this run answers for: `scheduledFor`, except for a retry, whose
   * `scheduledFor` is its abandoned run's end (the retry's claim) and which answers for that run's time.
   */
  dueAt: Date;
  trigger: RunTrigger;
  requestedBy: string | undefined;
  holder: string;
  startedAt: Date;
  endedAt: Date | undefined;
  outcome: RunOutcome;
  detail: string | undefined;
}

export interface JobRecord {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  nextRunAt: Date | undefined;
  owedSince: Date | undefined;
  overdueSince: Date | undefined;
  /** The run in progress, else the latest that ran, else the latest skip. */
  lastRun: ScheduleRun | undefined;
}

export interface JobDeclaration {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  /** The next time by the schedule, used when the job is new or its schedule changed. */
  nextRunAt: Date | undefined;
}

export interface ClaimRequest {
  job: string;
  scheduledFor: Date;
  trigger: RunTrigger;
  holder: string;
  requestedBy?: string;
  startedAt: Date;
  /** For a scheduled time: where the job's next time moves on to once this one is claimed. */
  nextRunAt?: Date | undefined;
  leaseMs: number;
}

export type ClaimResult =
  /** This replica runs it. */
  | { kind: 'claimed'; run: ScheduleRun }
  /** Another run of the job is still going: this one is recorded as skipped. */
  | { kind: 'overlap'; run: ScheduleRun; running: ScheduleRun }
  /** Another replica claimed this scheduled time already (or the job moved on): nothing to do. */
  | { kind: 'taken' };

export interface ScheduleStore {
  /** Records the jobs as configured; a new job, or one whose schedule changed, gets `nextRunAt`. */
  declare(jobs: readonly JobDeclaration[], at: Date): Promise<void>;
  jobs(): Promise<JobRecord[]>;
  job(name: string): Promise<JobRecord | undefined>;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Claims the one run again of an abandoned scheduled run, while the job still owes it and
   * nothing else runs: keyed by the abandoned run's end, so replicas claim it once between them.
   */
  claimRetry(abandoned: ScheduleRun, request: { holder: string; startedAt: Date; leaseMs: number }): Promise<ClaimResult>;
  /** A missed scheduled time passed over on purpose (`skip`): recorded, and the job moves on. */
  skipMissed(request: Omit<ClaimRequest, 'leaseMs'>, detail: string): Promise<ScheduleRun | undefined>;
  /** Keeps the run's lease; false when the run is no longer running (marked abandoned meanwhile). */
  renew(run: ScheduleRun, leaseMs: number): Promise<boolean>;
  finish(run: ScheduleRun, outcome: Exclude<RunOutcome, 'running' | 'skipped' | 'abandoned'>, endedAt: Date, detail?: string): Promise<void>;
  /** When the job's last successful run started. */
  lastOk(job: string): Promise<Date | undefined>;
  /** Marks the overdue alert raised about the run owed since `owedSince` (true when this call did), or cleared. */
  markOverdue(job: string, since: Date | undefined): Promise<boolean>;
  runs(job: string, limit: number): Promise<ScheduleRun[]>;
  /** Deletes ended runs that started before `before`, and the report posts due before it; how many runs. */
  pruneRuns(before: Date): Promise<number>;
}

interface RunRow {
  id: string;
  job: string;
  scheduled_for: Date;
  due_at: Date | null;
  trigger: RunTrigger;
  requested_by: string | null;
  holder: string;
  started_at: Date;
  ended_at: Date | null;
  outcome: RunOutcome;
  detail: string | null;
}

const RUN_COLUMNS = 'id, job, scheduled_for, due_at, trigger, requested_by, holder, started_at, ended_at, outcome, detail';

const toRun = (row: RunRow): ScheduleRun => ({
  id: String(row.id),
  job: row.job,
  scheduledFor: row.scheduled_for,
  dueAt: row.due_at ?? row.scheduled_for,
  trigger: row.trigger,
  requestedBy: row.requested_by ?? undefined,
  holder: row.holder,
  startedAt: row.started_at,
  endedAt: row.ended_at ?? undefined,
  outcome: row.outcome,
  detail: row.detail ?? undefined,
});

interface JobRow {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  next_run_at: Date | null;
  owed_since: Date | null;
  overdue_since: Date | null;
}

const ABANDONED = 'the replica running it stopped renewing its lease (it stopped or lost the database)';

export function createScheduleStore(pool: pg.Pool): ScheduleStore {
  async function lastRuns(names: readonly string[]): Promise<Map<string, ScheduleRun>> {
    if (names.length === 0) return new Map();
    const { rows } = await pool.query<RunRow>(
      // A run in progress first, then the latest that ran: a skip is not what the job did.
      `SELECT DISTINCT ON (job) ${RUN_COLUMNS} FROM schedule_runs WHERE job = ANY($1) ORDER BY job, outcome = 'running' DESC, outcome = 'skipped', id DESC`,
      [names],
    );
    return new Map(rows.map((row) => [row.job, toRun(row)]));
  }

  async function jobRecords(where: string, params: unknown[]): Promise<JobRecord[]> {
    await abandonExpired(pool);
    const { rows } = await pool.query<JobRow>(`SELECT name, cron, timezone, enabled, next_run_at, owed_since, overdue_since FROM schedule_jobs ${where} ORDER BY name`, params);
    const last = await lastRuns(rows.map((row) => row.name));
    return rows.map((row) => ({
      name: row.name,
      cron: row.cron,
      timezone: row.timezone,
      enabled: row.enabled,
      nextRunAt: row.next_run_at ?? undefined,
      owedSince: row.owed_since ?? undefined,
      overdueSince: row.overdue_since ?? undefined,
      lastRun: last.get(row.name),
    }));
  }

  return {
    async declare(jobs, at) {
      for (const job of jobs) {
        // A changed schedule (or a job enabled again) starts from its new next time; an unchanged
        // one keeps the time it owes, so a run missed while the bot was down is still owed.
        await pool.query(
          `INSERT INTO schedule_jobs AS j (name, cron, timezone, enabled, next_run_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (name) DO UPDATE SET
             next_run_at = CASE WHEN NOT EXCLUDED.enabled THEN NULL
                                WHEN j.cron = EXCLUDED.cron AND j.timezone = EXCLUDED.timezone AND j.enabled AND j.next_run_at IS NOT NULL THEN j.next_run_at
                                ELSE EXCLUDED.next_run_at END,
             cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, enabled = EXCLUDED.enabled,
             updated_at = CASE WHEN j.cron = EXCLUDED.cron AND j.timezone = EXCLUDED.timezone AND j.enabled = EXCLUDED.enabled THEN j.updated_at ELSE EXCLUDED.updated_at END`,
          [job.name, job.cron, job.timezone, job.enabled, job.enabled ? (job.nextRunAt ?? null) : null, at],
        );
      }
    },

    jobs: () => jobRecords('', []),
    job: async (name) => (await jobRecords('WHERE name = $1', [name]))[0],

    claim: (request) =>
      withTransaction(pool, async (client) => {
        const { rows: jobs } = await client.query<JobRow>('SELECT name, next_run_at, owed_since FROM schedule_jobs WHERE name = $1 FOR UPDATE', [request.job]);
        const job = jobs[0];
        if (!job) throw new RangeError(`no scheduled job ${JSON.stringify(request.job)}`);
        // A scheduled time is claimed only while it is the job's next: another replica that
        // handled it has moved the job on.
        if (request.trigger !== 'manual' && job.next_run_at?.getTime() !== request.scheduledFor.getTime()) return { kind: 'taken' } as const;
        await abandonExpired(client, request.job);
        const { rows: running } = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE job = $1 AND outcome = 'running'`, [request.job]);
        const busy = running[0] ? toRun(running[0]) : undefined;
        const { rows } = await client.query<RunRow>(
          `INSERT INTO schedule_runs (job, scheduled_for, trigger, requested_by, holder, started_at, ended_at, outcome, detail, lease_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $8 = 'running' THEN clock_timestamp() + $10 * interval '1 millisecond' END)
           ON CONFLICT DO NOTHING
           RETURNING ${RUN_COLUMNS}`,
          [
            request.job,
            request.scheduledFor,
            request.trigger,
            request.requestedBy ?? null,
            request.holder,
            request.startedAt,
            busy ? request.startedAt : null,
            busy ? 'skipped' : 'running',
            busy ? `overlap: run ${busy.id} (started ${busy.startedAt.toISOString()}) is still running` : null,
            request.leaseMs,
          ],
        );
        if (!rows[0]) return { kind: 'taken' } as const;
        if (request.trigger !== 'manual') {
          await client.query('UPDATE schedule_jobs SET next_run_at = $2, owed_since = COALESCE(owed_since, $3) WHERE name = $1', [request.job, request.nextRunAt ?? null, request.scheduledFor]);
        }
        const run = toRun(rows[0]);
        return busy ? ({ kind: 'overlap', run, running: busy } as const) : ({ kind: 'claimed', run } as const);
      }),

    claimRetry: (abandoned, request) =>
      withTransaction(pool, async (client) => {
        const { rows: jobs } = await client.query<JobRow>('SELECT owed_since FROM schedule_jobs WHERE name = $1 FOR UPDATE', [abandoned.job]);
        // A good run since (or the owed time paid otherwise) leaves nothing to retry.
        if (!abandoned.endedAt || !jobs[0]?.owed_since || jobs[0].owed_since > abandoned.scheduledFor) return { kind: 'taken' } as const;
        const { rows: running } = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE job = $1 AND outcome = 'running'`, [abandoned.job]);
        if (running[0]) return { kind: 'taken' } as const;
        const { rows } = await client.query<RunRow>(
          `INSERT INTO schedule_runs (job, scheduled_for, due_at, trigger, holder, started_at, outcome, detail, lease_expires_at)
           VALUES ($1, $2, $7, 'retry', $3, $4, 'running', $5, clock_timestamp() + $6 * interval '1 millisecond')
           ON CONFLICT DO NOTHING
           RETURNING ${RUN_COLUMNS}`,
          [abandoned.job, abandoned.endedAt, request.holder, request.startedAt, `again after run ${abandoned.id} (due ${abandoned.dueAt.toISOString()}) was abandoned`, request.leaseMs, abandoned.dueAt],
        );
        return rows[0] ? ({ kind: 'claimed', run: toRun(rows[0]) } as const) : ({ kind: 'taken' } as const);
      }),

    skipMissed: (request, detail) =>
      withTransaction(pool, async (client) => {
        const { rows: jobs } = await client.query<JobRow>('SELECT next_run_at FROM schedule_jobs WHERE name = $1 FOR UPDATE', [request.job]);
        if (jobs[0]?.next_run_at?.getTime() !== request.scheduledFor.getTime()) return undefined;
        const { rows } = await client.query<RunRow>(
          `INSERT INTO schedule_runs (job, scheduled_for, trigger, holder, started_at, ended_at, outcome, detail)
           VALUES ($1, $2, $3, $4, $5, $5, 'skipped', $6) ON CONFLICT DO NOTHING RETURNING ${RUN_COLUMNS}`,
          [request.job, request.scheduledFor, request.trigger, request.holder, request.startedAt, detail],
        );
        await client.query('UPDATE schedule_jobs SET next_run_at = $2 WHERE name = $1', [request.job, request.nextRunAt ?? null]);
        return rows[0] ? toRun(rows[0]) : undefined;
      }),

    async renew(run, leaseMs) {
      const { rowCount } = await pool.query(
        `UPDATE schedule_runs SET lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE id = $1 AND outcome = 'running'`,
        [run.id, leaseMs],
      );
      return rowCount === 1;
    },

    async finish(run, outcome, endedAt, detail) {
      await withTransaction(pool, async (client) => {
        const { rowCount } = await client.query(`UPDATE schedule_runs SET outcome = $2, ended_at = $3, detail = $4, lease_expires_at = NULL WHERE id = $1 AND outcome = 'running'`, [
          run.id,
          outcome,
          endedAt,
          detail ?? null,
        ]);
        // A success pays what the job owed, if it still owed nothing newer than this run.
        if (rowCount === 1 && outcome === 'ok') await client.query('UPDATE schedule_jobs SET owed_since = NULL WHERE name = $1 AND (owed_since IS NULL OR owed_since <= $2)', [run.job, run.scheduledFor]);
      });
    },

    async markOverdue(job, since) {
      const { rowCount } = since
        ? await pool.query('UPDATE schedule_jobs SET overdue_since = $2 WHERE name = $1 AND overdue_since IS NULL', [job, since])
        : await pool.query('UPDATE schedule_jobs SET overdue_since = NULL WHERE name = $1 AND overdue_since IS NOT NULL', [job]);
      return rowCount === 1;
    },

    async lastOk(job) {
      const { rows } = await pool.query<{ started_at: Date }>("SELECT started_at FROM schedule_runs WHERE job = $1 AND outcome = 'ok' ORDER BY id DESC LIMIT 1", [job]);
      return rows[0]?.started_at;
    },

    async runs(job, limit) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE job = $1 ORDER BY id DESC LIMIT $2`, [job, limit]);
      return rows.map(toRun);
    },

    async pruneRuns(before) {
      const { rowCount } = await pool.query(`DELETE FROM schedule_runs WHERE started_at < $1 AND outcome <> 'running'`, [before]);
      // The report jobs' ledger is kept as long as the runs it answers for: no retry comes that late.
      await pool.query('DELETE FROM schedule_report_posts WHERE due_at < $1', [before]);
      return rowCount ?? 0;
    },
  };
}

/**
 * A run whose replica stopped renewing is over: marked abandoned, so nothing stays "running" with
 * nobody running it. It ended, as far as anyone can tell, when its lease ran out: that time is the
 * same whichever replica notices, and keys its retry.
 */
async function abandonExpired(client: pg.Pool | pg.PoolClient, job?: string): Promise<void> {
  await client.query(
    `UPDATE schedule_runs SET outcome = 'abandoned', ended_at = lease_expires_at, detail = $2, lease_expires_at = NULL
     WHERE outcome = 'running' AND lease_expires_at <= clock_timestamp() ${job ? 'AND job = $1' : 'AND $1::text IS NULL'}`,
    [job ?? null, ABANDONED],
  );
}
