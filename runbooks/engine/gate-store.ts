/**
 * The approval requests gate steps wait on, and their passes (migrations/*_runbook-gates*.sql).
 * The request itself lives with the bot's approvals; this keeps which one a gate waits on. Its id
 * is kept here BEFORE the request is created (reserve), so the id outlives a runner that dies
 * between the two writes, and whoever asks next asks with the same id (see gate-approvals.ts).
 */
import type pg from 'pg';

export interface GateRecord {
  runId: string;
  stepId: string;
  requestId: string;
  /** The request this row follows after it ended without a pass ('' for the gate's first). */
  replaces: string;
  openedAt: Date;
  passedAt: Date | null;
}

export interface GateStore {
  /** The request the gate waits on now (the latest it reserved), if any. */
  latest(runId: string, stepId: string): Promise<GateRecord | undefined>;
  /**
   * Keeps `requestId` as the gate's request after `replaces` ('' for its first), unless another
   * runner kept one for that round first; returns the row that won either way, whose id to ask with.
   */
  reserve(runId: string, stepId: string, replaces: string, requestId: string): Promise<GateRecord>;
  /** The latest row of each gate of the run that has not passed: the requests an abort closes. */
  unpassed(runId: string): Promise<GateRecord[]>;
  /** Records the pass of the gate's latest request; undefined when that is not `requestId` or it passed already. */
  pass(runId: string, stepId: string, requestId?: string): Promise<GateRecord | undefined>;
}

interface GateRow {
  run_id: string;
  step_id: string;
  request_id: string;
  replaces: string;
  opened_at: Date;
  passed_at: Date | null;
}

const record = (row: GateRow): GateRecord => ({
  runId: row.run_id,
  stepId: row.step_id,
  requestId: row.request_id,
  replaces: row.replaces,
  openedAt: row.opened_at,
  passedAt: row.passed_at,
});

export function createGateStore(pool: pg.Pool): GateStore {
  return {
    async latest(runId, stepId) {
      const result = await pool.query<GateRow>('SELECT * FROM runbook_gates WHERE run_id = $1 AND step_id = $2 ORDER BY opened_at DESC LIMIT 1', [runId, stepId]);
      return result.rows[0] ? record(result.rows[0]) : undefined;
    },
    async reserve(runId, stepId, replaces, requestId) {
      // One statement each: the insert that lost to another runner's leaves its row to be read.
      await pool.query('INSERT INTO runbook_gates (run_id, step_id, request_id, replaces) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, step_id, replaces) DO NOTHING', [
        runId,
        stepId,
        requestId,
        replaces,
      ]);
      const result = await pool.query<GateRow>('SELECT * FROM runbook_gates WHERE run_id = $1 AND step_id = $2 AND replaces = $3', [runId, stepId, replaces]);
      return record(result.rows[0]!);
    },
    async unpassed(runId) {
      const result = await pool.query<GateRow>(
        `SELECT DISTINCT ON (step_id) * FROM runbook_gates WHERE run_id = $1 ORDER BY step_id, opened_at DESC`,
        [runId],
      );
      return result.rows.filter((row) => !row.passed_at).map(record);
    },
    async pass(runId, stepId, requestId) {
      const result = await pool.query<GateRow>(
        `UPDATE runbook_gates SET passed_at = clock_timestamp()
          WHERE (run_id, step_id, request_id) = (SELECT run_id, step_id, request_id FROM runbook_gates WHERE run_id = $1 AND step_id = $2 ORDER BY opened_at DESC LIMIT 1)
            AND passed_at IS NULL AND ($3::text IS NULL OR request_id = $3)
          RETURNING *`,
        [runId, stepId, requestId ?? null],
      );
      return result.rows[0] ? record(result.rows[0]) : undefined;
    },
  };
}
